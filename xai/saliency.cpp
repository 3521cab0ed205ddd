#include "xai/saliency.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "xai/method.h"

namespace gt::xai {

Tensor target_score(const Tensor& logits, const Target& t) {
  if (logits.ndim() != 2) throw Error("target_score: expected logits (N,K), got " + logits.shape().str());
  const int64_t K = logits.dim(1);
  if (t.all) return ops::sum(logits);
  if (t.index < 0 || t.index >= K)
    throw Error("target class " + std::to_string(t.index) + " is out of range: the model has classes 0.." +
                std::to_string(K - 1));
  // S = sum_n sum_k logits[n,k] [k = c]: the selector row broadcast over the batch keeps S
  // differentiable; one_hot makes it on the logits' device, so a GPU pass need not wait for it.
  return ops::sum(ops::mul(logits, ops::one_hot(t.index, K, logits.dtype(), logits.device())));
}

std::vector<double> row_scores(const Tensor& logits, const Target& t) {
  target_score(logits.detach(), t);  // validates the shape and the class index
  const int64_t N = logits.dim(0), K = logits.dim(1);
  const std::vector<double> v = logits.to_vector_f64();
  std::vector<double> s(static_cast<size_t>(N), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      if (t.all || k == t.index) s[size_t(n)] += v[size_t(n * K + k)];
  return s;
}

void score_copies(const Model& model, const Tensor& x, int64_t count, int64_t batch,
                  const std::function<void(int64_t, double*)>& make,
                  const std::function<void(int64_t, const Tensor&)>& take) {
  NoGradGuard no_grad;
  const int64_t CHW = x.numel();
  for (int64_t i0 = 0; i0 < count; i0 += batch) {
    const int64_t n = std::min(batch, count - i0);
    std::vector<double> imgs(size_t(n * CHW));
    for (int64_t j = 0; j < n; ++j) make(i0 + j, imgs.data() + j * CHW);
    take(i0, model(Tensor::from_vector({n, x.dim(1), x.dim(2), x.dim(3)}, imgs, x.dtype())));
  }
}

Tensor input_gradient(const Model& model, const Tensor& x_in, const Target& t,
                      const std::function<void(Tape&)>& setup) {
  Tape tape;
  TapeGuard guard(tape);
  if (setup) setup(tape);
  Tensor x = x_in.detach().set_requires_grad(true);
  return tape.grad(target_score(model(x), t), {x})[0];
}

Tensor saliency(const Model& model, const Tensor& x, int64_t target) {
  return input_gradient(model, x, Target{target, false});
}

Tensor gradxinput(const Model& model, const Tensor& x, const Target& t) {
  const Tensor g = input_gradient(model, x, t);
  NoGradGuard no_grad;
  return ops::mul(x, g);
}

Tensor smoothgrad(const Model& model, const Tensor& x_in, const Target& t, const SmoothGradOptions& o) {
  if (x_in.ndim() != 4 || x_in.dim(0) != 1)
    throw Error("smoothgrad: expected one image (1,C,H,W), got " + x_in.shape().str());
  if (o.samples < 1) throw Error("smoothgrad: samples must be at least 1, got " + std::to_string(o.samples));
  const std::vector<double> xv = x_in.to_vector_f64();
  const auto [lo, hi] = std::minmax_element(xv.begin(), xv.end());
  const double sigma = o.sigma * (*hi - *lo);
  std::mt19937_64 rng(o.seed);  // the noise is drawn here, the same on every device
  std::normal_distribution<double> noise(0.0, sigma);
  // The copies, their gradients and the sum live on o.device; nothing here records (no input
  // requires a gradient), input_gradient has its own tape.
  const Tensor x = x_in.detach().to(o.device);
  const Shape chw{x.dim(1), x.dim(2), x.dim(3)};
  Tensor acc = Tensor::zeros(x.shape(), x.dtype(), x.device());  // sum_j g_j (or g_j^2)
  for (int s0 = 0; s0 < o.samples; s0 += o.batch) {
    const int64_t n = std::min(o.batch, o.samples - s0);
    std::vector<double> e(size_t(n) * size_t(x.numel()));
    for (double& v : e) v = noise(rng);
    // the noisy copies x + e_j, e_j ~ N(0, sigma^2): x broadcast over the batch
    const Tensor eps = Tensor::from_vector({n, chw[0], chw[1], chw[2]}, e, x.dtype()).to(x.device());
    const Tensor g = input_gradient(model, ops::add(x, eps), t);
    acc = ops::add(acc, ops::sum_to(o.squared ? ops::mul(g, g) : g, x.shape()));
    if (o.progress) o.progress(s0 + n, o.samples);
  }
  return ops::mul_scalar(acc, 1.0 / o.samples).to(x_in.device());  // (1/n) sum_j g_j
}

std::vector<float> channel_map(const Tensor& a, ChannelReduce r, bool signed_map) {
  if (a.ndim() != 4 || a.dim(0) != 1) throw Error("channel_map: expected (1,C,H,W), got " + a.shape().str());
  if (signed_map && r == ChannelReduce::l2) throw Error("channel_map: the l2 reduction has no sign");
  const int64_t C = a.dim(1), HW = a.dim(2) * a.dim(3);
  const std::vector<float> v = a.to_vector();
  std::vector<float> m(static_cast<size_t>(HW), 0.0f);
  for (int64_t i = 0; i < HW; ++i) {
    double acc = 0, best = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double e = v[c * HW + i];
      if (r == ChannelReduce::max_abs) {
        if (std::abs(e) > std::abs(best)) best = e;
      } else if (r == ChannelReduce::mean_abs) {
        acc += (signed_map ? e : std::abs(e)) / double(C);
      } else {
        acc += e * e;
      }
    }
    m[i] = static_cast<float>(r == ChannelReduce::max_abs ? (signed_map ? best : std::abs(best))
                              : r == ChannelReduce::l2    ? std::sqrt(acc)
                                                          : acc);
  }
  return m;
}

// ---- registry entries ----

Method saliency_entry() {
  return attribution_entry("saliency", "the gradient of the target logit with respect to the input",
                           "Simonyan et al. 2014",
                           [](const Model& f, const Tensor& x, const Target& t) { return input_gradient(f, x, t); });
}

Method gradxinput_entry() {
  return attribution_entry("gradxinput", "the input times that gradient", "Shrikumar et al. 2016", gradxinput);
}

Method smoothgrad_entry() {
  Method m;
  m.name = "smoothgrad";
  m.summary = "the gradient averaged over noisy copies of the input";
  m.paper = "Smilkov et al. 2017";
  m.options = {
      int_option("samples", 25, 1, 100000, "N", "noisy copies"),
      real_option("noise", 0.15, 0, 10, "SIGMA", "noise standard deviation as a fraction of the input's range"),
      flag_option("squared", "average the squared gradients (SmoothGrad-Squared)"), seed_option("noise seed"),
      batch_option(5, "copies")};
  m.target_all = true;
  m.cost = Cost::tens;
  m.progress_unit = "samples";
  m.run = [](Subject& s, const Target& t, const Options& o, const Progress& progress) {
    SmoothGradOptions so;
    so.samples = int(o.integer("samples"));
    so.sigma = o.real("noise");
    so.squared = o.flag("squared");
    so.seed = uint64_t(o.integer("seed"));
    so.batch = int(o.integer("batch"));
    so.progress = progress;
    so.device = s.model->device();
    MethodResult r;
    r.attribution = smoothgrad(s.fn, s.x, t, so);
    r.params = fmt("%.0f samples, noise %.3g", so.samples, so.sigma) + (so.squared ? ", squared" : "");
    return r;
  };
  return m;
}

}  // namespace gt::xai
