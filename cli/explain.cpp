#include "cli/explain.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "cli/cli.h"
#include "image/preprocess.h"
#include "xai/gradcam.h"

namespace gt::cli {

bool is_cam_method(const std::string& m) { return m == "gradcam" || m == "gradcam++" || m == "guided-gradcam"; }
bool is_surrogate_method(const std::string& m) { return m == "lime" || m == "kernelshap"; }

void check_hide(const std::string& v) {
  if (v == "mean" || v == "blur") return;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(d >= 0 && d <= 255))
    throw UsageError("--fill must be mean, blur or a pixel value in [0, 255], got '" + v + "'");
}

viz::Norm default_norm(const std::string& m, bool signed_map) {
  if (signed_map || is_surrogate_method(m)) return viz::Norm::symmetric;
  return m == "gradcam" || m == "gradcam++" ? viz::Norm::minmax : viz::Norm::percentile;
}

Subject load_subject(const std::string& weights, const std::string& model_name, const std::string& image,
                     const std::string& resize) {
  Subject s;
  s.model = load_model(weights, model_name);
  s.resize = resize;
  const nn::ModelInfo& info = s.model->info;
  if (!info.include_top) throw Error("weights file " + weights + " has no classifier (a _notop file): nothing to explain");
  const bool tensor_input = is_tensor_input(image);
  if (tensor_input) {
    s.x = load_input(image, info);
  } else {
    s.pixels = load_pixels(image, info, resize, &s.true_label);
    s.x = preprocess(s.pixels, info.preprocessing);
  }
  // The input lives where the model runs: a host input would send the logits back to the host and
  // their gradient to the GPU in the middle of every pass (nn::Model::operator()), each with a wait.
  s.x = s.x.to(s.model->device());
  nn::Model* m = s.model.get();
  s.fn = [m](const Tensor& in) { return (*m)(in); };
  NoGradGuard no_grad;
  s.probs = ops::softmax(s.fn(s.x)).to_vector();
  s.top1 = std::max_element(s.probs.begin(), s.probs.end()) - s.probs.begin();
  return s;
}

namespace {

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

// Runs f; when the GPU runs out of memory in it, the error suggests a smaller --batch.
template <class F>
auto with_batch_hint(int batch, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const OutOfDeviceMemory& e) {
    throw Error(std::string(e.what()) + "; try a smaller --batch (it is " + std::to_string(batch) + ")");
  }
}

// A picture of one pixel value v everywhere, in model-input space (a gray fill stays gray).
Tensor pixel_fill(const Subject& s, double v) {
  return preprocess(Tensor::full({1, 3, s.x.dim(2), s.x.dim(3)}, v), s.model->info.preprocessing);
}

// The picture blurred with sigma 10 px, in model-input space (an .h5 input is blurred as it is).
Tensor blurred(const Subject& s) {
  return s.pixels.defined() ? preprocess(gaussian_blur(s.pixels, 10), s.model->info.preprocessing)
                            : gaussian_blur(s.x, 10);
}

// IG's baseline in model-input space: pixel-space constants and noise go through the preprocessing.
Tensor make_baseline(const MethodConfig& c, const Subject& s) {
  const nn::ModelInfo& info = s.model->info;
  const int64_t H = s.x.dim(2), W = s.x.dim(3);
  const std::string& b = c.baseline;
  if (b == "black" || b == "white" || b == "gray") return pixel_fill(s, b == "black" ? 0 : b == "white" ? 255 : 128);
  if (b == "noise") return preprocess(Tensor::uniform({1, 3, H, W}, 0, 255, c.seed), info.preprocessing);
  if (b == "blur") return blurred(s);
  const Tensor base = load_input(b, info, s.resize);
  if (base.shape() != s.x.shape())
    throw Error("baseline file " + b + " gives a tensor " + base.shape().str() + ", the input is " + s.x.shape().str());
  return base;
}

// The superpixels of the subject's picture; a tensor input (.h5) is scaled to [0, 255] first.
xai::Segments superpixels(const MethodConfig& c, const Subject& s) {
  const Tensor& img = s.pixels.defined() ? s.pixels : s.x;
  int64_t C = img.dim(1);
  const int64_t H = img.dim(2), W = img.dim(3);
  std::vector<float> v = img.to_vector();
  if (!s.pixels.defined()) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const float a = *lo, range = std::max(*hi - *lo, 1e-12f);
    for (float& e : v) e = 255 * (e - a) / range;
  }
  if (C != 1 && C != 3) {  // grey: the mean over channels
    std::vector<float> grey(size_t(H * W), 0.0f);
    for (int64_t k = 0; k < C; ++k)
      for (int64_t p = 0; p < H * W; ++p) grey[size_t(p)] += v[size_t(k * H * W + p)] / float(C);
    v = std::move(grey), C = 1;
  }
  return xai::slic(v, C, H, W, c.segments, c.compactness);
}

// What LIME and KernelSHAP show where a superpixel is hidden, in model-input space.
Tensor hidden_fill(const MethodConfig& c, const Subject& s, const xai::Segments& seg) {
  if (c.hide == "mean") return xai::segment_means(s.x, seg);
  if (c.hide == "blur") return blurred(s);
  return pixel_fill(s, std::stod(c.hide));
}

// "ig: 30/50 points" on stderr: rewritten in place on a terminal; else at every quarter.
xai::Progress progress_printer(const std::string& what, const std::string& unit) {
  const bool tty = isatty(fileno(stderr));
  return [=, last = int64_t(-1)](int64_t done, int64_t total) mutable {
    const int64_t quarter = 4 * done / std::max<int64_t>(total, 1);
    if (!tty && quarter == last && done != total) return;
    last = quarter;
    std::fprintf(stderr, tty ? "\r%s: %lld/%lld %s" : "%s: %lld/%lld %s\n", what.c_str(), (long long)done,
                 (long long)total, unit.c_str());
    if (tty && done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

}  // namespace

MethodResult run_method(const MethodConfig& c, Subject& s, const xai::Target& t) {
  MethodResult r;
  const std::string& m = c.method;
  const xai::Model& fn = s.fn;
  const Tensor& x = s.x;
  if (is_cam_method(m)) {
    const std::string layer = c.layer.empty() ? s.model->info.gradcam_layer : c.layer;
    xai::Cam cam;
    try {
      cam = xai::gradcam(fn, x, t, layer, m == "gradcam++");
    } catch (const xai::UnknownLayer& e) {  // a usage error: the user named the layer
      throw UsageError(e.what());
    }
    r.cam = cam.cam;
    r.notes.push_back("layer " + layer + ": " + fmt("%.0fx%.0f map", double(cam.cam.dim(0)), double(cam.cam.dim(1))));
    r.params = "layer " + layer;
    if (m == "guided-gradcam") r.attribution = xai::guided_gradcam(xai::guided_backprop(fn, x, t), cam.map);
    else r.map = cam.map.to_vector();
  } else if (m == "ig") {
    const Tensor base = make_baseline(c, s);
    xai::IgOptions o = c.ig;
    if (!o.progress) o.progress = progress_printer(m, "points");
    o.device = s.model->device();
    const xai::IgResult ig = with_batch_hint(o.batch, [&] { return xai::integrated_gradients(fn, x, base, t, o); });
    r.attribution = ig.attribution;
    const double gap = ig.f_x - ig.f_baseline, rel = std::abs(ig.delta) / std::max(std::abs(gap), 1e-12);
    r.params = fmt("%.0f steps, ", c.ig.steps) + c.ig.method + ", " + c.baseline + " baseline";
    r.notes.push_back(fmt("f(x) = %.6g, f(baseline) = %.6g, sum(attribution) = %.6g, completeness error %.4g", ig.f_x,
                          ig.f_baseline, ig.delta + gap, ig.delta) +
                      fmt(" (%.2f%% of |f(x) - f(baseline)|)", 100 * rel));
    if (rel > 0.05) r.notes.push_back("warning: the completeness error is above 5%: use more --steps or --method gausslegendre");
    r.facts = {{"f_x", ig.f_x}, {"f_baseline", ig.f_baseline}, {"delta", ig.delta}, {"steps", c.ig.steps}};
  } else if (m == "occlusion") {
    const Tensor fill = pixel_fill(s, c.fill);
    xai::OcclusionOptions o = c.occlusion;
    if (!o.progress) o.progress = progress_printer(m, "windows");
    r.attribution = with_batch_hint(o.batch, [&] { return xai::occlusion(fn, x, fill, t, o); });
    r.params = fmt("window %.0f, stride %.0f, fill %.0f", c.occlusion.window, c.occlusion.stride, c.fill);
  } else if (is_surrogate_method(m)) {
    const xai::Segments seg = superpixels(c, s);
    const Tensor fill = hidden_fill(c, s, seg);
    xai::SurrogateOptions o = c.surrogate;
    if (!o.progress) o.progress = progress_printer(m, "images");
    const xai::SurrogateResult f = with_batch_hint(o.batch, [&] {
      return m == "lime" ? xai::lime(fn, x, fill, seg, t, o) : xai::kernel_shap(fn, x, fill, seg, t, o);
    });
    r.attribution = f.attribution;
    for (int32_t l : seg.label) r.map.push_back(float(f.phi[size_t(l)]));
    r.segments = seg.label;
    std::vector<double> labels(seg.label.begin(), seg.label.end());
    r.datasets = {{"segments", Tensor::from_vector({seg.height, seg.width}, labels, DType::f32)},
                  {"phi", Tensor::from_vector({seg.count}, f.phi)}};
    r.params = fmt("%.0f superpixels (SLIC, compactness %g), %.0f images, fill ", double(seg.count), c.compactness,
                   double(f.evaluations)) +
               c.hide;
    if (m == "lime") r.params += fmt(", kernel width %g, ridge %g", o.kernel_width, o.ridge);
    r.notes.push_back(fmt("%.0f superpixels (%.0f asked for); %.0f images", double(seg.count), double(c.segments),
                          double(f.evaluations)) +
                      (f.exact ? " (every coalition: the exact Shapley values)" : ""));
    const double sum = std::accumulate(f.phi.begin(), f.phi.end(), 0.0);
    r.notes.push_back(fmt("f(x) = %.6g, f(all hidden) = %.6g, sum(phi) = %.6g, ", f.f_x, f.f_baseline, sum) +
                      fmt(m == "lime" ? "intercept %.6g" : "phi_0 = f(all hidden) = %.6g", f.phi0));
    r.notes.push_back(
        fmt("the linear surrogate's fit: weighted R^2 = %.3f", f.r2) +
        (f.r2 < 0.5 ? " (low: the score is far from additive in the superpixels; read the map with care)" : ""));
    r.facts = {{"f_x", f.f_x}, {"f_baseline", f.f_baseline},    {"phi0", f.phi0},
               {"r2", f.r2},   {"segments", double(seg.count)}, {"evaluations", double(f.evaluations)}};
  } else if (m == "smoothgrad") {
    xai::SmoothGradOptions o = c.smoothgrad;
    if (!o.progress) o.progress = progress_printer(m, "samples");
    o.device = s.model->device();
    r.attribution = with_batch_hint(o.batch, [&] { return xai::smoothgrad(fn, x, t, o); });
    r.params = fmt("%.0f samples, noise %.3g", c.smoothgrad.samples, c.smoothgrad.sigma) +
               (c.smoothgrad.squared ? ", squared" : "");
  } else if (m == "guided-backprop") {
    r.attribution = xai::guided_backprop(fn, x, t);
  } else if (m == "gradxinput") {
    r.attribution = xai::gradxinput(fn, x, t);
  } else if (m == "saliency") {
    r.attribution = xai::input_gradient(fn, x, t);
  } else {
    throw UsageError("unknown method '" + m + "'");
  }
  if (r.map.empty()) {
    r.map = xai::channel_map(r.attribution, c.reduce, c.signed_map);
    const char* red[] = {"max |a|", "mean |a|", "l2"};
    r.params += (r.params.empty() ? "" : "; ") + std::string("map: ") + red[int(c.reduce)] + " over channels" +
                (c.signed_map ? ", signed" : "");
  }
  return r;
}

Faithfulness faithfulness(Subject& s, const std::vector<float>& map, int64_t target, int steps) {
  xai::FaithfulnessOptions o;
  o.steps = steps;
  return {xai::deletion(s.fn, s.x, pixel_fill(s, 0), map, target, o),
          xai::insertion(s.fn, s.x, blurred(s), map, target, o)};
}

}  // namespace gt::cli
