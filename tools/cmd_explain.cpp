// gradtrace saliency | gradxinput | smoothgrad | ig | gradcam | gradcam++ | guided-backprop |
// guided-gradcam | occlusion: one attribution method on one image, written as a PNG (and raw HDF5).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "tools/cli.h"
#include "weights/hdf5.h"
#include "weights/labels.h"
#include "weights/preprocess.h"
#include "xai/gradcam.h"
#include "xai/integrated_gradients.h"
#include "xai/occlusion.h"
#include "xai/viz.h"

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
    {"guided-backprop", "the gradient with negative gradients stopped at every ReLU (Springenberg et al. 2015)",
     ""},
    {"guided-gradcam", "Guided Backprop times the upsampled Grad-CAM map",
     "  --layer NAME     the Grad-CAM layer (default: the model's last conv block)\n"},
    {"occlusion", "the score's drop when a sliding window covers the image (Zeiler & Fergus 2014)",
     "  --window W       window side in pixels (default 16)\n"
     "  --stride S       step in pixels (default 8)\n"
     "  --fill V         pixel value the window shows, before preprocessing (default 128: gray)\n"
     "  --batch B        occluded copies per forward pass (default 16)\n"},
};

const char* kCommon =
    "  --weights FILE   the model: .tflite, Keras .h5, or gradtrace's .h5 (required)\n"
    "  --image FILE     PNG/JPEG/BMP, or .h5 with dataset `input` [1,3,H,W] (used as is)\n"
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
    "  --threads N      threads (default: all cores)\n";

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

int run_explain(int argc, char** argv) {
  const Method& method = find_method(argv[1]);
  const std::string name = method.name;
  Args a(argc, argv, 2, {"--help", "--signed", "--squared"});
  if (a.flag("--help")) {
    std::printf("usage: gradtrace %s --weights FILE --image FILE [options]\n\n%s.\n\n", method.name, method.what);
    if (*method.options) std::printf("%s options:\n%s\n", method.name, method.options);
    std::printf("common options:\n%s", kCommon);
    return 0;
  }
  const bool is_cam = name == "gradcam" || name == "gradcam++" || name == "guided-gradcam";
  const std::string weights = a.get("--weights", ""), image = a.get("--image", ""), model_name = a.get("--model", "");
  const std::string target_s = a.get("--target", ""), out = a.get("--out", name + ".png"), raw = a.get("--raw", "");
  const std::string resize = a.get("--resize", "");
  const bool signed_map = a.flag("--signed");
  const std::string cmap = a.get("--cmap", signed_map ? "bwr" : "hot");
  // Grad-CAM maps are smooth and non-negative: min-max shows them as the paper does. Gradient maps
  // have a few extreme pixels, which percentile clipping keeps from darkening the rest.
  const char* default_norm = signed_map ? "symmetric" : name == "gradcam" || name == "gradcam++" ? "minmax" : "percentile";
  const auto norm = choose<viz::Norm>("--norm", a.get("--norm", default_norm),
                                      {{"minmax", viz::Norm::minmax}, {"percentile", viz::Norm::percentile},
                                       {"symmetric", viz::Norm::symmetric}});
  const double clip = a.get_double("--clip", 1.0, 0.0, 50.0);
  const double alpha = a.get_double("--alpha", 0.5, 0.0, 1.0);
  const auto reduce = choose<xai::ChannelReduce>(
      "--reduce", a.get("--reduce", "max"),
      {{"max", xai::ChannelReduce::max_abs}, {"mean", xai::ChannelReduce::mean_abs}, {"l2", xai::ChannelReduce::l2}});
  // Method options: read only for the methods that take them, so that a misplaced one is an error.
  std::string layer, baseline_s = "black", ig_method = "gausslegendre";
  xai::SmoothGradOptions sg;
  xai::IgOptions ig;
  xai::OcclusionOptions occ;
  double fill = 128;
  long seed = 0;
  if (is_cam) layer = a.get("--layer", "");
  if (name == "smoothgrad") {
    sg.samples = int(a.get_int("--samples", 25, 1, 100000));
    sg.sigma = a.get_double("--noise", 0.15, 0.0, 10.0);
    sg.squared = a.flag("--squared");
    sg.batch = int(a.get_int("--batch", 5, 1, 1024));
    sg.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
  }
  if (name == "ig") {
    baseline_s = a.get("--baseline", "black");
    ig.steps = int(a.get_int("--steps", 50, 1, 100000));
    ig.method = a.get("--method", "gausslegendre");
    ig.batch = int(a.get_int("--batch", 10, 1, 1024));
    seed = a.get_int("--seed", 0, 0, 1L << 62);
    try {
      xai::quadrature(ig.method, ig.steps);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  if (name == "occlusion") {
    occ.window = int(a.get_int("--window", 16, 1, 1 << 16));
    occ.stride = int(a.get_int("--stride", 8, 1, 1 << 16));
    fill = a.get_double("--fill", 128, 0, 255);
    occ.batch = int(a.get_int("--batch", 16, 1, 1024));
  }
  apply_threads(a);
  a.finish();
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  if (weights.empty()) throw UsageError("--weights is required");
  if (image.empty()) throw UsageError("--image is required");
  if (!resize.empty() && resize != "squash" && resize != "crop") throw UsageError("--resize must be squash or crop");
  const auto cmaps = viz::colormap_names();
  if (std::find(cmaps.begin(), cmaps.end(), cmap) == cmaps.end())
    throw UsageError("unknown colormap '" + cmap + "' (known: " + viz::colormap_list() + ")");
  if (signed_map && reduce == xai::ChannelReduce::l2) throw UsageError("--signed does not go with --reduce l2 (it has no sign)");

  auto model = load_model(weights, model_name);
  const nn::ModelInfo& info = model->info;
  if (!info.include_top) throw Error("weights file " + weights + " has no classifier (a _notop file): nothing to explain");
  // The picture in pixel space (for the overlay and pixel-space baselines) unless the input is a tensor.
  const bool tensor_input = image.size() > 3 && image.compare(image.size() - 3, 3, ".h5") == 0;
  const std::string mode = resize.empty() ? info.resize : resize;
  Tensor pixels, x;
  if (tensor_input) {
    x = load_input(image, info);
  } else {
    pixels = resize_image(load_image(image), info.input_h, info.input_w, mode);
    x = preprocess(pixels, info.preprocessing);
  }
  const int64_t H = x.dim(2), W = x.dim(3);
  const xai::Model fn = [&](const Tensor& in) { return (*model)(in); };
  std::vector<float> probs;
  {
    NoGradGuard no_grad;
    probs = ops::softmax(fn(x)).to_vector();
  }
  const int64_t top1 = std::max_element(probs.begin(), probs.end()) - probs.begin();
  const xai::Target target = resolve_target(target_s, info, top1, !is_cam && name != "occlusion");
  std::printf("%s (%s weights), %lldx%lld input; top-1: %s (%.4f)\n", info.arch.c_str(), info.variant.c_str(),
              (long long)H, (long long)W, class_name(info.labels, top1).c_str(), probs[size_t(top1)]);
  if (target.all)
    std::printf("%s of the sum of all %lld class logits\n", name.c_str(), (long long)info.classes);
  else
    std::printf("%s of class %lld, %s (p = %.4f)\n", name.c_str(), (long long)target.index,
                class_name(info.labels, target.index).c_str(), probs[size_t(target.index)]);

  // A constant picture, or one of the other baselines, in model-input space.
  auto pixel_constant = [&](double v) { return preprocess(Tensor::full({1, 3, H, W}, v), info.preprocessing); };
  const auto t0 = std::chrono::steady_clock::now();
  Tensor attribution;
  std::vector<float> map;
  h5::File* rawf = nullptr;
  std::unique_ptr<h5::File> rawfile;
  if (!raw.empty()) rawfile = std::make_unique<h5::File>(raw, h5::File::Mode::write), rawf = rawfile.get();
  if (is_cam) {
    if (layer.empty()) layer = info.gradcam_layer;
    std::vector<std::string> layers;
    for (const auto& row : nn::layer_shapes(*model)) layers.push_back(row.layer);
    if (std::find(layers.begin(), layers.end(), layer) == layers.end()) {
      std::string near;
      for (const auto& n : nn::closest_names(layer, layers, 5)) near += (near.empty() ? "" : ", ") + n;
      throw UsageError("unknown layer '" + layer + "' (closest: " + near + "; `gradtrace layers --weights " + weights +
                       "` lists them all)");
    }
    const xai::Cam cam = xai::gradcam(fn, x, target, layer, name == "gradcam++");
    std::printf("layer %s: %lldx%lld map\n", layer.c_str(), (long long)cam.cam.dim(0), (long long)cam.cam.dim(1));
    if (name == "guided-gradcam") {
      attribution = xai::guided_gradcam(fn, x, target, layer);
      map = xai::channel_map(attribution, reduce, signed_map);
    } else {
      map = cam.map.to_vector();
    }
    if (rawf) rawf->write("cam", cam.cam), rawf->set_attr("layer", layer);
  } else if (name == "ig") {
    Tensor base;
    if (baseline_s == "black" || baseline_s == "white" || baseline_s == "gray")
      base = pixel_constant(baseline_s == "black" ? 0 : baseline_s == "white" ? 255 : 128);
    else if (baseline_s == "noise")
      base = preprocess(Tensor::uniform({1, 3, H, W}, 0, 255, uint64_t(seed)), info.preprocessing);
    else if (baseline_s == "blur")
      base = tensor_input ? gaussian_blur(x, 10) : preprocess(gaussian_blur(pixels, 10), info.preprocessing);
    else {
      base = load_input(baseline_s, info, resize);
      if (base.shape() != x.shape())
        throw Error("baseline file " + baseline_s + " gives a tensor " + base.shape().str() + ", the input is " +
                    x.shape().str());
    }
    std::printf("integrated gradients: %d points (%s) from the %s baseline, in batches of %d\n", ig.steps,
                ig.method.c_str(), baseline_s.c_str(), ig.batch);
    const xai::IgResult r = xai::integrated_gradients(fn, x, base, target, ig);
    attribution = r.attribution;
    const double gap = r.f_x - r.f_baseline, rel = std::abs(r.delta) / std::max(std::abs(gap), 1e-12);
    std::printf("f(x) = %.6g, f(baseline) = %.6g, sum(attribution) = %.6g, completeness error %.4g (%.2f%% of |f(x) - "
                "f(baseline)|)\n",
                r.f_x, r.f_baseline, r.delta + gap, r.delta, 100 * rel);
    if (rel > 0.05)
      std::printf("warning: the completeness error is above 5%%: use more --steps or --method gausslegendre\n");
    if (rawf) {
      rawf->set_attr("f_x", r.f_x), rawf->set_attr("f_baseline", r.f_baseline), rawf->set_attr("delta", r.delta);
      rawf->set_attr("steps", ig.steps), rawf->set_attr("baseline", baseline_s);
    }
  } else if (name == "occlusion") {
    attribution = xai::occlusion(fn, x, pixel_constant(fill), target, occ);
  } else if (name == "smoothgrad") {
    attribution = xai::smoothgrad(fn, x, target, sg);
  } else if (name == "guided-backprop") {
    attribution = xai::guided_backprop(fn, x, target);
  } else if (name == "gradxinput") {
    attribution = xai::gradxinput(fn, x, target);
  } else {
    attribution = xai::input_gradient(fn, x, target);
  }
  if (map.empty()) map = xai::channel_map(attribution, reduce, signed_map);
  std::printf("%s took %.3f s\n", name.c_str(), seconds_since(t0));

  const Image heat = viz::colorize(viz::normalize(map, norm, clip), int(W), int(H), cmap);
  std::vector<Image> panels{heat};
  if (!tensor_input) {
    const Image picture = tensor_to_image(pixels);
    panels = {picture, heat, viz::overlay(picture, heat, alpha)};
  }
  if (rawf) {
    if (attribution.defined()) rawf->write("attribution", attribution);
    rawf->write("map", Tensor::from_vector({H, W}, map));
    rawf->set_attr("target", target.all ? -1.0 : double(target.index));
    rawf->set_attr("method", name == "ig" ? ig.method : name);
  }
  viz::write_png(out, viz::side_by_side(panels, 4));
  if (rawf) rawf->commit(), std::printf("wrote %s\n", raw.c_str());
  std::printf("wrote %s (%s)\n", out.c_str(), tensor_input ? "map" : "image | map | overlay");
  return 0;
}

}  // namespace gt::cli
