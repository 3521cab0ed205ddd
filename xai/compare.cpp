#include "xai/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "autodiff/tensor.h"

namespace gt::xai {
namespace {

// corr(x, y) = sum (x - mx)(y - my) / sqrt(sum (x - mx)^2 sum (y - my)^2), in double.
template <class A, class B>
double correlation(const A& x, const B& y) {
  const double n = double(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = double(x[i]) - mx, dy = double(y[i]) - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

// The k highest pixels: by value, ties by index (a stable sort of the descending order).
std::vector<char> top(const std::vector<float>& v, size_t k) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] > v[j]; });
  std::vector<char> in(v.size(), 0);
  for (size_t q = 0; q < k; ++q) in[order[q]] = 1;
  return in;
}

}  // namespace

std::vector<double> ranks(const std::vector<float>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
  std::vector<double> r(v.size());
  for (size_t lo = 0; lo < order.size();) {
    size_t hi = lo + 1;  // [lo, hi): one run of equal values, ranks lo+1 .. hi, mean (lo + 1 + hi) / 2
    while (hi < order.size() && v[order[hi]] == v[order[lo]]) ++hi;
    for (size_t q = lo; q < hi; ++q) r[order[q]] = 0.5 * double(lo + 1 + hi);
    lo = hi;
  }
  return r;
}

MapAgreement compare_maps(const std::vector<float>& a, const std::vector<float>& b, double top_fraction) {
  if (a.size() != b.size())
    throw Error("compare_maps: the maps have " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                " pixels");
  if (a.size() < 2) throw Error("compare_maps: a map needs at least 2 pixels");
  if (!(top_fraction > 0 && top_fraction <= 1))
    throw Error("compare_maps: the top fraction must be in (0, 1], got " + std::to_string(top_fraction));
  for (const auto* m : {&a, &b})
    for (float x : *m)
      if (!std::isfinite(x)) throw Error("compare_maps: a map holds NaN or Inf");
  MapAgreement r;
  r.spearman = correlation(ranks(a), ranks(b));
  r.pearson = correlation(a, b);
  const size_t k = std::max<size_t>(1, size_t(std::ceil(top_fraction * double(a.size()) - 1e-9)));
  const std::vector<char> ta = top(a, k), tb = top(b, k);
  size_t both = 0;
  for (size_t i = 0; i < a.size(); ++i) both += size_t(ta[i] && tb[i]);
  r.top_iou = double(both) / double(2 * k - both);
  return r;
}

}  // namespace gt::xai
