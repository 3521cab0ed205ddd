// Axiomatic: properties an attribution should have by construction.
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
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

}  // namespace

std::vector<Metric> axiomatic_metrics() {
  return {{"completeness", "axiomatic",
           "relative error of sum(attribution) against f(x) - f(black): 0 for a complete method",
           "Sundararajan et al. 2017", -1, false, false, completeness}};
}

}  // namespace gt::xai::quality
