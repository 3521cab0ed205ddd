// Element-wise ops. Unary ops keep the shape, x: S -> y: S; binary ops broadcast, a: A, b: B -> y:
// broadcast_shape(A, B) (ops_broadcast.cpp), and sum each gradient back to its input's shape.
#include <random>

#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt::ops {
using namespace detail;

namespace {
// u op v into a new tensor of their broadcast shape: the plain kernel when the shapes agree.
Tensor apply(Binary kind, const Tensor& u, const Tensor& v, const Shape& s) {
  Tensor y = empty_as(u, s);
  if (u.shape() == v.shape())
    be(u).binary(kind, u, v, y);
  else
    be(u).binary_broadcast(kind, u, v, y);
  return y;
}

// a: A, b: B -> y: S = broadcast_shape(A, B). Each gradient is summed back over the axes its input
// was repeated along (sum_to):
//   add: da = dy, db = dy;  sub: da = dy, db = -dy;  mul: da = dy b, db = dy a;
//   div: da = dy / b, db = -dy a / b^2 = -da y.
Tensor binary_op(const char* op, Binary kind, const Tensor& a, const Tensor& b) {
  same_kind(op, a, b, "a", "b");
  const Shape S = a.shape() == b.shape() ? a.shape() : broadcast_shape(a.shape(), b.shape(), op);
  Tensor y = apply(kind, a, b, S);
  std::vector<Tensor> saved;
  if (kind == Binary::mul) saved = {a, b};
  if (kind == Binary::div) saved = {b, y.detach()};
  const Shape A = a.shape(), B = b.shape();
  return record(op, {a, b}, y, std::move(saved), [kind, A, B](BackwardContext& c) {
    const Shape S = c.dy.shape();
    Tensor da, db;
    if (kind == Binary::add || kind == Binary::sub) {
      da = db = c.dy;
      if (kind == Binary::sub && c.needs(1)) {
        db = Tensor::empty_like(c.dy);
        be(db).affine(c.dy, -1.0, 0.0, db);
      }
    } else if (kind == Binary::mul) {
      if (c.needs(0)) da = apply(Binary::mul, c.dy, c.saved(1), S);
      if (c.needs(1)) db = apply(Binary::mul, c.dy, c.saved(0), S);
    } else {  // div
      da = apply(Binary::div, c.dy, c.saved(0), S);
      if (c.needs(1)) {
        db = apply(Binary::mul, da, c.saved(1), S);
        be(db).affine(db, -1.0, 0.0, db);
      }
    }
    if (c.needs(0)) c.set(0, sum_to_shape(da, A));  // a view of da itself where nothing was repeated
    if (c.needs(1)) c.set(1, sum_to_shape(db, B));
  });
}

// y = f(x) for a unary whose derivative is a function of y, or for abs of x (see
// kernels/cpu/elementwise.h).
Tensor unary_op(const char* op, Unary kind, const Tensor& x) {
  defined(op, x, "x");
  Tensor y = Tensor::empty_like(x);
  be(x).unary_forward(kind, x, y);
  // Only the values are saved (a detached handle), not their autograd state.
  return record(op, {x}, y, {kind == Unary::abs ? x.detach() : y.detach()}, [kind](BackwardContext& c) {
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
Tensor div(const Tensor& a, const Tensor& b) { return binary_op("div", Binary::div, a, b); }

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

// y = |x|;  dx = dy * sign(x) (0 at x = 0, as PyTorch). The only unary whose derivative needs x,
// not y: unary_op saves x for it, and the kernel's backward reads the sign from it.
Tensor abs(const Tensor& x) { return unary_op("abs", Unary::abs, x); }
Tensor exp(const Tensor& x) { return unary_op("exp", Unary::exp, x); }
Tensor step(const Tensor& x) { return unary_op("step", Unary::step, x); }

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

Tensor secant(const Tensor& a, const Tensor& y, const Tensor& y_ref, const Tensor& x, const Tensor& x_ref,
              const Tensor& fallback, double eps) {
  const char* op = "secant";
  for (const Tensor* t : {&a, &y, &y_ref, &x_ref, &fallback})
    if (t->defined() || (t != &a && t != &y_ref)) same_shape(op, x, *t, "x", "every other input");
  Tensor out = Tensor::empty_like(x);
  be(x).secant(a, y, y_ref, x, x_ref, fallback, eps, out);
  return out;
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
