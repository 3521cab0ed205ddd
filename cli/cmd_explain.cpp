// gradtrace saliency | gradxinput | smoothgrad | ig | gradcam | gradcam++ | guided-backprop |
// guided-gradcam | occlusion | lime | kernelshap: one attribution method on one image, written as a PNG (and raw HDF5).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/cli.h"
#include "cli/explain.h"
#include "io/hdf5.h"
#include "weights/labels.h"
#include "render/viz.h"

namespace gt::cli {
namespace {

struct Method {
  const char* name;
  const char* what;
  const char* options;
};

const Method kMethods[] = {
    {"saliency", "the gradient of the target logit with respect to the input (Simonyan et al. 2014)", ""},
    {"gradxinput", "the input times that gradient (Shrikumar et al. 2016)", ""},
    {"smoothgrad", "the gradient averaged over noisy copies of the input (Smilkov et al. 2017)",
     "  --samples N      noisy copies (default 25)\n"
     "  --noise SIGMA    noise standard deviation as a fraction of the input's range (default 0.15)\n"
     "  --squared        average the squared gradients (SmoothGrad-Squared)\n"
     "  --seed S         noise seed (default 0)\n"
     "  --batch B        copies per forward pass (default 5)\n"},
    {"ig", "Integrated Gradients from a baseline to the input (Sundararajan et al. 2017)",
     "  --baseline B     black, white, gray (pixel values 0, 255, 128 before preprocessing), noise\n"
     "                   (uniform pixels), blur (the image blurred, sigma 10 px), or an image / .h5 file\n"
     "                   (default black)\n"
     "  --steps N        points on the path, as Captum's n_steps (default 50). The course's TF recipe\n"
     "                   with m_steps intervals is --method riemann_trapezoid --steps m_steps+1\n"
     "  --method M       riemann_left, riemann_right, riemann_middle, riemann_trapezoid or\n"
     "                   gausslegendre (default)\n"
     "  --batch B        points per forward pass (default 10)\n"
     "  --seed S         seed of the noise baseline (default 0)\n"
     "  Prints the completeness error sum(attribution) - (f(x) - f(baseline)) and warns above 5%.\n"
     "  --target all explains the sum of all class logits.\n"},
    {"gradcam", "Grad-CAM at a layer: ReLU(sum_k mean(dy/dA_k) A_k), upsampled (Selvaraju et al. 2017)",
     "  --layer NAME     the layer (default: the model's last conv block; see gradtrace layers)\n"},
    {"gradcam++", "Grad-CAM++ at a layer (Chattopadhay et al. 2018)",
     "  --layer NAME     the layer (default: the model's last conv block; see gradtrace layers)\n"},
    {"guided-backprop", "the gradient with negative gradients stopped at every ReLU (Springenberg et al. 2015)", ""},
    {"guided-gradcam", "Guided Backprop times the upsampled Grad-CAM map",
     "  --layer NAME     the Grad-CAM layer (default: the model's last conv block)\n"},
    {"occlusion", "the score's drop when a sliding window covers the image (Zeiler & Fergus 2014)",
     "  --window W       window side in pixels (default 16)\n"
     "  --stride S       step in pixels (default 8)\n"
     "  --fill V         pixel value the window shows, before preprocessing (default 128: gray)\n"
     "  --batch B        occluded copies per forward pass (default 16)\n"},
    {"lime", "a linear model of the score on copies of the image with superpixels hidden (Ribeiro et al. 2016)",
     "  --segments N     superpixels wanted (SLIC; 1 to 1000, default 50)\n"
     "  --compactness M  SLIC's weight of distance against colour: larger, squarer superpixels (default 10)\n"
     "  --samples N      images with random superpixels hidden, the first with none (default 1000)\n"
     "  --fill F         what a hidden superpixel shows: mean (its own mean colour, as lime_image does),\n"
     "                   blur (the image blurred, sigma 10 px) or a pixel value 0..255 (default mean)\n"
     "  --kernel-width W weight exp(-d^2 / 2 W^2) of a sample at cosine distance d from the image (default 0.25)\n"
     "  --ridge L        ridge penalty on the coefficients (default 1, as lime_image)\n"
     "  --batch B        images per forward pass (default 16)\n"
     "  --seed S         seed of the random samples (default 0)\n"
     "  The map is each superpixel's coefficient, signed: red for the class, blue against it (bwr;\n"
     "  --signed and --reduce do not apply). The image panel outlines the superpixels. Prints the\n"
     "  surrogate's R^2: how well a linear model in the superpixels fits the score.\n"},
    {"kernelshap", "Shapley values of superpixels, by KernelSHAP's weighted regression (Lundberg & Lee 2017)",
     "  --segments N     superpixels wanted (SLIC; 1 to 1000, default 50)\n"
     "  --compactness M  SLIC's weight of distance against colour: larger, squarer superpixels (default 10)\n"
     "  --samples N      coalitions (images with some superpixels hidden), besides the image and the\n"
     "                   all-hidden one (default 1000). When 2^S - 2 <= N for S superpixels, every\n"
     "                   coalition is taken, and the values are the exact Shapley values\n"
     "  --fill F         what a hidden superpixel shows: mean (its own mean colour), blur (the image\n"
     "                   blurred, sigma 10 px) or a pixel value 0..255 (default mean)\n"
     "  --batch B        images per forward pass (default 16)\n"
     "  --seed S         seed of the sampled coalitions (default 0)\n"
     "  The map is each superpixel's value, signed: red for the class, blue against it (bwr; --signed\n"
     "  and --reduce do not apply). The values add up to f(x) - f(all hidden). The image panel\n"
     "  outlines the superpixels.\n"},
};

const char* kCommon =
    "  --weights FILE   the model: .tflite, Keras .h5, or gradtrace's .h5\n"
    "                   (default: the embedded fashion_cnn)\n"
    "                   or random:ARCH[:SEED], the architecture with fresh weights (a sanity check)\n"
    "  --image FILE     PNG/JPEG/BMP, fashion-mnist:test:K, or .h5 with dataset `input` [1,C,H,W] (as is)\n"
    "  --model NAME     the architecture; may be left out, the weights file identifies it\n"
    "  --target T       class index or name (\"golden retriever\"); default: the top-1 class\n"
    "  --out FILE.png   output picture: image | map | overlay (default <method>.png)\n"
    "  --raw FILE.h5    the raw result (see ../shared/DESIGN.md): attribution [1,C,H,W] and map [H,W],\n"
    "                   or cam [h,w] and map [H,W] for Grad-CAM\n"
    "  --cmap NAME      hot, viridis, plasma, inferno, magma, gray, jet, turbo, bwr (default hot; bwr\n"
    "                   with --signed)\n"
    "  --norm N         minmax, percentile (the top --clip percent clipped) or symmetric (default\n"
    "                   percentile; minmax for gradcam and gradcam++; symmetric with --signed)\n"
    "  --clip P         percent clipped by percentile/symmetric normalisation (default 1)\n"
    "  --alpha A        weight of the map in the overlay (default 0.5)\n"
    "  --reduce R       channel reduction of the map: max (of |a|, the default), mean or l2\n"
    "  --signed         keep the sign in the map (max: the channel of largest |a|; mean: the mean)\n"
    "  --resize MODE    squash or crop (default: as the weights' origin)\n"
    "  --threads N      threads (default: all cores)\n"
    "  --device D       cpu or cuda (default: cpu)\n";

const Method& find_method(const std::string& name) {
  for (const Method& m : kMethods)
    if (name == m.name) return m;
  throw UsageError("unknown method " + name);
}

template <class E>
E choose(const std::string& flag, const std::string& v, const std::vector<std::pair<std::string, E>>& options) {
  std::string known;
  for (const auto& [name, e] : options) {
    if (v == name) return e;
    known += (known.empty() ? "" : ", ") + name;
  }
  throw UsageError(flag + " must be one of " + known + ", got '" + v + "'");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

bool is_explain_command(const std::string& cmd) {
  return std::any_of(std::begin(kMethods), std::end(kMethods), [&](const Method& m) { return cmd == m.name; });
}

std::vector<std::string> method_names() {
  std::vector<std::string> v;
  for (const Method& m : kMethods) v.push_back(m.name);
  return v;
}

int run_explain(int argc, char** argv) {
  const Method& method = find_method(argv[1]);
  const std::string name = method.name;
  Args a(argc, argv, 2, {"--help", "--signed", "--squared"});
  const bool surrogate = is_surrogate_method(name);
  if (a.flag("--help")) {
    std::printf("usage: gradtrace %s --weights FILE --image FILE [options]\n\n%s.\n\n", method.name, method.what);
    if (*method.options) std::printf("%s options:\n%s\n", method.name, method.options);
    std::printf("common options:\n%s", kCommon);
    return 0;
  }
  const bool is_cam = is_cam_method(name);
  const std::string weights = a.get("--weights", ""), image = a.get("--image", ""), model_name = a.get("--model", "");
  const std::string target_s = a.get("--target", ""), out = a.get("--out", name + ".png"), raw = a.get("--raw", "");
  const std::string resize = a.get("--resize", "");
  MethodConfig c;
  c.method = name;
  // LIME's and KernelSHAP's maps are signed, one value per superpixel: --signed and --reduce are
  // not theirs to take.
  c.signed_map = surrogate || a.flag("--signed");
  const std::string cmap = a.get("--cmap", c.signed_map ? "bwr" : "hot");
  const std::vector<std::pair<std::string, viz::Norm>> norms = {
      {"minmax", viz::Norm::minmax}, {"percentile", viz::Norm::percentile}, {"symmetric", viz::Norm::symmetric}};
  std::string norm_default;
  for (const auto& [n, e] : norms)
    if (e == default_norm(name, c.signed_map)) norm_default = n;
  const viz::Norm norm = choose<viz::Norm>("--norm", a.get("--norm", norm_default), norms);
  const double clip = a.get_double("--clip", 1.0, 0.0, 50.0);
  const double alpha = a.get_double("--alpha", 0.5, 0.0, 1.0);
  if (!surrogate)
    c.reduce = choose<xai::ChannelReduce>(
        "--reduce", a.get("--reduce", "max"),
        {{"max", xai::ChannelReduce::max_abs}, {"mean", xai::ChannelReduce::mean_abs}, {"l2", xai::ChannelReduce::l2}});
  // Method options: read only for the methods that take them, so that a misplaced one is an error.
  if (is_cam) c.layer = a.get("--layer", "");
  if (name == "smoothgrad") {
    c.smoothgrad.samples = int(a.get_int("--samples", 25, 1, 100000));
    c.smoothgrad.sigma = a.get_double("--noise", 0.15, 0.0, 10.0);
    c.smoothgrad.squared = a.flag("--squared");
    c.smoothgrad.batch = int(a.get_int("--batch", 5, 1, 1024));
    c.smoothgrad.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
  }
  if (name == "ig") {
    c.baseline = a.get("--baseline", "black");
    c.ig.steps = int(a.get_int("--steps", 50, 1, 100000));
    c.ig.method = a.get("--method", "gausslegendre");
    c.ig.batch = int(a.get_int("--batch", 10, 1, 1024));
    c.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
    try {
      xai::quadrature(c.ig.method, c.ig.steps);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  if (name == "occlusion") {
    c.occlusion.window = int(a.get_int("--window", 16, 1, 1 << 16));
    c.occlusion.stride = int(a.get_int("--stride", 8, 1, 1 << 16));
    c.fill = a.get_double("--fill", 128, 0, 255);
    c.occlusion.batch = int(a.get_int("--batch", 16, 1, 1024));
  }
  if (surrogate) {
    c.segments = a.get_int("--segments", 50, 1, 1000);  // the fit solves an S x S system
    c.compactness = a.get_double("--compactness", 10, 1e-3, 1e4);
    c.surrogate.samples = int(a.get_int("--samples", 1000, name == "lime" ? 2 : 1, 100000));
    c.hide = a.get("--fill", "mean");
    check_hide(c.hide);
    c.surrogate.batch = int(a.get_int("--batch", 16, 1, 1024));
    c.surrogate.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
    if (name == "lime") {
      c.surrogate.kernel_width = a.get_double("--kernel-width", 0.25, 1e-6, 1e6);
      c.surrogate.ridge = a.get_double("--ridge", 1, 0, 1e12);
    }
  }
  apply_threads(a);
  apply_device(a);
  a.finish();
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  if (image.empty()) throw UsageError("--image is required");
  check_resize(resize);
  check_colormap(cmap);
  if (c.signed_map && c.reduce == xai::ChannelReduce::l2)
    throw UsageError("--signed does not go with --reduce l2 (it has no sign)");

  Subject s = load_subject(weights, model_name, image, resize);
  const nn::ModelInfo& info = s.model->info;
  const int64_t H = s.x.dim(2), W = s.x.dim(3);
  const xai::Target target = resolve_target(target_s, info, s.top1, !is_cam && name != "occlusion" && !surrogate);
  std::printf("%s (%s weights), %lldx%lld input; top-1: %s (%.4f)\n", info.arch.c_str(), info.variant.c_str(),
              (long long)H, (long long)W, class_name(info, s.top1).c_str(), s.probs[size_t(s.top1)]);
  if (target.all)
    std::printf("%s of the sum of all %lld class logits\n", name.c_str(), (long long)info.classes);
  else
    std::printf("%s of class %lld, %s (p = %.4f)\n", name.c_str(), (long long)target.index,
                class_name(info, target.index).c_str(), s.probs[size_t(target.index)]);
  if (name == "ig")
    std::printf("integrated gradients: %d points (%s) from the %s baseline, in batches of %d\n", c.ig.steps,
                c.ig.method.c_str(), c.baseline.c_str(), c.ig.batch);
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  const MethodResult r = run_method(c, s, target);
  for (const auto& line : r.notes) std::printf("%s\n", line.c_str());
  std::printf("%s took %.3f s\n", name.c_str(), seconds_since(t0));

  const Image heat = viz::colorize(viz::normalize(r.map, norm, clip), int(W), int(H), cmap);
  std::vector<Image> panels{heat};
  if (s.pixels.defined()) {
    const Image picture = tensor_to_image(s.pixels);
    Image outlined = picture;
    if (!r.segments.empty()) viz::outline(outlined, r.segments, {255, 255, 0});
    panels = {outlined, heat, viz::overlay(picture, heat, alpha)};
  }
  if (!raw.empty()) {
    h5::File f(raw, h5::File::Mode::write);
    if (r.attribution.defined()) f.write("attribution", r.attribution);
    if (r.cam.defined()) f.write("cam", r.cam);
    for (const auto& [k, v] : r.datasets) f.write(k, v);
    f.write("map", Tensor::from_vector({H, W}, r.map));
    for (const auto& [k, v] : r.facts) f.set_attr(k, v);
    f.set_attr("target", target.all ? -1.0 : double(target.index));
    f.set_attr("method", name == "ig" ? c.ig.method : name);
    if (name == "ig") f.set_attr("baseline", c.baseline);
    f.set_attr("params", r.params);
    viz::write_png(out, viz::panels(panels));
    f.commit();
    std::printf("wrote %s\n", raw.c_str());
  } else {
    viz::write_png(out, viz::panels(panels));
  }
  std::printf("wrote %s (%s)\n", out.c_str(), s.pixels.defined() ? "image | map | overlay" : "map");
  return 0;
}

}  // namespace gt::cli
