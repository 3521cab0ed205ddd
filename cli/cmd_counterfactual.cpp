// gradtrace counterfactual: change an image until the model answers another class.
#include <algorithm>
#include <cstdio>

#include "cli/cli.h"
#include "image/preprocess.h"
#include "io/hdf5.h"
#include "render/viz.h"
#include "weights/labels.h"
#include "xai/counterfactual.h"

namespace gt::cli {
namespace {

const char* kHelp =
    "usage: gradtrace counterfactual --weights FILE --image FILE --target CLASS [options]\n"
    "\n"
    "Optimises the image itself toward --target: minimises -log p(target) + lambda * d(image, original)\n"
    "with Adam or SGD, keeping every pixel in its valid range, and stops once p(target) >= --confidence.\n"
    "Prints the top-1 class and p(target) at every step, then whether the target was reached.\n"
    "\n"
    "Writes --out: original | counterfactual | |difference| (summed over channels), and the saliency\n"
    "maps of the target class on the original and on the counterfactual side by side (--saliency).\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS
    "  --image FILE     PNG/JPEG/BMP or fashion-mnist:test:K (required)\n"
    "  --target T       class index or name, e.g. \"golden retriever\" (required)\n" GT_FLAG_MODEL
    "  --optimizer O    adam (default) or sgd\n"
    "  --lr LR          learning rate, in model-input units (default 0.01)\n"
    "  --steps N        at most this many steps (default 200)\n"
    "  --proximity P    l2 (mean squared difference, default) or l1 (mean absolute difference)\n"
    "  --lambda L       weight of the proximity term (default 0)\n"
    "  --confidence C   stop once p(target) >= C (default 0.9)\n"
    "  --out FILE.png   default counterfactual.png\n"
    "  --saliency FILE  the saliency comparison (default: --out with _saliency before .png)\n"
    "  --raw FILE.h5    input [1,C,H,W] (the counterfactual in model-input space) and history\n"
    "                   [steps+1, 3]: p(target), p(original class), top-1 index at each step\n"
    "  --cmap NAME      colormap of the maps (default hot)\n" GT_FLAG_RESIZE GT_FLAG_CAPTION GT_FLAG_THREADS
        GT_FLAG_DEVICE GT_FLAG_PRECISION;

Image saliency_panel(const xai::Model& fn, const Tensor& x, int64_t target, const std::string& cmap) {
  const std::vector<float> map = xai::channel_map(xai::input_gradient(fn, x, xai::Target{target, false}));
  return viz::colorize(viz::normalize(map, viz::Norm::percentile), int(x.dim(3)), int(x.dim(2)), cmap);
}

}  // namespace

int run_counterfactual(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--no-caption"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), image = a.get("--image", ""), model_name = a.get("--model", "");
  const std::string target_s = a.get("--target", ""), out = a.get("--out", "counterfactual.png");
  const std::string raw = a.get("--raw", ""), resize = a.get("--resize", ""), cmap = a.get("--cmap", "hot");
  std::string saliency_out = a.get("--saliency", "");
  xai::CounterfactualOptions o;
  o.optimizer = a.get("--optimizer", "adam");
  o.lr = a.get_double("--lr", 0.01, 0.0, 1e6);
  o.steps = int(a.get_int("--steps", 200, 1, 1000000));
  o.proximity = a.get("--proximity", "l2");
  o.lambda = a.get_double("--lambda", 0.0, 0.0, 1e9);
  o.confidence = a.get_double("--confidence", 0.9, 0.0, 1.0);
  const bool caption = !a.flag("--no-caption");
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty()) throw UsageError("--image is required");
  if (target_s.empty()) throw UsageError("--target is required (a class index or name)");
  if (o.optimizer != "adam" && o.optimizer != "sgd") throw UsageError("--optimizer must be adam or sgd");
  if (o.proximity != "l1" && o.proximity != "l2") throw UsageError("--proximity must be l1 or l2");
  check_resize(resize);
  check_colormap(cmap);
  if (saliency_out.empty()) {
    const size_t dot = out.rfind(".png");
    saliency_out = (dot == std::string::npos ? out : out.substr(0, dot)) + "_saliency.png";
  }

  if (is_tensor_input(image))
    throw UsageError("the counterfactual is a picture: give an image file, not an .h5 tensor");
  const xai::Subject s = load_subject(weights, model_name, image, resize);
  const nn::ModelInfo& info = s.model->info;
  const Tensor& pixels = s.pixels;
  const Tensor& x = s.x;
  const xai::Model& fn = s.fn;
  o.target = resolve_target(target_s, info, 0, false).index;
  input_bounds(info, o.lo, o.hi);
  o.lo = o.lo.to(x.dtype()), o.hi = o.hi.to(x.dtype());
  const std::string target_name = class_name(info, o.target);
  std::printf("%s (%s weights): turning %s into '%s' (class %lld) with %s, lr %g, at most %d steps\n",
              info.arch.c_str(), info.variant.c_str(), image.c_str(), target_name.c_str(), (long long)o.target,
              o.optimizer.c_str(), o.lr, o.steps);
  std::string original_name;
  const xai::CounterfactualResult r = xai::counterfactual(fn, x, o, [&](const xai::CounterfactualStep& s) {
    if (s.step == 0) original_name = class_name(info, s.top1);
    std::printf("step %4d: top-1 %-24s %.4f   p(%s) %.4f   p(%s) %.4f\n", s.step, class_name(info, s.top1).c_str(),
                s.p_top1, target_name.c_str(), s.p_target, original_name.c_str(), s.p_original);
    std::fflush(stdout);
  });
  const xai::CounterfactualStep& last = r.history.back();
  if (r.reached)
    std::printf("reached '%s' with p = %.4f after %d steps\n", target_name.c_str(), last.p_target, last.step);
  else
    std::printf("did not reach '%s' (p = %.4f < %.2f) after %d steps; the image is now classified as '%s' (p = %.4f)\n",
                target_name.c_str(), last.p_target, o.confidence, last.step, class_name(info, last.top1).c_str(),
                last.p_top1);

  // Pictures: original | counterfactual | difference, and the two saliency maps.
  const Tensor cf_pixels = deprocess(r.input, info.preprocessing);
  const std::vector<float> diff = pixel_change(pixels, cf_pixels);
  const Image picture = tensor_to_image(pixels), cf_picture = tensor_to_image(cf_pixels);
  const Image diff_img = viz::colorize(viz::normalize(diff, viz::Norm::minmax), picture.width, picture.height, cmap);
  const Image sal =
      figure({saliency_panel(fn, x, o.target, cmap), saliency_panel(fn, r.input, o.target, cmap)},
             "saliency of " + target_name + ", " + info.arch, {"on the original", "on the counterfactual"}, caption);
  if (!raw.empty()) {
    h5::File f(raw, h5::File::Mode::write);
    f.store_as(precision());
    f.write("input", r.input);
    std::vector<float> hist;
    for (const auto& s : r.history) hist.insert(hist.end(), {float(s.p_target), float(s.p_original), float(s.top1)});
    f.write("history", Tensor::from_vector({int64_t(r.history.size()), 3}, hist));
    f.set_attr("target", double(o.target));
    f.set_attr("reached", r.reached ? 1.0 : 0.0);
    f.commit();
    std::printf("wrote %s\n", raw.c_str());
  }
  const std::string title =
      "counterfactual: " + original_name + " to " + class_caption(info, o.target, last.p_target) + ", " + info.arch;
  viz::write_png(out,
                 figure({picture, cf_picture, diff_img}, title, {"original", "counterfactual", "difference"}, caption));
  viz::write_png(saliency_out, sal);
  std::printf(
      "wrote %s (original | counterfactual | difference)\nwrote %s (saliency of '%s': original | counterfactual)\n",
      out.c_str(), saliency_out.c_str(), target_name.c_str());
  return 0;
}

}  // namespace gt::cli
