// gradtrace demo: the course's first exercise in one command. On a few Fashion-MNIST test images and
// the embedded fashion_cnn: the prediction, a saliency map, Grad-CAM, Integrated Gradients and a
// counterfactual, as PNGs and one page (DIR/index.html), plus DIR/summary.png, a grid of them all.
// With ImageNet weights (and a photo) it does the same on the photo.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "cli/cli.h"
#include "data/dataset.h"
#include "image/preprocess.h"
#include "render/viz.h"
#include "weights/labels.h"
#include "xai/counterfactual.h"

namespace gt::cli {
namespace {
namespace fs = std::filesystem;

const char* kHelp =
    "usage: gradtrace demo [--out DIR] [options]\n"
    "\n"
    "Explains a few Fashion-MNIST test images with the embedded fashion_cnn (trained by gradtrace\n"
    "itself): the top-3 classes, the saliency map, Grad-CAM, Integrated Gradients, and a counterfactual\n"
    "that turns the item into a related class (a sneaker into an ankle boot, a shirt into a T-shirt).\n"
    "Writes DIR/index.html (open it in a browser; it works offline), its PNGs, and DIR/summary.png:\n"
    "one row per image with input | saliency | Grad-CAM | IG | counterfactual | change.\n"
    "\n"
    "With ImageNet weights it also explains a photo the same way (the counterfactual aims at the\n"
    "second most likely class).\n"
    "\n"
    "options:\n"
    "  --out DIR        output folder (default: out)\n"
    "  --images LIST    Fashion-MNIST test indices, comma-separated (default: one sneaker, shirt,\n"
    "                   ankle boot, pullover and trouser)\n"
    "  --weights FILE   ImageNet weights for the photo part (default: $GRADTRACE_WEIGHTS, else the\n"
    "                   first Keras .h5 with a classifier in ~/.keras/models)\n"
    "  --photo FILE     the photo (default: $GRADTRACE_PHOTO); without one the photo part is skipped\n"
    "  --methods LIST   the explain methods, comma-separated (default saliency,gradcam,ig; any of\n"
    "                   gradtrace --help's)\n"
    "  --steps N        IG steps (default 50)\n"
    "  --cmap NAME      colormap (default hot)\n" GT_FLAG_CAPTION GT_FLAG_THREADS GT_FLAG_DEVICE;

// Where a counterfactual of each Fashion-MNIST class should go: its nearest neighbour in the course.
const int64_t kPartner[10] = {6 /*T-shirt->Shirt*/, 3 /*Trouser->Dress*/,
                              4 /*Pullover->Coat*/, 1 /*Dress->Trouser*/,
                              2 /*Coat->Pullover*/, 7 /*Sandal->Sneaker*/,
                              0 /*Shirt->T-shirt*/, 9 /*Sneaker->Ankle boot*/,
                              2 /*Bag->Pullover*/,  7 /*Ankle boot->Sneaker*/};

// The first test image of each listed class (Sneaker, Shirt, Ankle boot, Pullover, Trouser).
std::string default_images() {
  const data::Dataset d = data::load_fashion_mnist(data::fashion_mnist_dir(), "test");
  std::string list;
  for (int32_t k : {7, 6, 9, 2, 1})
    for (int64_t i = 0; i < d.size(); ++i)
      if (d.labels[size_t(i)] == k) {
        list += (list.empty() ? "" : ",") + std::to_string(i);
        break;
      }
  return list;
}

std::string find_imagenet_weights(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv("GRADTRACE_WEIGHTS"); e && *e) return e;
  const char* home = std::getenv("HOME");
  if (!home) return "";
  const fs::path dir = fs::path(home) / ".keras" / "models";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".h5" && name.find("notop") == std::string::npos) found.push_back(e.path().string());
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? "" : found.front();
}

struct Row {
  std::string title, caption;
  std::vector<std::pair<std::string, std::string>> panels;  // file, caption
  std::vector<Image> pictures;                              // for summary.png
  std::vector<std::string> names;                           // their captions there
};

// One image through the whole exercise; PNGs go to out/<stem>_*.png.
Row explain(xai::Subject& s, const std::string& stem, const std::string& title, int64_t cf_target,
            const std::string& out, const std::vector<std::string>& methods, int steps, const std::string& cmap) {
  const nn::ModelInfo& info = s.model->info;
  const int W = int(s.x.dim(3)), H = int(s.x.dim(2));
  Row row;
  row.title = title;
  char buf[256];
  for (const int64_t k : top_classes(s.probs, 3)) {
    std::snprintf(buf, sizeof buf, "%s%s %.3f", row.caption.empty() ? "predicted: " : ", ", class_name(info, k).c_str(),
                  s.probs[size_t(k)]);
    row.caption += buf;
  }
  std::printf("%s: %s\n", title.c_str(), row.caption.c_str());
  const Image picture = tensor_to_image(s.pixels);
  auto add = [&](const std::string& name, const Image& img, const std::string& caption) {
    const Image big = viz::enlarge(img);  // 28x28 -> 112x112 pixels in the PNGs
    viz::write_png(out + "/" + stem + "_" + name + ".png", big);
    row.panels.push_back({stem + "_" + name + ".png", caption});
    row.pictures.push_back(big);
    row.names.push_back(name);
  };
  add("input", picture, "input");
  const xai::Target t{s.top1, false};
  for (const std::string& m : methods) {
    const xai::Method& method = xai::find_method(m);
    xai::Options o = xai::default_options(method);
    if (m == "ig") xai::set_option(method, o, "steps", std::to_string(steps));
    const auto t0 = std::chrono::steady_clock::now();
    const xai::MethodResult r = xai::explain(method, s, t, o);  // fast here, no progress: the page gives the times
    const double ms = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Image heat = viz::colorize(viz::normalize(r.map, default_norm(method, false)), W, H, cmap);
    std::snprintf(buf, sizeof buf, "%s of %s (%.0f ms)", m.c_str(), class_name(info, s.top1).c_str(), ms);
    add(m, viz::overlay(picture, heat, 0.5), buf);
  }
  // Counterfactual: the smallest change (Adam on the input, kept a valid image) that makes the model say cf_target.
  xai::CounterfactualOptions o;
  o.target = cf_target;
  input_bounds(info, o.lo, o.hi);
  // Adam's steps are in model-input units: 0.01 suits inputs in [0,1] or [-1,1]; wider ranges (caffe's
  // 0..255 minus means) get proportionally larger steps.
  o.lr = 0.01 * std::max(1.0, double(o.hi.to_vector()[0] - o.lo.to_vector()[0]) / 2);
  const auto t0 = std::chrono::steady_clock::now();
  const xai::CounterfactualResult r = xai::counterfactual(s.fn, s.x, o);
  const double ms = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Tensor cf_pixels = deprocess(r.input, info.preprocessing);
  const std::vector<float> change = pixel_change(s.pixels, cf_pixels);
  const auto& last = r.history.back();
  std::snprintf(buf, sizeof buf, "counterfactual: p(%s) %.2f after %d steps (%.0f ms)%s",
                class_name(info, cf_target).c_str(), last.p_target, last.step, ms, r.reached ? "" : ", not reached");
  add("counterfactual", tensor_to_image(cf_pixels), buf);
  add("change", viz::colorize(viz::normalize(change, viz::Norm::minmax), W, H, cmap), "what changed (|difference|)");
  std::printf("  %s\n", buf);
  return row;
}

void html_rows(std::ostringstream& html, const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    html << "<div class=\"r\"><h3>" << html_escape(r.title) << "</h3><p class=\"k\">" << html_escape(r.caption)
         << "</p><table><tr>";
    for (const auto& [file, caption] : r.panels)
      html << "<td><img src=\"" << file << "\" width=\"160\"><br><span class=\"k\">" << html_escape(caption)
           << "</span></td>";
    html << "</tr></table></div>\n";
  }
}
}  // namespace

int run_demo(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--no-caption"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string out = a.get("--out", "out"), images_s = a.get("--images", ""), cmap = a.get("--cmap", "hot");
  const std::string weights = find_imagenet_weights(weights_flag(a));
  std::string photo = a.get("--photo", "");
  const std::string methods_s = a.get("--methods", "saliency,gradcam,ig");
  const int steps = int(a.get_int("--steps", 50, 2, 100000));
  const bool caption = !a.flag("--no-caption");
  apply_threads(a);
  apply_device(a);
  a.finish();
  check_colormap(cmap);
  if (photo.empty())
    if (const char* e = std::getenv("GRADTRACE_PHOTO"); e && *e) photo = e;
  std::vector<std::string> images;
  {
    std::stringstream ss(images_s.empty() ? default_images() : images_s);
    for (std::string k; std::getline(ss, k, ',');) {
      if (k.empty() || k.find_first_not_of("0123456789") != std::string::npos)
        throw UsageError("--images expects comma-separated test indices, got '" + images_s + "'");
      images.push_back(k);
    }
  }
  std::vector<std::string> methods;
  {
    std::stringstream ss(methods_s);
    for (std::string m; std::getline(ss, m, ',');) methods.push_back(xai::find_method(m).name);
  }
  fs::create_directories(out);
  std::vector<Row> rows;
  for (const auto& k : images) {
    xai::Subject s = load_subject("", "", "fashion-mnist:test:" + k, "");
    rows.push_back(explain(s, "fm" + k, "Fashion-MNIST test image " + k + " (true class: " + s.true_label + ")",
                           kPartner[s.top1 % 10], out, methods, steps, cmap));
  }
  std::vector<Image> grid;
  for (const Row& r : rows) grid.push_back(figure(r.pictures, r.title, r.names, caption));
  viz::write_png(out + "/summary.png", viz::stack(grid, 4));

  std::vector<Row> photo_rows;
  if (!weights.empty() && !photo.empty()) {
    xai::Subject s = load_subject(weights, "", photo, "");
    const std::vector<int64_t> top2 = top_classes(s.probs, 2);
    photo_rows.push_back(explain(s, "photo", fs::path(photo).filename().string() + " with " + s.model->info.arch,
                                 top2.back(), out, methods, steps, cmap));
  } else if (!weights.empty()) {
    std::printf("ImageNet weights %s found; give --photo FILE (or GRADTRACE_PHOTO) to explain a photo too\n",
                weights.c_str());
  } else {
    std::printf("no ImageNet weights (--weights, GRADTRACE_WEIGHTS or ~/.keras/models): the photo part is skipped\n");
  }

  std::ostringstream html;
  html
      << "<!doctype html><html><head><meta charset=\"utf-8\"><title>gradtrace demo</title><style>"
      << "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}td{vertical-align:top;padding:4px;"
         "max-width:170px}img{image-rendering:pixelated}.k{color:#555;font-size:90%}.r{margin:1.5em 0;border-top:1px "
         "solid #ccc}</style></head><body>\n<h1>gradtrace demo</h1>\n<p>The embedded <b>fashion_cnn</b> (trained by "
         "gradtrace on Fashion-MNIST) explained on its test images: where the gradient of the predicted class is "
         "large (saliency), which regions of the last conv block drive it (Grad-CAM at conv3_relu), how much each "
         "pixel contributes along a path from a black image (Integrated Gradients), and the smallest change that "
         "makes the model answer a neighbouring class (counterfactual).</p>\n<img src=\"summary.png\" width=\"720\">\n";
  html_rows(html, rows);
  if (!photo_rows.empty()) {
    html << "<h2>A photo, with ImageNet weights</h2>\n";
    html_rows(html, photo_rows);
  }
  html << "<p class=\"k\">Made by gradtrace. Each method has its own command with more options: gradtrace "
          "--help.</p></body></html>\n";
  write_text_file(out + "/index.html", html.str());
  std::printf("wrote %s/index.html and %s/summary.png\n", out.c_str(), out.c_str());
  return 0;
}

}  // namespace gt::cli
