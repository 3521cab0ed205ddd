#include "xai/ale.h"

#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai {
namespace {}  // namespace

double percentile(const std::vector<double>& s, double p) {
  const double pos = double(s.size() - 1) * (p / 100);
  if (pos >= double(s.size() - 1)) return s.back();
  const auto lo = size_t(std::floor(pos));
  const size_t hi = lo + 1;
  const double t = pos - double(lo);
  return t >= 0.5 ? s[hi] - (s[hi] - s[lo]) * (1 - t) : s[lo] + (s[hi] - s[lo]) * t;  // numpy's _lerp
}

namespace {

// The distinct values of num evenly spaced percentiles (alibi's get_quantiles + np.unique).
std::vector<double> quantile_grid(const std::vector<double>& sorted, int64_t num) {
  std::vector<double> q;
  const double step = num > 1 ? 100.0 / double(num - 1) : 0.0;  // numpy's linspace(0, 100, num)
  for (int64_t i = 0; i < num; ++i) q.push_back(percentile(sorted, i == num - 1 && num > 1 ? 100.0 : double(i) * step));
  std::sort(q.begin(), q.end());
  q.erase(std::unique(q.begin(), q.end()), q.end());
  return q;
}

// Interval of each value: searchsorted(grid, v, left), 0 put into 1.
std::vector<size_t> intervals(const std::vector<double>& grid, const std::vector<double>& v) {
  std::vector<size_t> idx;
  for (double x : v)
    idx.push_back(std::max<size_t>(1, size_t(std::lower_bound(grid.begin(), grid.end(), x) - grid.begin())));
  return idx;
}

// alibi's adaptive grid: the most quantiles whose intervals each hold more than min_points values
// (found by bisection, as alibi's bisect_fun, assuming it is monotone).
std::vector<double> adaptive_grid(const std::vector<double>& v, int min_points) {
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const auto satisfied = [&](int64_t n) {
    const std::vector<double> q = quantile_grid(sorted, n);
    std::vector<int64_t> count(q.size() + 1, 0);
    size_t top = 0;
    for (size_t i : intervals(q, v)) ++count[i], top = std::max(top, i);
    for (size_t k = 1; k <= top; ++k)
      if (count[k] <= min_points) return false;
    return true;
  };
  int64_t lo = 0, hi = int64_t(v.size());
  while (lo < hi) {  // the first n whose minimum is not satisfied
    const int64_t mid = (lo + hi) / 2;
    if (satisfied(mid))
      lo = mid + 1;
    else
      hi = mid;
  }
  return quantile_grid(sorted, lo - 1);
}

}  // namespace

AleResult ale(nn::Model& m, const TableRows& r, int64_t feature, const AleOptions& o) {
  const data::TableSchema& s = *r.schema;
  const data::TableColumn& f = s.features.at(size_t(feature));
  if (f.categorical)
    throw InvalidArgument("ALE is defined for numeric features; " + f.name + " is categorical (see pdp)");
  const int64_t N = r.rows(), W = s.width();
  std::vector<double> v;
  const auto F = int64_t(s.features.size());
  for (int64_t n = 0; n < N; ++n) v.push_back(r.values[size_t(n * F + feature)]);  // (exact, not decoded)
  std::vector<double> uniques = v;
  std::sort(uniques.begin(), uniques.end());
  uniques.erase(std::unique(uniques.begin(), uniques.end()), uniques.end());
  AleResult res;
  res.grid = int64_t(uniques.size()) <= o.low_resolution_threshold ? uniques : adaptive_grid(v, o.min_bin_points);
  if (res.grid.size() == 1) {  // a constant feature: a small interval around it (alibi's extrapolation)
    const double d = std::max(res.grid[0] * 0.1, 0.1);
    res.grid = {res.grid[0] - d, res.grid[0] + d};
  }
  const std::vector<size_t> idx = intervals(res.grid, v);
  // every row at its interval's lower and upper end, in one batch of 2N
  std::vector<double> z(size_t(2 * N * W));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t e = 0; e < 2; ++e) {
      std::copy_n(r.x.begin() + n * W, W, z.begin() + (2 * n + e) * W);
      z[size_t((2 * n + e) * W + f.offset)] = (res.grid[idx[size_t(n)] - 1 + size_t(e)] - f.mean) / f.scale;
    }
  const DType dtype = model_dtype(m);
  std::vector<double> p;
  {
    NoGradGuard no_grad;
    Tensor out = m(Tensor::from_vector({2 * N, W}, z, dtype));
    p = (s.task == "classify" ? ops::softmax(out) : out).to_vector_f64();
  }
  const auto K = p.size() / size_t(2 * N);
  const double scale = s.task == "regress" ? s.target_scale : 1.0;  // (the mean cancels in differences)
  if (s.task == "regress")
    res.outputs = {s.target};
  else
    for (const auto& c : s.classes) res.outputs.push_back("p(" + c + ")");
  const size_t G = res.grid.size();
  std::vector<double> sum(G * K, 0.0), count(G, 0.0);  // per interval k (1..G-1)
  for (int64_t n = 0; n < N; ++n) {
    const size_t k = idx[size_t(n)];
    count[k] += 1;
    for (size_t c = 0; c < K; ++c) sum[k * K + c] += (p[size_t(2 * n + 1) * K + c] - p[size_t(2 * n) * K + c]) * scale;
  }
  res.ale.assign(G * K, 0.0);  // accumulated mean differences; z_0 starts at 0
  for (size_t k = 1; k < G; ++k)
    for (size_t c = 0; c < K; ++c)
      res.ale[k * K + c] = res.ale[(k - 1) * K + c] + (count[k] > 0 ? sum[k * K + c] / count[k] : 0.0);
  res.ale0.assign(K, 0.0);  // centring: the mean over rows of the interval midpoints' values
  for (size_t k = 1; k < G; ++k)
    for (size_t c = 0; c < K; ++c)
      res.ale0[c] += 0.5 * (res.ale[(k - 1) * K + c] + res.ale[k * K + c]) * count[k] / double(N);
  for (size_t k = 0; k < G; ++k)
    for (size_t c = 0; c < K; ++c) res.ale[k * K + c] -= res.ale0[c];
  return res;
}

}  // namespace gt::xai
