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

// The help, with the methods from the registry and which of them take hundreds of passes.
std::string help() {
  std::string all, slow;
  for (const xai::Method& m : xai::methods()) {
    all += (all.empty() ? "" : ", ") + m.name;
    if (m.cost == xai::Cost::hundreds) slow += (slow.empty() ? "" : ", ") + m.name;
  }
  return "usage: gradtrace report --weights FILE --image FILE --out DIR [options]\n"
         "       gradtrace report --weights TABLE_MODEL.h5 --dataset csv:FILE --out DIR   (a table model:\n"
         "                   see gradtrace report --dataset csv: --help)\n"
         "\n"
         "Runs every attribution method with its default options on one image and writes DIR/index.html: an\n"
         "overview with every method's map side by side, its deletion and insertion AUC (see gradtrace\n"
         "metrics) and its time; the top-5 predictions; a section per method with its map, overlay,\n"
         "parameters and notes; and how alike the maps are (their rank correlations, see gradtrace\n"
         "compare). The page works offline: no scripts, nothing fetched.\n"
         "\n"
         "options:\n" GT_FLAG_WEIGHTS
         "  --image FILE     PNG/JPEG/BMP or fashion-mnist:test:K (required)\n"
         "  --out DIR        output folder (required; created if missing)\n"
         "  --target T       class index or name (default: the top-1 class)\n"
         "  --methods LIST   comma-separated subset (default: all: " +
         all + ").\n                   " + slow +
         " take hundreds of passes each (VGG16 on 2 cores: minutes);\n"
         "                   leave them out for a quick page\n"
         "  --steps N        points of the deletion/insertion curves minus one (default 20)\n"
         "  --cmap NAME      colormap (default hot; bwr for the signed maps)\n" GT_FLAG_CAPTION GT_FLAG_MODEL
             GT_FLAG_THREADS GT_FLAG_DEVICE GT_FLAG_PRECISION;
}

// One method's run: what the page shows of it.
struct MethodRun {
  std::string name, params;
  std::vector<std::string> notes;
  double seconds = 0;
  xai::Faithfulness f;
  std::vector<float> map;
};

std::string auc_line(const MethodRun& r) {
  char line[160];
  std::snprintf(line, sizeof line, "%.3f s; deletion AUC %.4f, insertion AUC %.4f", r.seconds, r.f.deletion.auc,
                r.f.insertion.auc);
  return line;
}

// Every method's overlay in one grid, with its AUCs and time: the page's first look.
std::string overview(const std::vector<MethodRun>& runs, int64_t index, const std::string& class_label) {
  std::ostringstream h;
  h << "<h2>Overview: class " << index << ", " << html_escape(class_label) << "</h2>\n<div class=\"grid\">\n";
  for (const MethodRun& r : runs)
    h << "<figure><img src=\"" << r.name << "_overlay.png\" width=\"200\" alt=\"" << html_escape(r.name)
      << "\"><figcaption><b>" << html_escape(r.name) << "</b><br>del " << xai::fmt("%.3f", r.f.deletion.auc) << ", ins "
      << xai::fmt("%.3f", r.f.insertion.auc) << "<br>" << xai::fmt("%.2f s", r.seconds) << "</figcaption></figure>\n";
  h << "</div>\n";
  return h.str();
}

// A method's own section: its map and overlay, parameters, AUCs, time and notes.
std::string section(const MethodRun& r, int shown) {
  std::ostringstream h;
  h << "<div class=\"m\"><h3>" << html_escape(r.name) << "</h3><p>"
    << html_escape(r.params.empty() ? "defaults" : r.params) << "<br>" << auc_line(r) << "</p>";
  for (const auto& note : r.notes) h << "<p class=\"k\">" << html_escape(note) << "</p>";
  h << "<img src=\"" << r.name << "_map.png\" width=\"" << shown << "\" alt=\"" << html_escape(r.name)
    << " map\"><img src=\"" << r.name << "_overlay.png\" width=\"" << shown << "\" alt=\"" << html_escape(r.name)
    << " overlay\"></div>\n";
  return h.str();
}

const char* kStyle =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
    ".m{margin:2em 0;padding-top:1em;border-top:2px solid #888}.m img{margin-right:8px;image-rendering:pixelated}"
    ".k{color:#555}.grid{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;width:200px;font-size:90%}"
    "figure img{image-rendering:pixelated}";

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

namespace {
std::vector<std::string> chosen_methods(const std::string& list) {
  std::vector<std::string> methods;
  for (const std::string& m : comma_list(list))
    methods.push_back(xai::find_method(m).name);  // an unknown name: a usage error
  if (methods.empty())
    for (const xai::Method& m : xai::methods()) methods.push_back(m.name);
  return methods;
}

// Runs one method, times it, scores its map, and writes its map and overlay PNGs.
MethodRun run_one(const std::string& name, xai::Subject& s, const xai::Target& t, int steps, const std::string& out,
                  const std::string& cmap, bool cmap_given, bool caption) {
  std::printf("%s...\n", name.c_str());
  std::fflush(stdout);
  const xai::Method& method = xai::find_method(name);
  const auto t0 = std::chrono::steady_clock::now();
  const xai::MethodResult r = xai::explain(method, s, t, xai::default_options(method), {}, method_progress(method));
  MethodRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.name = name, run.params = r.params, run.notes = r.notes, run.map = r.map;
  run.f = xai::faithfulness(s, r.map, t.index, steps);
  const int W = int(s.x.dim(3)), H = int(s.x.dim(2));
  const Image heat = viz::colorize(viz::normalize(r.map, default_norm(method, false)), W, H,
                                   method.signed_map && !cmap_given ? "bwr" : cmap);
  viz::write_png(out + "/" + name + "_map.png", heat);
  Image over = viz::overlay(tensor_to_image(s.pixels), heat, 0.5);
  if (!r.segments.empty()) viz::outline(over, r.segments, {255, 255, 0});  // lime's superpixels
  const std::string title = name + " of " + class_caption(s.model->info, t.index, s.probs[size_t(t.index)]);
  viz::write_png(out + "/" + name + "_overlay.png", figure({over}, title, {}, caption));
  std::printf("  %s\n", auc_line(run).c_str());
  return run;
}
}  // namespace

int run_report(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)  // a table: its own report
    if ((std::string(argv[i]) == "--dataset" && i + 1 < argc && std::string(argv[i + 1]).rfind("csv:", 0) == 0) ||
        std::string(argv[i]).rfind("--dataset=csv:", 0) == 0)
      return run_table_report(argc, argv);
  Args a(argc, argv, 2, {"--help", "--no-caption"});
  if (a.flag("--help")) {
    std::fputs(help().c_str(), stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), image = a.get("--image", ""), model_name = a.get("--model", "");
  const bool cmap_given = a.given("--cmap"), caption = !a.flag("--no-caption");
  const std::string out = a.get("--out", ""), target_s = a.get("--target", ""), cmap = a.get("--cmap", "hot");
  const std::vector<std::string> methods = chosen_methods(a.get("--methods", ""));
  const int steps = int(a.get_int("--steps", 20, 1, 10000));
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty()) throw UsageError("--image is required");
  if (out.empty()) throw UsageError("--out DIR is required");
  check_colormap(cmap);
  if (is_tensor_input(image)) throw UsageError("the report shows the picture: give an image file, not an .h5 tensor");

  xai::Subject s = load_subject(weights, model_name, image, "");
  const nn::ModelInfo& info = s.model->info;
  const xai::Target t = resolve_target(target_s, info, s.top1, false);
  const int W = int(s.x.dim(3));
  const int shown = W < 224 ? W * (224 / W) : W;  // small inputs (28x28) are shown enlarged, pixelated
  fs::create_directories(out);
  viz::write_png(out + "/image.png", tensor_to_image(s.pixels));
  std::vector<MethodRun> runs;
  for (const auto& m : methods) runs.push_back(run_one(m, s, t, steps, out, cmap, cmap_given, caption));

  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gradtrace report</title><style>" << kStyle
       << "</style></head><body>\n<h1>Why " << html_escape(info.arch) << " says &ldquo;"
       << html_escape(class_name(info, t.index)) << "&rdquo;</h1>\n"
       << "<p class=\"k\">weights " << html_escape(weights.empty() ? "fashion_cnn (embedded)" : weights) << " ("
       << html_escape(info.variant) << "), image " << html_escape(image) << ", " << W << "x" << s.x.dim(2) << " input, "
       << html_escape(info.preprocessing) << " preprocessing, " << to_string(s.x.dtype())
       << "</p>\n<img src=\"image.png\" width=\"" << shown << "\" alt=\"the image\">\n";
  html << overview(runs, t.index, class_name(info, t.index));
  html << "<p class=\"k\">Deletion AUC: p(target) as the most important pixels turn black (lower is better). "
          "Insertion AUC: p(target) as they come back into a blurred image (higher is better). "
       << steps << " steps each.</p>\n<h2>Top-5</h2>\n<table><tr><th>#</th><th>class</th><th>p</th></tr>\n";
  const std::vector<int64_t> order = top_classes(s.probs, 5);
  for (size_t i = 0; i < order.size(); ++i)
    html << "<tr><td>" << i + 1 << "</td><td>" << html_escape(class_name(info, order[i])) << " (" << order[i]
         << ")</td><td>" << xai::fmt("%.4f", s.probs[size_t(order[i])]) << "</td></tr>\n";
  html << "</table>\n<h2>The methods</h2>\n";
  std::vector<std::vector<float>> maps;
  for (const MethodRun& r : runs) html << section(r, shown), maps.push_back(r.map);
  if (maps.size() > 1) html << agreement_table(methods, maps);
  html << "<p class=\"k\">Made by gradtrace.</p></body></html>\n";
  const std::string index = out + "/index.html";
  write_text_file(index, html.str());
  std::printf("wrote %s\n", index.c_str());
  return 0;
}

}  // namespace gt::cli
