// What LRP and DeepLIFT share: parts of tensors, and the transpose of a linear op with other weights.
// Internal to xai/.
#pragma once
#include <algorithm>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai::relevance {

inline Tensor positive_part(const Tensor& t) {
  return t.defined() ? ops::clamp(t, 0, std::numeric_limits<double>::infinity()) : t;
}
inline Tensor negative_part(const Tensor& t) {
  return t.defined() ? ops::clamp(t, -std::numeric_limits<double>::infinity(), 0) : t;
}
// a + b where either may be undefined (a layer without bias).
inline Tensor plus(const Tensor& a, const Tensor& b) { return !a.defined() ? b : !b.defined() ? a : ops::add(a, b); }

inline bool listed(const std::string& op, std::initializer_list<const char*> ops) {
  return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return op == o; });
}

// The gradient a node's own backward rule hands to input i for output gradient dy.
inline Tensor own_backward(const Node& n, const Tensor& dy, size_t i) {
  std::vector<Tensor> dx(n.inputs.size());
  std::vector<bool> need(dx.size(), false);
  need[i] = true;
  BackwardContext c(n, dy, need, dx);
  n.backward(c);
  return dx[i];
}

// z = f(x; w, b) for a linear op's form f with other weights, recorded on a tape of its own, so that
// J^T s (the transposed map with w) comes from the op's own backward. Holds a tape: not movable.
class LinearReplay {
 public:
  LinearReplay(const LinearForm& f, const Tensor& x, const Tensor& w, const Tensor& b) {
    TapeGuard guard(tape_);
    EnableGradGuard grad;
    x_ = x.detach().set_requires_grad(true);
    z = f.apply(x_, w, b);
  }
  LinearReplay(const LinearReplay&) = delete;
  LinearReplay& operator=(const LinearReplay&) = delete;
  Tensor z;
  // J^T s, shaped as x.
  Tensor transpose(const Tensor& s) {
    TapeGuard guard(tape_);
    return tape_.grad(z, {x_}, s, true)[0];
  }

 private:
  Tape tape_;
  Tensor x_;
};

}  // namespace gt::xai::relevance
