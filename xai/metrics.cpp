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
    throw Error("faithfulness: the map has " + std::to_string(map.size()) + " values for " + std::to_string(HW) + " pixels");
  if (o.steps < 1 || o.batch < 1) throw Error("faithfulness: steps and batch must be at least 1");
  const std::vector<int64_t> order = importance_order(map);
  const std::vector<double> a = from.to_vector_f64(), b = to.to_vector_f64();
  Curve c;
  NoGradGuard no_grad;
  for (int k0 = 0; k0 <= o.steps; k0 += o.batch) {
    const int n = std::min(o.batch, o.steps + 1 - k0);
    std::vector<double> imgs;
    imgs.reserve(size_t(n * C * HW));
    for (int j = 0; j < n; ++j) {
      std::vector<double> img = a;
      const int64_t count = ((k0 + j) * HW + o.steps - 1) / o.steps;
      for (int64_t q = 0; q < count; ++q)
        for (int64_t ch = 0; ch < C; ++ch) img[size_t(ch * HW + order[size_t(q)])] = b[size_t(ch * HW + order[size_t(q)])];
      imgs.insert(imgs.end(), img.begin(), img.end());
    }
    const Tensor batch = Tensor::from_vector({n, C, from.dim(2), from.dim(3)}, imgs, from.dtype());
    const std::vector<double> p = ops::softmax(model(batch)).to_vector_f64();
    const int64_t K = int64_t(p.size()) / n;
    if (target < 0 || target >= K) throw Error("faithfulness: target " + std::to_string(target) + " is out of range");
    for (int j = 0; j < n; ++j) {
      c.fraction.push_back(double(k0 + j) / o.steps);
      c.prob.push_back(p[size_t(j * K + target)]);
    }
  }
  for (size_t k = 1; k < c.prob.size(); ++k) c.auc += 0.5 * (c.prob[k] + c.prob[k - 1]) * (c.fraction[k] - c.fraction[k - 1]);
  return c;
}

}  // namespace

std::vector<int64_t> importance_order(const std::vector<float>& map) {
  std::vector<int64_t> order(map.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return map[size_t(a)] > map[size_t(b)]; });
  return order;
}

Curve deletion(const Model& model, const Tensor& x, const Tensor& baseline, const std::vector<float>& map,
               int64_t target, const FaithfulnessOptions& o) {
  return sweep(model, x, baseline, map, target, o);
}

Curve insertion(const Model& model, const Tensor& x, const Tensor& baseline, const std::vector<float>& map,
                int64_t target, const FaithfulnessOptions& o) {
  return sweep(model, baseline, x, map, target, o);
}

}  // namespace gt::xai
