// Robustness: does the map stay put when the input barely moves? Each sample adds noise to every
// entry of x (all channels), explains the noisy input again for the same class and measures how far
// the map moved. Quantus 0.6's definitions: Yeh et al. 2019 (max- and avg-sensitivity) and
// Alvarez-Melis & Jaakkola 2018 (the local Lipschitz estimate).
#include <algorithm>
#include <cmath>
#include <random>

#include "xai/quality.h"

namespace gt::xai::quality {
namespace {

// How far the map and the input moved in one sample: ||a - a_p||_2 and ||x - x_p||_2.
struct Moved {
  double map, input;
};

// `samples` noisy copies x_p = x + e of the item, e drawn entry by entry by draw(rng) from the item's
// stream, each explained again; a and a_p prepared alike (abs, normalise: each map by its own maximum).
std::vector<Moved> moves(const Input& in, const std::function<double(std::mt19937_64&)>& draw) {
  const std::vector<double> a = prepared(in), x0 = in.subject.x.to_vector_f64();
  std::mt19937_64 rng(in.seed);
  std::vector<double> xp(x0.size());
  std::vector<Moved> out;
  for (int64_t k = 0; k < in.settings.integer("samples"); ++k) {
    double dx = 0;
    for (size_t i = 0; i < x0.size(); ++i) {
      const double e = draw(rng);
      xp[i] = x0[i] + e;
      dx += e * e;
    }
    const std::vector<double> ap = prepared(in, in.explain(item_like(in.subject.x, xp), in.target.index));
    double da = 0;
    for (size_t i = 0; i < a.size(); ++i) da += (a[i] - ap[i]) * (a[i] - ap[i]);
    out.push_back({std::sqrt(da), std::sqrt(dx)});
  }
  return out;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += e * e;
  return std::sqrt(s);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += e;
  return s / double(v.size());
}

// Sensitivity (Yeh et al. 2019): ||a - a_p|| / ||a|| for x_p = x + U(-r, r) in every entry; the
// largest over the samples (max-sensitivity) or their mean (avg-sensitivity). Lower is better.
Score sensitivity(const Input& in, bool max) {
  const double r = in.settings.real("noise"), an = norm(prepared(in));
  std::uniform_real_distribution<double> u(-r, r);
  std::vector<double> ratios;  // one per sample: draws, not a curve to plot
  for (const Moved& m : moves(in, [&](std::mt19937_64& g) { return u(g); })) ratios.push_back(m.map / an);
  return Score{max ? *std::max_element(ratios.begin(), ratios.end()) : mean(ratios), {}};
}

// Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018): max over the samples of
// ||a - a_p|| / (||x - x_p|| + 1e-10), x_p = x + N(0, sigma^2) in every entry. Lower is better.
Score local_lipschitz(const Input& in) {
  std::normal_distribution<double> n(0.0, in.settings.real("sigma"));
  double worst = -INFINITY;
  for (const Moved& m : moves(in, [&](std::mt19937_64& g) { return n(g); }))
    worst = std::max(worst, m.map / (m.input + 1e-10));
  return Score{worst, {}};
}

std::vector<OptionSpec> sampling(int samples) {
  return {int_option("samples", samples, 1, 1 << 20, "N", "noisy copies, each explained again")};
}

}  // namespace

std::vector<Metric> robustness_metrics() {
  std::vector<Metric> m;
  for (bool max : {true, false}) {
    Metric s{max ? "max-sensitivity" : "avg-sensitivity",
             "robustness",
             std::string(max ? "largest" : "mean") + " ||a - a_p|| / ||a|| over inputs with uniform noise",
             "Yeh et al. 2019",
             -1,
             false,
             true,
             [max](const Input& in) { return sensitivity(in, max); },
             preprocessing(false, false)};
    s.options.push_back(real_option("noise", 0.2, 0, 1e6, "R", "the noise: U(-R, R) in every input entry"));
    for (OptionSpec& o : sampling(200)) s.options.push_back(o);
    m.push_back(s);
  }
  Metric l{"local-lipschitz",
           "robustness",
           "largest ||a - a_p|| / ||x - x_p|| over inputs with Gaussian noise",
           "Alvarez-Melis & Jaakkola 2018",
           -1,
           false,
           true,
           local_lipschitz,
           preprocessing(false, true)};
  l.options.push_back(real_option("sigma", 0.1, 0, 1e6, "S", "the noise: N(0, S^2) in every input entry"));
  for (OptionSpec& o : sampling(200)) l.options.push_back(o);
  m.push_back(l);
  return m;
}

}  // namespace gt::xai::quality
