#include "xai/metrics.h"

#include <algorithm>
#include <numeric>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai {
namespace {

// Image k of the curve shows `to` at the first ceil(k/steps * HW) pixels of `order` and `from` elsewhere.
Curve sweep(const Model& model, const Tensor& from, const Tensor& to, const std::vector<float>& map, int64_t target,
            const FaithfulnessOptions& o) {
  if (from.ndim() != 4 || from.dim(0) != 1 || to.shape() != from.shape())
    throw Error("faithfulness: expected an image and a baseline of one shape (1,C,H,W), got " + from.shape().str() +
                " and " + to.shape().str());
  const int64_t C = from.dim(1), HW = from.dim(2) * from.dim(3);
  if (int64_t(map.size()) != HW)
    throw Error("faithfulness: the map has " + std::to_string(map.size()) + " values for " + std::to_string(HW) +
                " pixels");
  if (o.steps < 1 || o.batch < 1) throw Error("faithfulness: steps and batch must be at least 1");
  const std::vector<int64_t> order = importance_order(map);
  const std::vector<double> a = from.to_vector_f64(), b = to.to_vector_f64();
  Curve c;
  score_copies(
      model, from, o.steps + 1, o.batch,
      [&](int64_t k, double* img) {
        std::copy(a.begin(), a.end(), img);
        const int64_t count = (k * HW + o.steps - 1) / o.steps;
        for (int64_t q = 0; q < count; ++q)
          for (int64_t ch = 0; ch < C; ++ch) img[ch * HW + order[size_t(q)]] = b[size_t(ch * HW + order[size_t(q)])];
      },
      [&](int64_t k0, const Tensor& logits) {
        const std::vector<double> p = ops::softmax(logits).to_vector_f64();
        const int64_t n = logits.dim(0), K = logits.dim(1);
        if (target < 0 || target >= K)
          throw Error("faithfulness: target " + std::to_string(target) + " is out of range");
        for (int64_t j = 0; j < n; ++j) {
          c.fraction.push_back(double(k0 + j) / o.steps);
          c.prob.push_back(p[size_t(j * K + target)]);
        }
      });
  for (size_t k = 1; k < c.prob.size(); ++k)
    c.auc += 0.5 * (c.prob[k] + c.prob[k - 1]) * (c.fraction[k] - c.fraction[k - 1]);
  return c;
}

}  // namespace

template <class T>
std::vector<int64_t> descending_order(const std::vector<T>& map) {
  std::vector<int64_t> order(map.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return map[size_t(a)] > map[size_t(b)]; });
  return order;
}

std::vector<int64_t> importance_order(const std::vector<float>& map) { return descending_order(map); }
std::vector<int64_t> importance_order(const std::vector<double>& map) { return descending_order(map); }

Curve deletion(const Model& model, const Tensor& x, const Tensor& baseline, const std::vector<float>& map,
               int64_t target, const FaithfulnessOptions& o) {
  return sweep(model, x, baseline, map, target, o);
}

Curve insertion(const Model& model, const Tensor& x, const Tensor& baseline, const std::vector<float>& map,
                int64_t target, const FaithfulnessOptions& o) {
  return sweep(model, baseline, x, map, target, o);
}

}  // namespace gt::xai
