// Randomisation: does the map change when the model does? A map that survives the model's weights
// being replaced by random ones does not explain what the model learnt (Adebayo et al. 2018).
#include <algorithm>
#include <cmath>
#include <random>

#include "nn/init.h"
#include "xai/compare.h"
#include "xai/quality.h"

namespace gt::xai::quality {
namespace {

// SSIM of two 1-D signals (skimage.metrics.structural_similarity on flattened maps, as Quantus's ssim):
// means, variances (sample, 7/6) and covariance over windows of 7, K1 = 0.01, K2 = 0.03, the data range
// that of both signals together; S = (2 ux uy + C1)(2 sxy + C2) / ((ux^2 + uy^2 + C1)(sx + sy + C2)),
// averaged over the windows that lie inside the signal (skimage crops 3 at each end).
double ssim_1d(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size(), win = 7;
  if (n < win) return NAN;
  const auto [xlo, xhi] = std::minmax_element(x.begin(), x.end());
  const auto [ylo, yhi] = std::minmax_element(y.begin(), y.end());
  const double range = std::max(*xhi, *yhi) - std::min(*xlo, *ylo);
  const double c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range), cov = 7.0 / 6.0;
  double sum = 0;
  for (size_t i = 0; i + win <= n; ++i) {
    double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
    for (size_t k = i; k < i + win; ++k) {
      ux += x[k], uy += y[k], uxx += x[k] * x[k], uyy += y[k] * y[k], uxy += x[k] * y[k];
    }
    ux /= win, uy /= win, uxx /= win, uyy /= win, uxy /= win;
    const double vx = cov * (uxx - ux * ux), vy = cov * (uyy - uy * uy), vxy = cov * (uxy - ux * uy);
    sum += (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return sum / double(n - win + 1);
}

// MPRT, the cascading model-parameter randomisation test: from the top layer down, each layer's
// parameters are re-initialised as PyTorch's reset_parameters does (Quantus calls it on each module:
// conv and dense weights and biases U(+-1/sqrt(fan_in)), batch norms to the identity), keeping the
// layers above random, and the method explains the item again. The curve is the Spearman rank
// correlation of each new map with the original, layer by layer (|a| normalised, as Quantus's
// defaults); the value their mean over the layers where the map is not constant (a CAM of random
// weights can be all zero: its rank correlation is NaN). A method that passes the test falls towards
// 0; one near 1 throughout ignores the weights. Seeds: one from the item's stream for every layer,
// as Quantus seeds torch with seed + 1 before each layer's reset (the layers' values share one
// stream, each scaled to its bound). similarity=ssim compares the maps by ssim_1d instead.
Score mprt(const Input& in) {
  nn::Model& model = *in.subject.model;
  const Restore restore(model);
  std::vector<nn::Layer*> layers;
  for (auto& l : model.layers())
    if (!l->named_parameters().empty()) layers.push_back(l.get());
  const std::vector<double> original = prepared(in);
  const bool ssim = in.settings.text("similarity") == "ssim";
  Score r;
  const uint64_t layer_seed = nn::mix(in.seed, 7, 0);
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (!nn::init_layer(**it, layer_seed, nn::Init::torch_reset)) continue;
    model.parameters_changed();
    const std::vector<double> again = prepared(in, in.explain(in.subject.x, in.target.index));
    r.curve.push_back(ssim ? ssim_1d(original, again) : spearman(original, again));
  }
  double sum = 0;  // the mean over the layers whose map has an order (a constant map's rho is NaN)
  int n = 0;
  for (double v : r.curve)
    if (!std::isnan(v)) sum += v, ++n;
  r.value = n ? sum / n : NAN;
  return r;
}

// Random logit (Sixt et al. 2020): the map explained again for a class drawn uniformly from the other
// classes; the SSIM of the two (flattened, as Quantus compares them). A map that explains the class
// differs: lower is better.
Score random_logit(const Input& in) {
  const int64_t K = int64_t(in.subject.probs.size());
  if (K < 2) return Score{};
  std::mt19937_64 rng(in.seed);
  int64_t other = std::uniform_int_distribution<int64_t>(0, K - 2)(rng);
  if (other >= in.target.index) ++other;
  return Score{ssim_1d(prepared(in), prepared(in, in.explain(in.subject.x, other))), {}};
}

}  // namespace

std::vector<Metric> randomisation_metrics() {
  Metric m{"mprt",
           "randomisation",
           "similarity to the original map as the layers are randomised from the top (the curve)",
           "Adebayo et al. 2018",
           -1,
           false,
           true,
           mprt};
  m.options = preprocessing(true, true);
  m.options.push_back(text_option("similarity", "spearman", "S", "spearman (rank correlation) or ssim, per layer",
                                  [](const std::string& v) {
                                    if (v != "spearman" && v != "ssim")
                                      throw InvalidArgument("similarity must be spearman or ssim");
                                  }));
  return {m,
          {"random-logit", "randomisation", "SSIM of the map with the map of a random other class", "Sixt et al. 2020",
           -1, false, true, random_logit, preprocessing(false, true)}};
}

}  // namespace gt::xai::quality
