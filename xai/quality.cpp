#include "xai/quality.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai::quality {

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = [] {
    std::vector<Metric> m;
    for (auto family : {faithfulness_metrics, complexity_metrics, localisation_metrics})
      for (Metric& e : family()) m.push_back(std::move(e));
    return m;
  }();
  return all;
}

const Metric& find(const std::string& name) {
  for (const Metric& m : metrics())
    if (m.name == name) return m;
  std::string known;
  for (const Metric& m : metrics()) known += (known.empty() ? "" : ", ") + m.name;
  throw InvalidArgument("unknown metric '" + name + "' (known: " + known + ")");
}

std::vector<double> prepare(const std::vector<float>& map, bool abs, bool normalise) {
  std::vector<double> a(map.begin(), map.end());
  if (abs)
    for (double& v : a) v = std::fabs(v);
  if (normalise) {
    double m = 0;
    for (double v : a) m = std::max(m, std::fabs(v));
    if (m > 0)
      for (double& v : a) v /= m;
  }
  return a;
}

std::vector<int64_t> descending(const std::vector<double>& a) {
  std::vector<int64_t> order(a.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[size_t(i)] > a[size_t(j)]; });
  return order;
}

std::vector<double> class_scores(const Subject& s, const Tensor& x, int64_t t, bool softmax) {
  NoGradGuard no_grad;
  Tensor y = s.fn(x);
  if (softmax) y = ops::softmax(y);
  const std::vector<double> v = y.to_vector_f64();
  const int64_t K = y.dim(1);
  if (t < 0 || t >= K) throw Error("metric: target " + std::to_string(t) + " is out of range");
  std::vector<double> out;
  for (int64_t n = 0; n < y.dim(0); ++n) out.push_back(v[size_t(n * K + t)]);
  return out;
}

}  // namespace gt::xai::quality
