// Axiomatic: properties an attribution should have by construction.
#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "nn/layers.h"
#include "xai/quality.h"

namespace gt::xai::quality {
namespace {

// Completeness (Sundararajan et al. 2017): sum_i a_i = f(x) - f(x'), the target's logit, x' the
// baseline: every entry of x set to its smallest value (Quantus's "black"). Quantus 0.6 compares the
// two sides with == (practically always False), sums the map normalised by its maximum, and with a
// one-channel map sets only channel 0 to the baseline; here the attribution itself (all channels,
// unnormalised) against the whole baseline image, as the axiom reads. Value: the relative error
// |sum a - (f(x) - f(x'))| / |f(x) - f(x')| (0 for IG in the limit of many steps, and for DeepLIFT);
// the curve holds the two sides.
Score completeness(const Input& in) {
  if (!in.attribution.defined()) return Score{};  // a CAM has no attribution of the input
  const Tensor& x = in.subject.x;
  const Tensor base = Tensor::full(x.shape(), black_value(x), x.dtype(), x.device());
  const double fx = class_scores(in.subject, x, in.target.index, false)[0];
  const double fb = class_scores(in.subject, base, in.target.index, false)[0];
  double sum = 0;
  for (double v : in.attribution.to_vector_f64()) sum += v;
  const double diff = fx - fb;
  return Score{std::fabs(sum - diff) / std::max(std::fabs(diff), 1e-12), {sum, diff}};
}

// Input invariance (Kindermans et al. 2017): shift the input by a constant c (every entry) and the
// first layer's bias by -c sum(W) per output, so that the model's output does not change (exactly in
// the interior of a padded conv: its border sees the padding's zeros unshifted); a map that depends
// only on the model's function is the same for both. Quantus 0.6 answers np.all(isclose(a, a',
// atol=1e-4)), leaves the first input entry unshifted and compensates by the shifted conv output's
// minimum over the map; here the exact compensation and the size of the change: the value is
// max |a - a'| / max |a| (0 for an invariant method: the gradient away from the border; gradient x
// input and IG from a fixed baseline are not). The first conv or dense layer in the model's order
// is taken to be the one the input enters.
Score input_invariance(const Input& in) {
  nn::Model& model = *in.subject.model;
  Tensor *w = nullptr, *b = nullptr;
  for (auto& l : model.layers()) {
    if (auto* c = dynamic_cast<nn::Conv2d*>(l.get())) w = &c->weight, b = &c->bias;
    if (auto* d = dynamic_cast<nn::Dense*>(l.get())) w = &d->weight, b = &d->bias;
    if (w) break;
  }
  if (!w) return Score{};
  const Restore restore(model, {b});  // the layer's own bias back (undefined where it had none)
  const double shift = in.settings.real("shift");
  const std::vector<double> wv = w->to_vector_f64();
  const int64_t O = w->dim(0), per = w->numel() / O;
  std::vector<double> bias = b->defined() ? b->to_vector_f64() : std::vector<double>(size_t(O), 0.0);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t k = 0; k < per; ++k) bias[size_t(o)] -= shift * wv[size_t(o * per + k)];
  *b = Tensor::from_vector({O}, bias, DType::f64).to(w->dtype()).to(w->device());
  model.parameters_changed();
  std::vector<double> xs = in.subject.x.to_vector_f64();
  for (double& v : xs) v += shift;
  const std::vector<double> a = prepared(in);
  const std::vector<double> again = prepared(in, in.explain(item_like(in.subject.x, xs), in.target.index));
  double diff = 0, top = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff = std::max(diff, std::fabs(a[i] - again[i])), top = std::max(top, std::fabs(a[i]));
  return Score{top > 0 ? diff / top : NAN, {}};
}

}  // namespace

std::vector<Metric> axiomatic_metrics() {
  Metric ii{"input-invariance",
            "axiomatic",
            "max |a - a'| / max |a| when the input and the first layer's bias shift together (the output stays)",
            "Kindermans et al. 2017",
            -1,
            false,
            false,
            input_invariance,
            preprocessing(false, false)};
  ii.options.push_back(real_option("shift", -1.0, -1e6, 1e6, "C", "the constant added to every input entry"));
  return {{"completeness", "axiomatic",
           "relative error of sum(attribution) against f(x) - f(black): 0 for a complete method",
           "Sundararajan et al. 2017", -1, false, false, completeness},
          ii};
}

}  // namespace gt::xai::quality
