#include "xai/counterfactual.h"

#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "nn/optim.h"

namespace gt::xai {
namespace {

// Probabilities of one image's logits (1,K).
std::vector<double> probabilities(const Tensor& logits) {
  NoGradGuard no_grad;
  return ops::softmax(logits.detach()).to_vector_f64();
}

// Per-element bound from a (1,C,1,1) or (1,C,H,W) range tensor, or +-inf when absent.
std::vector<double> bound(const Tensor& b, const Tensor& x, double none) {
  const int64_t C = x.dim(1), HW = x.dim(2) * x.dim(3);
  std::vector<double> out(size_t(C * HW), none);
  if (!b.defined()) return out;
  const std::vector<double> v = b.to_vector_f64();
  if (int64_t(v.size()) != C && int64_t(v.size()) != C * HW)
    throw Error("counterfactual: the input range " + b.shape().str() + " fits neither (1,C,1,1) nor " +
                x.shape().str());
  for (int64_t i = 0; i < C * HW; ++i) out[size_t(i)] = int64_t(v.size()) == C ? v[size_t(i / HW)] : v[size_t(i)];
  return out;
}

template <class T>
void clamp_to(T* x, const std::vector<double>& lo, const std::vector<double>& hi) {
  for (size_t i = 0; i < lo.size(); ++i) x[i] = T(std::clamp(double(x[i]), lo[i], hi[i]));
}

}  // namespace

CounterfactualResult counterfactual(const Model& model, const Tensor& x0, const CounterfactualOptions& o,
                                    const std::function<void(const CounterfactualStep&)>& on_step) {
  if (x0.ndim() != 4 || x0.dim(0) != 1)
    throw Error("counterfactual: expected one image (1,C,H,W), got " + x0.shape().str());
  if (o.optimizer != "adam" && o.optimizer != "sgd")
    throw Error("counterfactual: unknown optimizer '" + o.optimizer + "' (known: adam, sgd)");
  if (o.proximity != "l2" && o.proximity != "l1")
    throw Error("counterfactual: unknown proximity '" + o.proximity + "' (known: l1, l2)");
  const std::vector<double> lo = bound(o.lo, x0, -INFINITY), hi = bound(o.hi, x0, INFINITY);
  // The input itself is the parameter: Adam (Kingma & Ba 2015, PyTorch's defaults) or plain gradient
  // descent, the same optimisers that train networks (nn/optim.h). It stays on the host, wherever x0
  // and the model are, for the clamp to the valid range after each step.
  const Tensor x0h = x0.to(Device::cpu);
  Tensor x = x0h.clone();
  x.set_requires_grad(true);
  nn::OptimizerOptions oo;
  oo.kind = o.optimizer;
  oo.lr = o.lr;
  oo.momentum = 0.0;
  nn::Optimizer opt({{"input", &x}}, oo);
  int64_t original = -1;
  CounterfactualResult r;
  for (int step = 0;; ++step) {
    Tape tape;
    TapeGuard guard(tape);
    const Tensor logits = model(x);
    const std::vector<double> p = probabilities(logits);
    const int64_t top1 = std::max_element(p.begin(), p.end()) - p.begin();
    if (o.target < 0 || o.target >= int64_t(p.size()))
      throw Error("counterfactual: target " + std::to_string(o.target) + " is out of range: the model has classes 0.." +
                  std::to_string(p.size() - 1));
    if (original < 0) original = top1;
    const CounterfactualStep s{step, p[size_t(o.target)], p[size_t(original)], top1, p[size_t(top1)]};
    r.history.push_back(s);
    if (on_step) on_step(s);
    r.reached = s.p_target >= o.confidence;
    if (r.reached || step == o.steps) break;
    // loss = -log p_target + lambda d(x, x0)
    Tensor loss = ops::cross_entropy(logits, {int32_t(o.target)});
    if (o.lambda > 0) {
      const Tensor diff = ops::sub(x, x0h);
      const Tensor d = o.proximity == "l2" ? ops::mul(diff, diff) : ops::abs(diff);
      loss = ops::add(loss, ops::mul_scalar(ops::mean(d), o.lambda));
    }
    x.set_grad(tape.grad(loss, {x})[0]);
    opt.step();
    if (x.dtype() == DType::f64)
      clamp_to(x.data<double>(), lo, hi);  // stay a valid image
    else
      clamp_to(x.data<float>(), lo, hi);
  }
  r.input = x.detach();
  return r;
}

}  // namespace gt::xai
