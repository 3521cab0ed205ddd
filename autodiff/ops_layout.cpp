// Layout ops (concat, pad, reshape, resize) and reductions.
#include <algorithm>
#include <numeric>

#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt::ops {
using namespace detail;

// xs[i]: (N,C_i,H,W) -> y: (N, sum C_i, H, W);  dx_i = dy[:, offset_i : offset_i + C_i]
Tensor concat_channels(const std::vector<Tensor>& xs) {
  const char* op = "concat_channels";
  check(!xs.empty(), op, "no inputs");
  const Tensor& x0 = xs[0];
  check(x0.defined() && x0.ndim() >= 2, op, "inputs must be (N,C,...)");
  std::vector<int64_t> dims(x0.ndim());
  for (int d = 0; d < x0.ndim(); ++d) dims[d] = x0.dim(d);
  dims[1] = 0;
  std::vector<int64_t> offsets;
  for (size_t i = 0; i < xs.size(); ++i) {
    same_kind(op, x0, xs[i], "input 0", ("input " + std::to_string(i)).c_str());
    bool ok = xs[i].ndim() == x0.ndim();
    for (int d = 0; ok && d < x0.ndim(); ++d) ok = d == 1 || xs[i].dim(d) == x0.dim(d);
    check(ok, op,
          "input " + std::to_string(i) + " " + xs[i].shape().str() + " does not match input 0 " + x0.shape().str() +
              " outside the channel axis");
    offsets.push_back(dims[1]);
    dims[1] += xs[i].dim(1);
  }
  Tensor y = empty_as(x0, Shape(dims));
  for (size_t i = 0; i < xs.size(); ++i) be(y).insert_channels(xs[i], offsets[i], y);
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) shapes.push_back(x.shape());
  return record(op, xs, y, {}, [offsets, shapes](BackwardContext& c) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (!c.needs(i)) continue;
      Tensor dx = empty_as(c.dy, shapes[i]);
      be(dx).extract_channels(c.dy, offsets[i], dx);
      c.set(i, dx);
    }
  });
}

// xs[i]: (..., L_i, ...) -> y: (..., sum L_i, ...) along `axis`; each viewed as (outer, L_i * inner)
// is concat_channels' (N, C_i) case, whose backward slices dy back.
Tensor concat(const std::vector<Tensor>& xs, int axis) {
  const char* op = "concat";
  check(!xs.empty(), op, "no inputs");
  defined(op, xs[0], "input 0");
  const int n = xs[0].ndim();
  check(axis >= 0 && axis < n, op, "axis " + std::to_string(axis) + " is outside " + xs[0].shape().str());
  std::vector<int64_t> dims(static_cast<size_t>(n));
  for (int d = 0; d < n; ++d) dims[size_t(d)] = xs[0].dim(d);
  dims[size_t(axis)] = 0;
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= dims[size_t(d)];
  std::vector<Tensor> rows;
  for (size_t i = 0; i < xs.size(); ++i) {
    defined(op, xs[i], "input");
    bool ok = xs[i].ndim() == n;
    for (int d = 0; ok && d < n; ++d) ok = d == axis || xs[i].dim(d) == xs[0].dim(d);
    check(ok, op,
          "input " + std::to_string(i) + " " + xs[i].shape().str() + " does not match input 0 " + xs[0].shape().str() +
              " outside axis " + std::to_string(axis));
    dims[size_t(axis)] += xs[i].dim(axis);
    rows.push_back(reshape(xs[i], {outer, xs[i].numel() / std::max<int64_t>(1, outer)}));
  }
  return reshape(concat_channels(rows), Shape(dims));
}

// x: (d_0, ..., d_n-1) -> y: (d_perm[0], ..., d_perm[n-1]), read with x's strides permuted
Tensor transpose(const Tensor& x, const std::vector<int>& perm) {
  const char* op = "transpose";
  defined(op, x, "x");
  const int n = x.ndim();
  std::vector<int> inverse(size_t(n), -1);
  for (size_t k = 0; k < perm.size() && perm.size() == size_t(n); ++k)
    if (perm[k] >= 0 && perm[k] < n && inverse[size_t(perm[k])] < 0) inverse[size_t(perm[k])] = int(k);
  check(perm.size() == size_t(n) && std::find(inverse.begin(), inverse.end(), -1) == inverse.end(), op,
        "the permutation is not one of the " + std::to_string(n) + " axes of " + x.shape().str());
  std::vector<int64_t> stride(static_cast<size_t>(n), 1), dims(static_cast<size_t>(n));
  for (int d = n - 2; d >= 0; --d) stride[size_t(d)] = stride[size_t(d + 1)] * x.dim(d + 1);
  Broadcast4 g{{1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
  for (int k = 0; k < n; ++k) {
    dims[size_t(k)] = x.dim(perm[size_t(k)]);
    g.dims[4 - n + k] = dims[size_t(k)];
    g.sa[4 - n + k] = stride[size_t(perm[size_t(k)])];
  }
  Tensor y = empty_as(x, Shape(dims));
  be(x).gather_strided(x, g, y);
  return record(op, {x}, y, {}, [inverse](BackwardContext& c) { c.set(0, transpose(c.dy, inverse)); });
}

// x: (N,C,H,W) -> y: (N,C,H+pt+pb,W+pl+pr);  dx = dy cropped
Tensor pad(const Tensor& x, const Pads& p, double value) {
  const char* op = "pad";
  rank(op, x, 4, "x");
  check(p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0, op, "padding must be >= 0");
  Tensor y = empty_as(x, {x.dim(0), x.dim(1), x.dim(2) + p.top + p.bottom, x.dim(3) + p.left + p.right});
  be(x).pad(x, p, value, y);
  const Shape xs = x.shape();
  return record(op, {x}, y, {}, [p, xs](BackwardContext& c) {
    Tensor dx = empty_as(c.dy, xs);
    be(dx).pad_backward(c.dy, p, dx);
    c.set(0, dx);
  });
}

// Same values, new shape;  dx = dy reshaped back
Tensor reshape(const Tensor& x, const Shape& s) {
  const char* op = "reshape";
  defined(op, x, "x");
  check(s.numel() == x.numel(), op, "cannot reshape " + x.shape().str() + " to " + s.str());
  const Shape xs = x.shape();
  return record(op, {x}, x.view(s), {}, [xs](BackwardContext& c) { c.set(0, c.dy.view(xs)); });
}

// x on one device -> y on d, same shape;  dx = dy copied back
Tensor to_device(const Tensor& x, Device d) {
  const char* op = "to_device";
  defined(op, x, "x");
  if (x.device() == d) return x;
  const Device from = x.device();
  return record(op, {x}, x.to(d), {}, [from](BackwardContext& c) { c.set(0, c.dy.to(from)); });
}

Tensor flatten(const Tensor& x) {
  defined("flatten", x, "x");
  check(x.ndim() >= 1, "flatten", "x has no batch dimension");
  if (x.ndim() == 2) return x;  // already flat: no node on the tape
  return reshape(x, {x.dim(0), x.numel() / std::max<int64_t>(1, x.dim(0))});
}

// x: (N,C,H,W) -> y: (N,C,out_h,out_w), bilinear with half-pixel centres; dx = the transposed map
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w) {
  const char* op = "resize_bilinear";
  rank(op, x, 4, "x");
  check(out_h >= 1 && out_w >= 1 && x.dim(2) >= 1 && x.dim(3) >= 1, op,
        "cannot resize " + x.shape().str() + " to " + std::to_string(out_h) + "x" + std::to_string(out_w));
  Tensor y = empty_as(x, {x.dim(0), x.dim(1), out_h, out_w});
  be(x).resize_bilinear(x, y);
  const Shape xs = x.shape();
  return record(op, {x}, y, {}, [xs](BackwardContext& c) {
    Tensor dx = empty_as(c.dy, xs);
    be(dx).resize_bilinear_backward(c.dy, dx);
    c.set(0, dx);
  });
}

namespace {
// y[o, i] = scale * sum_l x[o, l, i] over the axis `dim`; dx = scale * dy broadcast along it.
Tensor reduce(const char* op, const Tensor& x, int dim, bool all, bool average) {
  defined(op, x, "x");
  const Shape xs = x.shape();
  int64_t outer = 1, len = x.numel(), inner = 1;
  std::vector<int64_t> out{1};
  if (!all) {
    check(dim >= 0 && dim < x.ndim(), op, "dim " + std::to_string(dim) + " outside " + xs.str());
    out.clear();
    for (int d = 0; d < x.ndim(); ++d) {
      if (d < dim) outer *= xs[d];
      if (d > dim) inner *= xs[d];
      if (d != dim) out.push_back(xs[d]);
    }
    len = xs[dim];
    if (out.empty()) out.push_back(1);
  }
  check(len > 0, op, "reduction over an empty axis of " + xs.str());
  const double scale = average ? 1.0 / double(len) : 1.0;
  Tensor y = empty_as(x, Shape(out));
  be(x).reduce_axis(x, outer, len, inner, scale, y);
  return record(op, {x}, y, {}, [xs, outer, len, inner, scale](BackwardContext& c) {
    Tensor dx = empty_as(c.dy, xs);
    be(dx).broadcast_axis(c.dy, outer, len, inner, scale, dx);
    c.set(0, dx);
  });
}
}  // namespace

Tensor sum(const Tensor& x) { return reduce("sum", x, 0, true, false); }
Tensor mean(const Tensor& x) { return reduce("mean", x, 0, true, true); }
Tensor sum_dim(const Tensor& x, int dim) { return reduce("sum_dim", x, dim, false, false); }
Tensor mean_dim(const Tensor& x, int dim) { return reduce("mean_dim", x, dim, false, true); }

}  // namespace gt::ops
