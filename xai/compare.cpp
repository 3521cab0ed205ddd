#include "xai/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "autodiff/tensor.h"
#include "xai/metrics.h"

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

// What the pairs need of one map, from its one sort: its ranks and its top k pixels.
struct Sorted {
  const std::vector<float>* values;
  std::vector<double> ranks;
  std::vector<char> top;  // 1 for the k highest pixels
};

// 1-based ascending ranks of v, tied values at their mean rank, from v's descending order.
template <class T>
std::vector<double> tied_ranks(const std::vector<T>& v, const std::vector<int64_t>& order) {
  std::vector<double> r(v.size());
  const size_t n = v.size();
  for (size_t lo = 0; lo < n;) {
    size_t hi = lo + 1;  // [lo, hi): one run of equal values, ascending ranks n - hi + 1 .. n - lo: their mean
    while (hi < n && v[size_t(order[hi])] == v[size_t(order[lo])]) ++hi;
    for (size_t p = lo; p < hi; ++p) r[size_t(order[p])] = 0.5 * double(2 * n + 1 - lo - hi);
    lo = hi;
  }
  return r;
}

Sorted sort_map(const std::vector<float>& v, size_t k) {
  for (float x : v)
    if (!std::isfinite(x)) throw Error("compare_maps: a map holds NaN or Inf");
  const std::vector<int64_t> order = importance_order(v);  // descending: position p has ascending rank n - p
  Sorted s{&v, tied_ranks(v, order), std::vector<char>(v.size(), 0)};
  for (size_t p = 0; p < k; ++p) s.top[size_t(order[p])] = 1;
  return s;
}

MapAgreement agreement(const Sorted& a, const Sorted& b, size_t k) {
  MapAgreement r;
  r.spearman = correlation(a.ranks, b.ranks);
  r.pearson = correlation(*a.values, *b.values);
  size_t both = 0;
  for (size_t i = 0; i < a.top.size(); ++i) both += size_t(a.top[i] && b.top[i]);
  r.top_iou = double(both) / double(2 * k - both);
  return r;
}

}  // namespace

std::vector<double> ranks(const std::vector<float>& v) { return sort_map(v, 0).ranks; }

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) throw Error("pearson: needs two series of one length (at least 2)");
  return correlation(x, y);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  for (const auto* v : {&x, &y})
    for (double e : *v)
      if (std::isnan(e)) return std::numeric_limits<double>::quiet_NaN();
  return pearson(tied_ranks(x, importance_order(x)), tied_ranks(y, importance_order(y)));
}

std::vector<MapAgreement> compare_all(const std::vector<std::vector<float>>& maps, double top_fraction) {
  if (maps.empty()) return {};
  const size_t pixels = maps[0].size(), n = maps.size();
  for (const auto& m : maps)
    if (m.size() != pixels)
      throw Error("compare_maps: the maps have " + std::to_string(pixels) + " and " + std::to_string(m.size()) +
                  " pixels");
  if (pixels < 2) throw Error("compare_maps: a map needs at least 2 pixels");
  if (!(top_fraction > 0 && top_fraction <= 1))
    throw Error("compare_maps: the top fraction must be in (0, 1], got " + std::to_string(top_fraction));
  const size_t k = std::max<size_t>(1, size_t(std::ceil(top_fraction * double(pixels) - 1e-9)));
  std::vector<Sorted> sorted;
  for (const auto& m : maps) sorted.push_back(sort_map(m, k));
  std::vector<MapAgreement> r(n * n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j) r[i * n + j] = r[j * n + i] = agreement(sorted[i], sorted[j], k);
  return r;
}

MapAgreement compare_maps(const std::vector<float>& a, const std::vector<float>& b, double top_fraction) {
  return compare_all({a, b}, top_fraction)[1];
}

}  // namespace gt::xai
