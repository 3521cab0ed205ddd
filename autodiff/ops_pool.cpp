// Pooling. x: (N,C,H,W) -> y: (N,C,Ho,Wo), Ho = (H + pt + pb - kh)/sh + 1.
#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt::ops {
using namespace detail;

namespace {
PoolGeom pool_geom(const char* op, const Tensor& x, const PoolOptions& o) {
  rank(op, x, 4, "x");
  PoolGeom g;
  g.N = x.dim(0), g.C = x.dim(1), g.H = x.dim(2), g.W = x.dim(3);
  g.kh = o.kernel_h, g.kw = o.kernel_w, g.sh = o.stride_h, g.sw = o.stride_w;
  g.pt = o.pad.top, g.pb = o.pad.bottom, g.pl = o.pad.left, g.pr = o.pad.right;
  g.count_include_pad = o.count_include_pad;
  check(g.kh >= 1 && g.kw >= 1 && g.sh >= 1 && g.sw >= 1, op, "kernel and stride must be >= 1");
  // A window made only of padding would have no value; PyTorch and TF forbid it the same way.
  check(g.pt >= 0 && g.pb >= 0 && g.pl >= 0 && g.pr >= 0 && g.pt < g.kh && g.pb < g.kh && g.pl < g.kw && g.pr < g.kw,
        op, "padding must be >= 0 and smaller than the window");
  check(g.H + g.pt + g.pb >= g.kh && g.W + g.pl + g.pr >= g.kw, op,
        "window " + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " larger than the padded input " +
            x.shape().str());
  g.finish();
  return g;
}
}  // namespace

// y = max over the window (padding never wins);  dx: dy routed to the first maximum of each window
Tensor max_pool2d(const Tensor& x, const PoolOptions& o) {
  const PoolGeom g = pool_geom("max_pool2d", x, o);
  Tensor y = empty_as(x, {g.N, g.C, g.Ho, g.Wo});
  be(x).maxpool_forward(g, x, y);
  return record("max_pool2d", {x}, y, {x}, [g](BackwardContext& c) {
    Tensor dx = empty_as(c.dy, {g.N, g.C, g.H, g.W});
    be(dx).maxpool_backward(g, c.saved(0), c.dy, dx);
    c.set(0, dx);
  });
}

// y = sum over the window / divisor;  dx: dy/divisor spread over the window's real pixels
Tensor avg_pool2d(const Tensor& x, const PoolOptions& o) {
  const PoolGeom g = pool_geom("avg_pool2d", x, o);
  Tensor y = empty_as(x, {g.N, g.C, g.Ho, g.Wo});
  be(x).avgpool_forward(g, x, y);
  // A linear map without weights, for relevance rules (LinearForm).
  const auto form = [&] {
    return LinearForm{Tensor(), Tensor(), Act::none, false,
                      [o](const Tensor& in, const Tensor&, const Tensor&) { return avg_pool2d(in, o); }};
  };
  return record(
      "avg_pool2d", {x}, y, {},
      [g](BackwardContext& c) {
        Tensor dx = empty_as(c.dy, {g.N, g.C, g.H, g.W});
        be(dx).avgpool_backward(g, c.dy, dx);
        c.set(0, dx);
      },
      form);
}

// x: (N,C,H,W) -> y: (N,C) = mean over H,W;  dx = dy / (H*W) broadcast
Tensor global_avg_pool(const Tensor& x) {
  const char* op = "global_avg_pool";
  rank(op, x, 4, "x");
  const int64_t N = x.dim(0), C = x.dim(1), S = x.dim(2) * x.dim(3);
  check(S > 0, op, "empty spatial extent in x " + x.shape().str());
  Tensor y = empty_as(x, {N, C});
  be(x).reduce_axis(x, N * C, S, 1, 1.0 / double(S), y);
  const Shape xs = x.shape();
  const auto form = [] {
    return LinearForm{Tensor(), Tensor(), Act::none, false,
                      [](const Tensor& in, const Tensor&, const Tensor&) { return global_avg_pool(in); }};
  };
  return record(
      op, {x}, y, {},
      [xs, N, C, S](BackwardContext& c) {
        Tensor dx = empty_as(c.dy, xs);
        be(dx).broadcast_axis(c.dy, N * C, S, 1, 1.0 / double(S), dx);
        c.set(0, dx);
      },
      form);
}

}  // namespace gt::ops
