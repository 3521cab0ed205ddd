#include "xai/saliency.h"

#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai {

Tensor class_score(const Tensor& logits, int64_t target) {
  if (logits.ndim() != 2 || logits.dim(0) != 1)
    throw Error("class_score: expected logits (1,K), got " + logits.shape().str());
  if (target < 0 || target >= logits.dim(1))
    throw Error("class_score: target " + std::to_string(target) + " outside [0, " + std::to_string(logits.dim(1)) + ")");
  std::vector<float> onehot(static_cast<size_t>(logits.dim(1)), 0.0f);
  onehot[static_cast<size_t>(target)] = 1.0f;
  return ops::sum(ops::mul(logits, Tensor::from_vector(logits.shape(), onehot, logits.dtype())));
}

Tensor saliency(const Model& model, const Tensor& x_in, int64_t target) {
  Tape tape;
  TapeGuard guard(tape);
  Tensor x = x_in.detach().set_requires_grad(true);
  return tape.grad(class_score(model(x), target), {x})[0];
}

std::vector<float> channel_map(const Tensor& a, ChannelReduce r) {
  if (a.ndim() != 4 || a.dim(0) != 1) throw Error("channel_map: expected (1,C,H,W), got " + a.shape().str());
  const int64_t C = a.dim(1), HW = a.dim(2) * a.dim(3);
  const std::vector<float> v = a.to_vector();
  std::vector<float> m(static_cast<size_t>(HW), 0.0f);
  for (int64_t i = 0; i < HW; ++i) {
    double acc = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double e = std::abs(v[c * HW + i]);
      if (r == ChannelReduce::max_abs) acc = std::max(acc, e);
      else if (r == ChannelReduce::mean_abs) acc += e / double(C);
      else acc += e * e;
    }
    m[i] = static_cast<float>(r == ChannelReduce::l2 ? std::sqrt(acc) : acc);
  }
  return m;
}

}  // namespace gt::xai
