// gradtrace report: every attribution method on one image, with its faithfulness and its time, as a
// static HTML page (no scripts, nothing fetched from the network) next to its PNGs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "cli/cli.h"
#include "image/preprocess.h"
#include "render/viz.h"
#include "weights/labels.h"
#include "xai/compare.h"

namespace gt::cli {
namespace {
namespace fs = std::filesystem;

const char* kHelp =
    "usage: gradtrace report --weights FILE --image FILE --out DIR [options]\n"
    "\n"
    "Runs every attribution method with its default options on one image and writes DIR/index.html: the\n"
    "image, the top-5 predictions, and for each method its map and overlay, its parameters, its deletion\n"
    "and insertion AUC (see gradtrace metrics) and the time it took, then how alike the maps are (their\n"
    "rank correlations, see gradtrace compare). The page works offline.\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS
    "  --image FILE     PNG/JPEG/BMP or fashion-mnist:test:K (required)\n"
    "  --out DIR        output folder (required; created if missing)\n"
    "  --target T       class index or name (default: the top-1 class)\n"
    "  --methods LIST   comma-separated subset (default: all: saliency, gradxinput, smoothgrad, ig,\n"
    "                   gradcam, gradcam++, guided-backprop, guided-gradcam, occlusion, lime,\n"
    "                   kernelshap). occlusion, lime and kernelshap take hundreds of forward passes\n"
    "                   each (VGG16 on 2 cores: minutes); leave them out for a quick page\n"
    "  --steps N        points of the deletion/insertion curves minus one (default 20)\n"
    "  --cmap NAME      colormap (default hot; bwr for the signed maps of lime and kernelshap)\n" GT_FLAG_MODEL
        GT_FLAG_THREADS GT_FLAG_DEVICE GT_FLAG_PRECISION;

const char* kStyle =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
    ".m{margin:2em 0;padding-top:1em;border-top:2px solid #888}.m img{margin-right:8px;image-rendering:pixelated}"
    ".k{color:#555}";

// Spearman's rank correlation of every pair of maps, the cell shaded by it: which methods agree on
// the order of the pixels.
std::string agreement_table(const std::vector<std::string>& methods, const std::vector<std::vector<float>>& maps) {
  std::ostringstream h;
  h << "<h2>How alike are the maps?</h2>\n<p class=\"k\">Spearman's rank correlation of each pair: 1 when two "
       "methods order the pixels alike, near 0 when their orders are unrelated (a dash: a constant map).</p>\n"
       "<table><tr><th></th>";
  for (const auto& m : methods) h << "<th>" << html_escape(m) << "</th>";
  h << "</tr>\n";
  const size_t n = maps.size();
  const std::vector<xai::MapAgreement> r = xai::compare_all(maps);
  for (size_t i = 0; i < n; ++i) {
    h << "<tr><th>" << html_escape(methods[i]) << "</th>";
    for (size_t j = 0; j < n; ++j) {
      const double rho = r[i * n + j].spearman;
      char cell[96];
      if (std::isnan(rho))
        std::snprintf(cell, sizeof cell, "<td>-</td>");
      else
        std::snprintf(cell, sizeof cell, "<td style=\"background:rgba(200,60,30,%.2f)\">%.2f</td>",
                      0.6 * std::max(0.0, rho), rho);
      h << cell;
    }
    h << "</tr>\n";
  }
  h << "</table>\n";
  return h.str();
}

}  // namespace

int run_report(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = a.get("--weights", ""), image = a.get("--image", ""), model_name = a.get("--model", "");
  const bool cmap_given = a.given("--cmap");
  const std::string out = a.get("--out", ""), target_s = a.get("--target", ""), cmap = a.get("--cmap", "hot");
  const std::string methods_s = a.get("--methods", "");
  const int steps = int(a.get_int("--steps", 20, 1, 10000));
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty()) throw UsageError("--image is required");
  if (out.empty()) throw UsageError("--out DIR is required");
  check_colormap(cmap);
  std::vector<std::string> all;
  for (const xai::Method& m : xai::methods()) all.push_back(m.name);
  std::vector<std::string> methods;
  std::stringstream list(methods_s);
  for (std::string m; std::getline(list, m, ',');)
    if (!m.empty()) methods.push_back(m);
  if (methods.empty()) methods = all;
  for (const auto& m : methods)
    if (std::find(all.begin(), all.end(), m) == all.end()) throw UsageError("--methods: unknown method '" + m + "'");
  if (is_tensor_input(image)) throw UsageError("the report shows the picture: give an image file, not an .h5 tensor");

  xai::Subject s = load_subject(weights, model_name, image, "");
  const nn::ModelInfo& info = s.model->info;
  const xai::Target t = resolve_target(target_s, info, s.top1, false);
  const int W = int(s.x.dim(3)), H = int(s.x.dim(2));
  const int shown = W < 224 ? W * (224 / W) : W;  // small inputs (28x28) are shown enlarged, pixelated
  fs::create_directories(out);
  const Image picture = tensor_to_image(s.pixels);
  viz::write_png(out + "/image.png", picture);

  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gradtrace report</title><style>" << kStyle
       << "</style></head><body>\n<h1>Why " << html_escape(info.arch) << " says &ldquo;"
       << html_escape(class_name(info, t.index)) << "&rdquo;</h1>\n"
       << "<p class=\"k\">weights " << html_escape(weights) << " (" << html_escape(info.variant) << "), image "
       << html_escape(image) << ", " << W << "x" << H << " input, " << html_escape(info.preprocessing)
       << " preprocessing</p>\n<img src=\"image.png\" width=\"" << shown
       << "\">\n<h2>Top-5</h2>\n<table><tr><th>#</th><th>class</th><th>p</th></tr>\n";
  const std::vector<int64_t> order = top_classes(s.probs, 5);
  for (size_t i = 0; i < order.size(); ++i) {
    char p[32];
    std::snprintf(p, sizeof p, "%.4f", s.probs[size_t(order[i])]);
    html << "<tr><td>" << i + 1 << "</td><td>" << html_escape(class_name(info, order[i])) << " (" << order[i]
         << ")</td><td>" << p << "</td></tr>\n";
  }
  html << "</table>\n<h2>Explanations of class " << t.index << ", " << html_escape(class_name(info, t.index))
       << "</h2>\n<p class=\"k\">Deletion AUC: p(target) as the most important pixels turn black (lower is "
          "better). Insertion AUC: p(target) as they come back into a blurred image (higher is better). "
       << steps << " steps each.</p>\n";
  std::vector<std::vector<float>> maps;
  for (const auto& m : methods) {
    std::printf("%s...\n", m.c_str());
    std::fflush(stdout);
    const xai::Method& method = xai::find_method(m);
    const auto t0 = std::chrono::steady_clock::now();
    const xai::MethodResult r = xai::explain(method, s, t, xai::default_options(method), {}, method_progress(method));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const xai::Faithfulness f = xai::faithfulness(s, r.map, t.index, steps);
    maps.push_back(r.map);
    const std::string mcmap = method.signed_map && !cmap_given ? "bwr" : cmap;
    const Image heat = viz::colorize(viz::normalize(r.map, default_norm(method, false)), W, H, mcmap);
    viz::write_png(out + "/" + m + "_map.png", heat);
    Image over = viz::overlay(picture, heat, 0.5);
    if (!r.segments.empty()) viz::outline(over, r.segments, {255, 255, 0});  // lime's superpixels
    viz::write_png(out + "/" + m + "_overlay.png", over);
    char line[160];
    std::snprintf(line, sizeof line, "%.3f s; deletion AUC %.4f, insertion AUC %.4f", secs, f.deletion.auc,
                  f.insertion.auc);
    std::printf("  %s\n", line);
    html << "<div class=\"m\"><h3>" << html_escape(m) << "</h3><p>"
         << html_escape(r.params.empty() ? "defaults" : r.params) << "<br>" << line << "</p>";
    for (const auto& note : r.notes) html << "<p class=\"k\">" << html_escape(note) << "</p>";
    html << "<img src=\"" << m << "_map.png\" width=\"" << shown << "\"><img src=\"" << m << "_overlay.png\" width=\""
         << shown << "\"></div>\n";
  }
  if (maps.size() > 1) html << agreement_table(methods, maps);
  html << "<p class=\"k\">Made by gradtrace.</p></body></html>\n";
  const std::string index = out + "/index.html";
  write_text_file(index, html.str());
  std::printf("wrote %s\n", index.c_str());
  return 0;
}

}  // namespace gt::cli
