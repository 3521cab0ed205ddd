// Linear maps: convolution, dense layers, matrix products and bias.
#include <algorithm>

#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt::ops {
using namespace detail;

namespace {
// A weight gradient needs the forward input; it is saved only when the weight wanted a gradient at
// forward time, so frozen models (saliency on VGG16) never keep it alive for that reason.
const Tensor& saved_input_for_weight_grad(BackwardContext& c, size_t i) {
  const Tensor& t = c.saved(i);
  if (!t.defined())
    throw Error(
        "backward of " + c.node.op + " [" + c.node.layer +
        "]: a weight gradient was requested, but the weight did not require a gradient during the forward pass");
  return t;
}
}  // namespace

std::pair<int64_t, int64_t> same_padding(int64_t in, int64_t k, int64_t stride, int64_t dilation) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + (k - 1) * dilation + 1 - in, 0);
  return {total / 2, total - total / 2};
}

// x: (N,C,H,W), w: (O,C/groups,kh,kw), b: (O) or none -> y: (N,O,Ho,Wo)
//   y[n,o] = b[o] + sum_{c in group(o), i, j} w[o,c,i,j] * x[n, c, oy*sh - pt + i*dh, ox*sw - pl + j*dw]
//   dx = conv_transpose(dy, w),  dw[o,c,i,j] = sum_n,oy,ox dy[n,o,oy,ox] * x[n,c,...],  db[o] = sum dy[:,o]
namespace {
// Checks x and w against the options and derives the output size.
ConvGeom conv_geometry(const char* op, const Tensor& x, const Tensor& w, const Conv2dOptions& o) {
  rank(op, x, 4, "x");
  rank(op, w, 4, "w");
  same_kind(op, x, w, "x", "w");
  ConvGeom g;
  g.N = x.dim(0), g.C = x.dim(1), g.H = x.dim(2), g.W = x.dim(3);
  g.O = w.dim(0), g.kh = w.dim(2), g.kw = w.dim(3);
  g.sh = o.stride_h, g.sw = o.stride_w, g.dh = o.dilation_h, g.dw = o.dilation_w;
  g.pt = o.pad.top, g.pb = o.pad.bottom, g.pl = o.pad.left, g.pr = o.pad.right;
  g.groups = o.groups;
  const std::string shapes = " (x " + x.shape().str() + ", w " + w.shape().str() + ")";
  check(g.groups >= 1 && g.C % g.groups == 0 && g.O % g.groups == 0, op,
        "groups=" + std::to_string(g.groups) + " must divide the input and output channels" + shapes);
  check(w.dim(1) == g.C / g.groups, op,
        "x has " + std::to_string(g.C) + " channels in " + std::to_string(g.groups) + " group(s), so w needs " +
            std::to_string(g.C / g.groups) + " input channels" + shapes);
  check(g.sh >= 1 && g.sw >= 1 && g.dh >= 1 && g.dw >= 1, op, "stride and dilation must be >= 1");
  check(g.pt >= 0 && g.pb >= 0 && g.pl >= 0 && g.pr >= 0, op, "padding must be >= 0");
  check(g.kh >= 1 && g.kw >= 1, op, "empty kernel" + shapes);
  check(g.H + g.pt + g.pb >= g.dh * (g.kh - 1) + 1 && g.W + g.pl + g.pr >= g.dw * (g.kw - 1) + 1, op,
        "the (dilated) kernel is larger than the padded input" + shapes);
  g.finish();
  return g;
}

// A per-output-channel vector (bias, scale): undefined, or (O) of x's kind.
void channel_vector(const char* op, const Tensor& x, const Tensor& v, const char* name, const ConvGeom& g) {
  if (!v.defined()) return;
  same_kind(op, x, v, "x", name);
  check(v.shape() == Shape{g.O}, op,
        std::string(name) + " " + v.shape().str() + " does not match the " + std::to_string(g.O) +
            " output channels (x " + x.shape().str() + ")");
}

// A conv's map for LinearForm::apply: conv2d with the same geometry and other weights.
std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)> conv_map(const Conv2dOptions& o) {
  return [o](const Tensor& x, const Tensor& w, const Tensor& b) { return conv2d(x, w, o, b); };
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dOptions& o, const Tensor& b) {
  const char* op = "conv2d";
  const ConvGeom g = conv_geometry(op, x, w, o);
  channel_vector(op, x, b, "bias", g);
  Tensor y = empty_as(x, {g.N, g.O, g.Ho, g.Wo});
  be(x).conv2d_forward(g, x, w, b, y);
  std::vector<Tensor> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  const auto form = [&] {
    return LinearForm{w.detach(), b.defined() ? b.detach() : Tensor(), Act::none, false, conv_map(o)};
  };
  return record(
      op, inputs, y, {w.requires_grad() ? x : Tensor(), w},
      [g](BackwardContext& c) {
        const Tensor& w = c.saved(1);
        if (c.needs(0)) {
          Tensor dx = empty_as(w, {g.N, g.C, g.H, g.W});
          be(w).conv2d_backward_data(g, c.dy, w, dx);
          c.set(0, dx);
        }
        if (c.needs(1)) {
          Tensor dw = empty_as(w, w.shape());
          be(w).conv2d_backward_weight(g, saved_input_for_weight_grad(c, 0), c.dy, dw);
          c.set(1, dw);
        }
        if (c.node.inputs.size() > 2 && c.needs(2)) {
          Tensor db = empty_as(w, {g.O});
          be(w).bias_grad(c.dy, db);
          c.set(2, db);
        }
      },
      form);
}

// The inference form of conv -> batch norm -> activation, as one node. Frozen parameters only.
// x: (N,C,H,W), w: (O,C/groups,kh,kw), scale, shift: (O) or none -> y: (N,O,Ho,Wo)
//   y = act(scale[o] * conv(x, w)[o] + shift[o])
//   dx = conv_transpose(dz, w),  dz = dy * act'(y) * scale[o]     (act' from y: relu y > 0, relu6 0 < y < 6)
// With a residual r (shaped as y; a residual block's shortcut, op "conv2d_affine_add"), act none or relu:
//   y = act(scale[o] * conv(x, w)[o] + shift[o] + r),   dr = dy * act'(y),   dx = conv_transpose(dr * scale, w)
// Only y is kept for the backward; the conv's and the batch norm's outputs are never stored.
Tensor conv2d_affine(const Tensor& x, const Tensor& w, const Tensor& scale, const Tensor& shift, Act act,
                     const Conv2dOptions& o, const Tensor& residual) {
  const bool add = residual.defined();
  const char* op = add ? "conv2d_affine_add" : "conv2d_affine";
  const ConvGeom g = conv_geometry(op, x, w, o);
  channel_vector(op, x, scale, "scale", g);
  channel_vector(op, x, shift, "shift", g);
  check(!w.requires_grad() && !scale.requires_grad() && !shift.requires_grad(), op,
        "the weight, scale and shift must not require a gradient (fused only for frozen layers)");
  if (add) {
    same_kind(op, x, residual, "x", "residual");
    check(residual.shape() == Shape{g.N, g.O, g.Ho, g.Wo}, op,
          "residual " + residual.shape().str() + " does not match the output " + Shape{g.N, g.O, g.Ho, g.Wo}.str());
    check(act != Act::relu6, op, "a residual takes act none or relu");
  }
  Tensor y = empty_as(x, {g.N, g.O, g.Ho, g.Wo});
  be(x).conv2d_forward(g, x, w, shift, y, scale, act, residual);
  std::vector<Tensor> inputs{x};
  if (add) inputs.push_back(residual);
  const auto form = [&] {
    NoGradGuard no_grad;  // the folded weight w * scale[o]: the batch norm canonized into the conv
    const Tensor wf = scale.defined() ? ops::mul(w, ops::reshape(scale, {g.O, 1, 1, 1})) : w.detach();
    return LinearForm{wf, shift.defined() ? shift.detach() : Tensor(), act, add, conv_map(o)};
  };
  return record(
      op, inputs, y, {w, scale, y.detach()},
      [g, act, add](BackwardContext& c) {
        const Tensor &w = c.saved(0), &scale = c.saved(1), &y = c.saved(2);
        Tensor dz = c.dy, wz = w;
        if (act != Act::none) {  // with a residual, the scale goes into the weights below: dr has none
          dz = Tensor::empty_like(c.dy);
          be(w).conv2d_epilogue_backward(c.dy, y, add ? Tensor() : scale, act, dz);
        }
        if (add && c.needs(1)) c.set(1, dz);
        if ((act == Act::none || add) && scale.defined()) {
          // conv_T(dz * scale, w) = conv_T(dz, scale * w): scaling the weights (O x C x kh x kw) is
          // cheaper than a pass over dz (a batch of ResNet's widest outputs).
          const Tensor rows = w.view({1, g.O, w.numel() / g.O});  // channel o = row o of w
          wz = Tensor::empty_like(rows);
          be(w).conv2d_epilogue_backward(rows, rows, scale, Act::none, wz);
          wz = wz.view(w.shape());
        }
        if (!c.needs(0)) return;
        Tensor dx = empty_as(w, {g.N, g.C, g.H, g.W});
        be(w).conv2d_backward_data(g, dz, wz, dx);
        c.set(0, dx);
      },
      form);
}

namespace {
// a: (M,K), b: (K,N), or (N,K) read transposed when tb; optional bias (N) -> y: (M,N) = a op(b) + bias
//   da = dy op(b)^T                   -> gemm(dy, b, transpose b unless tb)
//   db = a^T dy, or (a^T dy)^T = dy^T a when tb;   dbias = sum over rows of dy
// a is only needed for db, so it is saved only when b wanted a gradient at forward time.
Tensor product(const char* op, const Tensor& a, const Tensor& b, bool tb, const Tensor& bias = Tensor()) {
  rank(op, a, 2, "a");
  rank(op, b, 2, "b");
  same_kind(op, a, b, "a", "b");
  const int64_t M = a.dim(0), K = a.dim(1), N = tb ? b.dim(0) : b.dim(1);
  check(K == (tb ? b.dim(1) : b.dim(0)), op,
        "inner sizes differ: a " + a.shape().str() + ", b " + b.shape().str() + (tb ? " (used transposed)" : ""));
  if (bias.defined()) {
    same_kind(op, a, bias, "x", "bias");
    check(bias.shape() == Shape{N}, op,
          "bias " + bias.shape().str() + " does not match the " + std::to_string(N) + " outputs (w " + b.shape().str() +
              ")");
  }
  Tensor y = empty_as(a, {M, N});
  be(a).gemm(false, tb, M, N, K, 1.0, a, b, 0.0, y);
  if (bias.defined()) be(a).bias_add(y, bias, y);  // element by element: in place is safe
  std::vector<Tensor> inputs{a, b};
  if (bias.defined()) inputs.push_back(bias);
  std::function<LinearForm()> form;
  if (tb)  // linear: the layout LinearForm means (weight (O,I))
    form = [&] {
      return LinearForm{b.detach(), bias.defined() ? bias.detach() : Tensor(), Act::none, false,
                        [](const Tensor& x, const Tensor& w, const Tensor& bb) { return linear(x, w, bb); }};
    };
  return record(
      op, inputs, y, {b.requires_grad() ? a : Tensor(), b},
      [M, K, N, tb](BackwardContext& c) {
        const Tensor& b = c.saved(1);
        if (c.needs(0)) {
          Tensor da = empty_as(b, {M, K});
          be(b).gemm(false, !tb, M, K, N, 1.0, c.dy, b, 0.0, da);
          c.set(0, da);
        }
        if (c.needs(1)) {
          const Tensor& a = saved_input_for_weight_grad(c, 0);
          Tensor db = empty_as(b, b.shape());
          if (tb)
            be(b).gemm(true, false, N, K, M, 1.0, c.dy, a, 0.0, db);
          else
            be(b).gemm(true, false, K, N, M, 1.0, a, c.dy, 0.0, db);
          c.set(1, db);
        }
        if (c.node.inputs.size() > 2 && c.needs(2)) {
          Tensor dbias = empty_as(b, {N});
          be(b).bias_grad(c.dy, dbias);
          c.set(2, dbias);
        }
      },
      form);
}
}  // namespace

// x: (N,I), w: (O,I), optional b: (O) -> y: (N,O) = x w^T + b;   dx = dy w,  dw = dy^T x,  db = sum_n dy
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) { return product("linear", x, w, true, b); }

// a: (M,K), b: (K,N) -> y: (M,N);   da = dy b^T,  db = a^T dy
Tensor matmul(const Tensor& a, const Tensor& b) { return product("matmul", a, b, false); }

// x: (N,C,...), b: (C) -> y = x + b[c];   dx = dy,  db[c] = sum over all but dim 1 of dy
Tensor bias_add(const Tensor& x, const Tensor& b) {
  const char* op = "bias_add";
  same_kind(op, x, b, "x", "b");
  check(x.ndim() >= 2 && b.ndim() == 1 && b.dim(0) == x.dim(1), op,
        "bias " + b.shape().str() + " does not match the channels (dim 1) of x " + x.shape().str());
  Tensor y = Tensor::empty_like(x);
  be(x).bias_add(x, b, y);
  const Shape bs = b.shape();
  return record(op, {x, b}, y, {}, [bs](BackwardContext& c) {
    if (c.needs(0)) c.set(0, c.dy);
    if (c.needs(1)) {
      Tensor db = empty_as(c.dy, bs);
      be(c.dy).bias_grad(c.dy, db);
      c.set(1, db);
    }
  });
}

}  // namespace gt::ops
