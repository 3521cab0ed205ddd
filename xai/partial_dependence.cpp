#include "xai/partial_dependence.h"

#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai {
namespace {

// Feature j's grid: its categories, or from its values in the rows.
PdpAxis make_axis(const TableRows& r, int64_t j, const PdpOptions& o) {
  const data::TableSchema& s = *r.schema;
  const data::TableColumn& f = s.features.at(size_t(j));
  PdpAxis a;
  a.feature = f.name;
  a.categorical = f.categorical;
  if (f.categorical) {
    a.labels = f.categories;
    return a;
  }
  std::vector<double> v;
  for (int64_t n = 0; n < r.rows(); ++n) v.push_back(r.values[size_t(n * int64_t(s.features.size()) + j)]);
  std::sort(v.begin(), v.end());
  std::vector<double> uniques = v;
  uniques.erase(std::unique(uniques.begin(), uniques.end()), uniques.end());
  if (int64_t(uniques.size()) < o.grid) {
    a.values = uniques;
  } else {
    const double lo = mquantile(v, o.lo), hi = mquantile(v, o.hi);
    if (!(hi > lo)) throw InvalidArgument("partial dependence: " + f.name + "'s percentiles coincide; no grid");
    for (int g = 0; g < o.grid; ++g)  // numpy's linspace: lo + g * step, the last point exactly hi
      a.values.push_back(g == o.grid - 1 ? hi : lo + double(g) * ((hi - lo) / double(o.grid - 1)));
  }
  for (double x : a.values) a.labels.push_back(data::number_text(x));
  return a;
}

// Writes grid point g of axis a into row `row` (W columns) of feature f.
void set_value(const data::TableColumn& f, const PdpAxis& a, size_t g, double* row) {
  if (f.categorical) {
    std::fill(row + f.offset, row + f.offset + f.width(), 0.0);
    row[f.offset + int64_t(g)] = 1;
  } else {
    row[f.offset] = (a.values[g] - f.mean) / f.scale;
  }
}

}  // namespace

double mquantile(const std::vector<double>& x, double p) {
  // scipy: m = alphap + p (1 - alphap - betap); aleph = n p + m; k = floor(clip(aleph, 1, n - 1));
  // gamma = clip(aleph - k, 0, 1); quantile = (1 - gamma) x[k-1] + gamma x[k]
  const auto n = double(x.size());
  if (x.size() == 1) return x[0];
  const double aleph = n * p + (0.4 + p * (1 - 0.8));
  const double k = std::floor(std::clamp(aleph, 1.0, n - 1));
  const double gamma = std::clamp(aleph - k, 0.0, 1.0);
  return (1 - gamma) * x[size_t(k) - 1] + gamma * x[size_t(k)];
}

PdpResult partial_dependence(nn::Model& m, const TableRows& r, const std::vector<int64_t>& features,
                             const PdpOptions& o) {
  const data::TableSchema& s = *r.schema;
  if (features.empty() || features.size() > 2) throw InvalidArgument("partial dependence takes one or two features");
  if (o.grid < 2) throw InvalidArgument("partial dependence: the grid needs at least 2 points");
  PdpResult res;
  for (int64_t j : features) res.axes.push_back(make_axis(r, j, o));
  const size_t G = res.axes.size() == 1 ? res.axes[0].size() : res.axes[0].size() * res.axes[1].size();
  const bool binary = s.task == "classify" && s.classes.size() == 2;
  if (s.task == "regress")
    res.outputs = {s.target};
  else
    for (size_t k = binary ? 1 : 0; k < s.classes.size(); ++k) res.outputs.push_back("p(" + s.classes[k] + ")");
  const int64_t N = r.rows(), W = s.width(), K = int64_t(res.outputs.size());
  const DType dtype = model_dtype(m);
  res.average.assign(size_t(K) * G, 0.0);
  if (o.ice) res.individual.assign(size_t(K * N) * G, 0.0);
  std::vector<double> x = r.x;
  NoGradGuard no_grad;
  for (size_t g = 0; g < G; ++g) {  // every row at grid point g, in one batch
    const size_t g0 = res.axes.size() == 1 ? g : g / res.axes[1].size();
    for (int64_t n = 0; n < N; ++n) {
      set_value(s.features[size_t(features[0])], res.axes[0], g0, &x[size_t(n * W)]);
      if (res.axes.size() == 2)
        set_value(s.features[size_t(features[1])], res.axes[1], g % res.axes[1].size(), &x[size_t(n * W)]);
    }
    Tensor out = m(Tensor::from_vector({N, W}, x, dtype));
    if (s.task == "classify") out = ops::softmax(out);
    const std::vector<double> v = out.to_vector_f64();
    const int64_t C = int64_t(v.size()) / N, first = binary ? 1 : 0;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) {
        const double f = v[size_t(n * C + first + k)] * (s.task == "regress" ? s.target_scale : 1) +
                         (s.task == "regress" ? s.target_mean : 0);
        res.average[size_t(k) * G + g] += f / double(N);
        if (o.ice) res.individual[(size_t(k * N + n)) * G + g] = f;
      }
  }
  if (o.centered && res.axes.size() == 1) {  // PD(v) - PD(v_0) is the mean of the centred ICE curves
    for (size_t c = 0; c < res.individual.size() / G; ++c)
      for (size_t g = G; g-- > 0;) res.individual[c * G + g] -= res.individual[c * G];
    for (size_t k = 0; k < res.outputs.size(); ++k)
      for (size_t g = G; g-- > 0;) res.average[k * G + g] -= res.average[k * G];
  }
  return res;
}

}  // namespace gt::xai
