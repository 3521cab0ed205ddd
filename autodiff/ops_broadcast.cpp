// Broadcasting, as NumPy does it: shapes are aligned at their last axis; along each axis the sizes
// are equal, or one of them is 1 (or missing) and that tensor repeats. expand and sum_to are each
// other's backward; the element-wise binary ops (ops_elementwise.cpp) read their inputs through the
// backend's broadcasting kernel (the strides of broadcast_geometry) and sum each gradient back over
// the repeated axes with sum_to_shape.
#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt {

Broadcast4 broadcast_geometry(const Shape& a, const Shape& b, const Shape& y) {
  Broadcast4 g{};
  const auto strides = [&](const Shape& x, int64_t* s) {
    int64_t step = 1;
    for (int i = 3; i >= 0; --i) {
      const int k = x.ndim() - (4 - i);  // x's axis aligned with y's axis i, or < 0
      const int64_t len = k >= 0 ? x[k] : 1;
      s[i] = len == 1 ? 0 : step;
      step *= len;
    }
  };
  for (int i = 0; i < 4; ++i) g.dims[i] = 4 - i <= y.ndim() ? y[y.ndim() - (4 - i)] : 1;
  strides(a, g.sa);
  strides(b, g.sb);
  return g;
}

namespace {
// s as 4 axes, with 1s in front: [3,5] -> [1,1,3,5].
std::array<int64_t, 4> as4(const Shape& s) {
  std::array<int64_t, 4> d{1, 1, 1, 1};
  for (int i = 0; i < s.ndim(); ++i) d[size_t(4 - s.ndim() + i)] = s[i];
  return d;
}

// x reshaped towards `to` one axis at a time (both as 4 axes): where the sizes differ, one is 1 and
// the backend's (outer, len, inner) kernel broadcasts that axis (1 -> len, expand) or sums it
// (len -> 1, the backward of a broadcast).
Tensor along_axes(const Tensor& x, const Shape& to) {
  auto cur = as4(x.shape());
  const auto want = as4(to);
  Tensor t = x;
  for (size_t a = 0; a < 4; ++a) {
    if (cur[a] == want[a]) continue;
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < a; ++i) outer *= cur[i];
    for (size_t i = a + 1; i < 4; ++i) inner *= cur[i];
    const int64_t len = std::max(cur[a], want[a]);
    const bool sum = cur[a] > want[a];
    cur[a] = want[a];
    Tensor y = Tensor::empty({cur[0], cur[1], cur[2], cur[3]}, t.dtype(), t.device());
    if (sum)
      detail::be(t).reduce_axis(t, outer, len, inner, 1.0, y);
    else
      detail::be(t).broadcast_axis(t, outer, len, inner, 1.0, y);
    t = y;
  }
  return t.view(to);
}
}  // namespace

Tensor detail::sum_to_shape(const Tensor& x, const Shape& to) { return along_axes(x, to); }

namespace ops {
using namespace detail;

namespace {

// Whether x's shape broadcasts to s: x has at most s's axes, each equal or 1.
bool broadcasts_to(const Shape& x, const Shape& s) {
  if (x.ndim() > s.ndim()) return false;
  for (int i = 1; i <= x.ndim(); ++i)
    if (x[x.ndim() - i] != 1 && x[x.ndim() - i] != s[s.ndim() - i]) return false;
  return true;
}

}  // namespace

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.ndim(), b.ndim());
  std::vector<int64_t> d(static_cast<size_t>(n), 1);
  for (int i = 1; i <= n; ++i) {
    const int64_t x = i <= a.ndim() ? a[a.ndim() - i] : 1, y = i <= b.ndim() ? b[b.ndim() - i] : 1;
    if (x != y && x != 1 && y != 1)
      fail(op, "shapes " + a.str() + " and " + b.str() + " do not broadcast (axis " + std::to_string(n - i) + ": " +
                   std::to_string(x) + " vs " + std::to_string(y) + ")");
    d[size_t(n - i)] = x == 1 ? y : x;
  }
  return Shape(d);
}

// x: S -> y: s, S broadcast to s;  dx = sum_to(dy, S)
Tensor expand(const Tensor& x, const Shape& s) {
  const char* op = "expand";
  defined(op, x, "x");
  check(broadcasts_to(x.shape(), s), op, "cannot expand " + x.shape().str() + " to " + s.str());
  if (x.shape() == s) return x;
  const Shape xs = x.shape();
  return record(op, {x}, along_axes(x, s), {}, [xs](BackwardContext& c) { c.set(0, along_axes(c.dy, xs)); });
}

// x: S -> y: s, summed over the axes where s is 1 (or missing);  dx = expand(dy, S)
Tensor sum_to(const Tensor& x, const Shape& s) {
  const char* op = "sum_to";
  defined(op, x, "x");
  check(broadcasts_to(s, x.shape()), op, "cannot sum " + x.shape().str() + " down to " + s.str());
  if (x.shape() == s) return x;
  const Shape xs = x.shape();
  return record(op, {x}, along_axes(x, s), {}, [xs](BackwardContext& c) { c.set(0, along_axes(c.dy, xs)); });
}

// A constant (1,K) row: 1 at k = index, 0 elsewhere. Made where it is used (a full tensor padded on
// its device): on a GPU an upload here would wait for every kernel queued before it.
Tensor one_hot(int64_t index, int64_t classes, DType t, Device d) {
  check(index >= 0 && index < classes, "one_hot",
        "index " + std::to_string(index) + " outside [0, " + std::to_string(classes) + ")");
  const Tensor one = Tensor::full({1, 1, 1, 1}, 1.0, t, d);
  return pad(one, Pads{0, 0, index, classes - 1 - index}).view({1, classes});
}

}  // namespace ops
}  // namespace gt
