// Element-wise ops. All shapes are preserved: x: S -> y: S.
#include <random>

#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt::ops {
using namespace detail;

namespace {
Tensor binary_op(const char* op, Binary kind, const Tensor& a, const Tensor& b) {
  same_shape(op, a, b, "a", "b");
  Tensor y = Tensor::empty_like(a);
  be(a).binary(kind, a, b, y);
  // add: da = dy, db = dy;  sub: da = dy, db = -dy;  mul: da = dy*b, db = dy*a
  std::vector<Tensor> saved;
  if (kind == Binary::mul) saved = {a, b};
  return record(op, {a, b}, y, std::move(saved), [kind](BackwardContext& c) {
    for (size_t i = 0; i < 2; ++i) {
      if (!c.needs(i)) continue;
      if (kind == Binary::add || (kind == Binary::sub && i == 0)) {
        c.set(i, c.dy);
      } else {
        Tensor d = Tensor::empty_like(c.dy);
        if (kind == Binary::sub) be(d).affine(c.dy, -1.0, 0.0, d);
        else be(d).binary(Binary::mul, c.dy, c.saved(1 - i), d);
        c.set(i, d);
      }
    }
  });
}

// y = f(x) for a unary whose derivative is a function of y (see kernels/cpu/elementwise.h).
Tensor unary_op(const char* op, Unary kind, const Tensor& x) {
  defined(op, x, "x");
  Tensor y = Tensor::empty_like(x);
  be(x).unary_forward(kind, x, y);
  // Only y's values are saved (a detached handle), not its autograd state.
  return record(op, {x}, y, {y.detach()}, [kind](BackwardContext& c) {
    Tensor dx = Tensor::empty_like(c.dy);
    be(dx).unary_backward(kind, c.saved(0), c.dy, dx);
    c.set(0, dx);
  });
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op("add", Binary::add, a, b); }

// y = relu(a + b) in one pass (a residual block's end);  da = db = dy * [y > 0]
Tensor add_relu(const Tensor& a, const Tensor& b) {
  const char* op = "add_relu";
  same_shape(op, a, b, "a", "b");
  Tensor y = Tensor::empty_like(a);
  be(a).binary(Binary::add_relu, a, b, y);
  return record(op, {a, b}, y, {y.detach()}, [](BackwardContext& c) {
    Tensor d = Tensor::empty_like(c.dy);
    be(d).unary_backward(Unary::relu, c.saved(0), c.dy, d);
    for (size_t i = 0; i < 2; ++i)
      if (c.needs(i)) c.set(i, d);
  });
}
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op("sub", Binary::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op("mul", Binary::mul, a, b); }

// y = x + s;  dx = dy
Tensor add_scalar(const Tensor& x, double s) {
  defined("add_scalar", x, "x");
  Tensor y = Tensor::empty_like(x);
  be(x).affine(x, 1.0, s, y);
  return record("add_scalar", {x}, y, {}, [](BackwardContext& c) { c.set(0, c.dy); });
}

// y = s * x;  dx = s * dy
Tensor mul_scalar(const Tensor& x, double s) {
  defined("mul_scalar", x, "x");
  Tensor y = Tensor::empty_like(x);
  be(x).affine(x, s, 0.0, y);
  return record("mul_scalar", {x}, y, {}, [s](BackwardContext& c) {
    Tensor dx = Tensor::empty_like(c.dy);
    be(dx).affine(c.dy, s, 0.0, dx);
    c.set(0, dx);
  });
}

Tensor relu(const Tensor& x) { return unary_op("relu", Unary::relu, x); }
Tensor relu6(const Tensor& x) { return unary_op("relu6", Unary::relu6, x); }
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", Unary::sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", Unary::tanh, x); }
Tensor rsqrt(const Tensor& x) { return unary_op("rsqrt", Unary::rsqrt, x); }

// y = min(max(x, lo), hi);  dx = dy * [lo <= x <= hi]
Tensor clamp(const Tensor& x, double lo, double hi) {
  const char* op = "clamp";
  defined(op, x, "x");
  check(lo <= hi, op, "lo " + std::to_string(lo) + " > hi " + std::to_string(hi));
  Tensor y = Tensor::empty_like(x);
  be(x).clamp_forward(x, lo, hi, y);
  return record(op, {x}, y, {x}, [lo, hi](BackwardContext& c) {
    Tensor dx = Tensor::empty_like(c.dy);
    be(dx).clamp_backward(c.saved(0), lo, hi, c.dy, dx);
    c.set(0, dx);
  });
}

// y = x * m,  m = [u >= p] / (1-p) with u ~ U(0,1) from seed;  dx = dy * m
Tensor dropout(const Tensor& x, double p, uint64_t seed, bool training) {
  const char* op = "dropout";
  defined(op, x, "x");
  check(p >= 0.0 && p < 1.0, op, "p must lie in [0, 1), got " + std::to_string(p));
  if (!training || p == 0.0) return x;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> m(static_cast<size_t>(x.numel()));
  for (auto& v : m) v = u(rng) >= p ? 1.0 / (1.0 - p) : 0.0;
  Tensor mask = Tensor::from_vector(x.shape(), m, x.dtype()).to(x.device());
  Tensor y = Tensor::empty_like(x);
  be(x).binary(Binary::mul, x, mask, y);
  return record(op, {x}, y, {mask}, [](BackwardContext& c) {
    Tensor dx = Tensor::empty_like(c.dy);
    be(dx).binary(Binary::mul, c.dy, c.saved(0), dx);
    c.set(0, dx);
  });
}

}  // namespace gt::ops
