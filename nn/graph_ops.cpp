// The graph's network ops, each as ONNX defines it (onnx/docs/Operators.md), written with the
// tape's ops: Conv, Gemm, MatMul, the element-wise arithmetic and activations, Softmax and
// LogSoftmax, the poolings and BatchNormalization. 1-D convolutions and poolings (N, C, L) run as
// 2-D ones on (N, C, 1, L).
#include "nn/graph_ops.h"

#include <array>
#include <cmath>
#include <limits>

namespace gt::nn {
namespace {

using Pair = std::array<int64_t, 2>;  // (H, W)

// (N, C, L) -> (N, C, 1, L); 4-D passes.
Tensor spatial4(const OpContext& ctx, const Tensor& x) {
  if (x.ndim() == 4) return x;
  if (x.ndim() != 3) ctx.fail("a rank-" + std::to_string(x.ndim()) + " input (1-D or 2-D images only)");
  return ops::reshape(x, {x.dim(0), x.dim(1), 1, x.dim(2)});
}
Tensor unspatial(const Tensor& y, bool one_d) { return one_d ? ops::reshape(y, {y.dim(0), y.dim(1), y.dim(3)}) : y; }

// A per-axis attribute (kernel_shape, strides, dilations) as (H, W); 1-D: H gets `def`.
Pair pair_attr(const OpContext& ctx, const char* name, int64_t def, bool one_d) {
  const std::vector<int64_t> v = ctx.attr(name, std::vector<int64_t>{});
  if (v.empty()) return {def, def};
  if (v.size() != (one_d ? 1u : 2u)) ctx.fail(std::string(name) + " has " + std::to_string(v.size()) + " values");
  for (int64_t x : v)
    if (x < 1 || x > 65536) ctx.fail(std::string(name) + " holds " + std::to_string(x) + " (1 to 65536)");
  return one_d ? Pair{def, v[0]} : Pair{v[0], v[1]};
}

// ONNX pads [begin_h, begin_w, end_h, end_w] or auto_pad; SAME_UPPER puts the odd pixel at the end.
Pads onnx_pads(const OpContext& ctx, Pair in, Pair k, Pair s, Pair d, bool one_d) {
  const std::string mode = ctx.attr("auto_pad", std::string("NOTSET"));
  if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    int64_t b[2], e[2];
    for (int a = 0; a < 2; ++a) {
      const int64_t out = (in[a] + s[a] - 1) / s[a];
      const int64_t total = std::max<int64_t>(0, (out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a]);
      b[a] = mode == "SAME_UPPER" ? total / 2 : total - total / 2;
      e[a] = total - b[a];
    }
    return {b[0], e[0], b[1], e[1]};
  }
  if (mode == "VALID") return {};
  const std::vector<int64_t> p = ctx.attr("pads", std::vector<int64_t>{});
  if (p.empty()) return {};
  if (p.size() != (one_d ? 2u : 4u)) ctx.fail("pads has " + std::to_string(p.size()) + " values");
  for (int64_t x : p)
    if (x < 0 || x > 65536) ctx.fail("pads holds " + std::to_string(x) + " (0 to 65536)");
  return one_d ? Pads{0, 0, p[0], p[1]} : Pads{p[0], p[2], p[1], p[3]};
}

std::vector<Value> conv(OpContext& ctx) {
  const Tensor x = ctx.tensor(0);
  const bool one_d = x.ndim() == 3;
  const Tensor x4 = spatial4(ctx, x);
  Conv2d* layer = ctx.plan.conv;
  const Tensor w = layer ? layer->weight : spatial4(ctx, ctx.tensor(1));
  const Pair k{w.dim(2), w.dim(3)}, s = pair_attr(ctx, "strides", 1, one_d), d = pair_attr(ctx, "dilations", 1, one_d);
  ops::Conv2dOptions o;
  o.stride_h = s[0], o.stride_w = s[1], o.dilation_h = d[0], o.dilation_w = d[1];
  o.groups = ctx.attr("group", int64_t(1));
  o.pad = onnx_pads(ctx, {x4.dim(2), x4.dim(3)}, k, s, d, one_d);
  if (!layer) return {tensor_value(unspatial(ops::conv2d(x4, w, o, ctx.has(2) ? ctx.tensor(2) : Tensor()), one_d))};
  layer->options = o;
  ctx.set(ctx.plan.result, tensor_value(unspatial(ctx.conv_bn(*layer, x4), one_d)));
  return {};
}

std::vector<Value> batch_norm(OpContext& ctx) {
  if (ctx.attr("training_mode", int64_t(0))) ctx.fail("training-mode batch normalization (export in eval mode)");
  const Tensor x = ctx.tensor(0);
  if (ctx.plan.bn) return {tensor_value((*ctx.plan.bn)(x))};
  return {tensor_value(ops::batch_norm(x, ctx.tensor(1), ctx.tensor(2), ctx.tensor(3), ctx.tensor(4),
                                       ctx.attr("epsilon", 1e-5), false))};
}

// Y = alpha op(A) op(B) + beta C
std::vector<Value> gemm(OpContext& ctx) {
  if (ctx.plan.dense) return {tensor_value((*ctx.plan.dense)(ctx.tensor(0)))};
  Tensor a = ctx.tensor(0), b = ctx.tensor(1);
  if (a.ndim() != 2 || b.ndim() != 2) ctx.fail("Gemm needs 2-D A and B");
  if (ctx.attr("transA", int64_t(0))) a = ops::transpose(a, {1, 0});
  Tensor y = ctx.attr("transB", int64_t(0)) ? ops::linear(a, b) : ops::matmul(a, b);
  const double alpha = ctx.attr("alpha", 1.0), beta = ctx.attr("beta", 1.0);
  if (alpha != 1) y = ops::mul_scalar(y, alpha);
  if (ctx.has(2)) y = ops::add(y, beta == 1 ? ctx.tensor(2) : ops::mul_scalar(ctx.tensor(2), beta));
  return {tensor_value(y)};
}

// NumPy matmul for A of any rank against a 2-D (or 1-D) B: the leading axes of A fold into rows.
std::vector<Value> matmul(OpContext& ctx) {
  Tensor a = ctx.tensor(0), b = ctx.tensor(1);
  if (b.ndim() > 2) ctx.fail("batched MatMul (B " + b.shape().str() + ") is not supported");
  const bool a1 = a.ndim() == 1, b1 = b.ndim() == 1;
  if (b1) b = ops::reshape(b, {b.dim(0), 1});
  std::vector<int64_t> out;
  for (int i = 0; i + 1 < a.ndim(); ++i) out.push_back(a.dim(i));
  const int64_t K = a.dim(a.ndim() - 1);
  Tensor y = ops::matmul(ops::reshape(a, {a.numel() / std::max<int64_t>(1, K), K}), b);
  if (!b1) out.push_back(b.dim(1));
  if (a1 && b1) out = {1};
  return {tensor_value(ops::reshape(y, Shape(out)))};
}

// Element-wise arithmetic on host values with NumPy broadcasting (shape arithmetic).
HostValue host_arith(const OpContext& ctx, const HostValue& a, const HostValue& b) {
  const size_t r = std::max(a.dims.size(), b.dims.size());
  std::vector<int64_t> da(r, 1), db(r, 1), dy(r);
  std::copy(a.dims.begin(), a.dims.end(), da.begin() + long(r - a.dims.size()));
  std::copy(b.dims.begin(), b.dims.end(), db.begin() + long(r - b.dims.size()));
  for (size_t i = 0; i < r; ++i) {
    if (da[i] != db[i] && da[i] != 1 && db[i] != 1) ctx.fail("host values do not broadcast");
    dy[i] = da[i] == 1 ? db[i] : da[i];  // (a 1 broadcasts to 0 too)
  }
  HostValue y;
  y.dims = dy;
  y.integer = a.integer && b.integer;
  const int64_t n = y.numel();
  const std::string& op = ctx.node.op;
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia = 0, ib = 0, rest = i, sa = 1, sb = 1;
    for (size_t k = r; k-- > 0;) {
      const int64_t c = rest % dy[k];
      rest /= dy[k];
      ia += (da[k] == 1 ? 0 : c) * sa, ib += (db[k] == 1 ? 0 : c) * sb;
      sa *= da[k], sb *= db[k];
    }
    const double u = a.data[size_t(ia)], v = b.data[size_t(ib)];
    double z = op == "Add" ? u + v : op == "Sub" ? u - v : op == "Mul" ? u * v : u / v;
    if (y.integer && op == "Div") z = std::trunc(z);
    y.data.push_back(z);
  }
  return y;
}

// Before opset 7, broadcasting was opt-in (broadcast = 1) and B aligned with A at `axis` instead of
// at the end: B gets trailing 1s to line up NumPy-style.
Tensor legacy_broadcast(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  if (ctx.opset() >= 7 || !ctx.attr("broadcast", int64_t(0)) || !ctx.has_attr("axis")) return b;
  const int ax = axis_of(ctx, ctx.attr("axis", int64_t(0)), a.ndim());
  std::vector<int64_t> d;
  for (int i = 0; i < b.ndim(); ++i) d.push_back(b.dim(i));
  while (int(d.size()) + ax < a.ndim()) d.push_back(1);
  return ops::reshape(b, Shape(d));
}

std::vector<Value> arithmetic(OpContext& ctx) {
  if (ctx.all_on_host()) return {host_value(host_arith(ctx, ctx.host(0), ctx.host(1)))};
  const Tensor a = ctx.tensor(0), b = legacy_broadcast(ctx, a, ctx.tensor(1));
  const std::string& op = ctx.node.op;
  if (op == "Add" && ctx.plan.fused_relu >= 0 && a.shape() == b.shape() && ctx.base().fuse) {
    const GraphNode& relu = ctx.model.spec().nodes[size_t(ctx.plan.fused_relu)];
    const Tape& tape = Tape::current();
    if (!tape.hooked("add", ctx.node.name) && !tape.hooked("relu", relu.name)) {
      NameScope s(relu.name);
      ctx.set(relu.outputs[0], tensor_value(ops::add_relu(a, b)));
      ctx.mark_done(ctx.plan.fused_relu);
      return {};
    }
  }
  if (op == "Add") return {tensor_value(ops::add(a, b))};
  if (op == "Sub") return {tensor_value(ops::sub(a, b))};
  if (op == "Mul") return {tensor_value(ops::mul(a, b))};
  return {tensor_value(ops::div(a, b))};
}

Tensor neg_part(const Tensor& x) { return ops::relu(ops::mul_scalar(x, -1)); }  // max(-x, 0)
Tensor hard_sigmoid(const Tensor& x, double alpha, double beta) {
  return ops::clamp(ops::add_scalar(ops::mul_scalar(x, alpha), beta), 0, 1);
}

// PRelu's slope broadcasts NumPy-style from opset 7; before, a 1-D slope was one value per channel.
Tensor prelu_slope(const OpContext& ctx, const Tensor& x) {
  const Tensor s = ctx.tensor(1);
  if (ctx.opset() >= 7 || s.ndim() != 1 || x.ndim() < 3 || s.dim(0) != x.dim(1)) return s;
  std::vector<int64_t> d(static_cast<size_t>(x.ndim() - 1), 1);
  d[0] = s.dim(0);
  return ops::reshape(s, Shape(d));
}

std::vector<Value> activation(OpContext& ctx) {
  const Tensor x = ctx.tensor(0);
  const std::string& op = ctx.node.op;
  Tensor y;
  if (op == "Relu") y = ops::relu(x);
  if (op == "Sigmoid") y = ops::sigmoid(x);
  if (op == "Tanh") y = ops::tanh(x);
  if (op == "Exp") y = ops::exp(x);
  if (op == "Abs") y = ops::abs(x);
  if (op == "Neg") y = ops::mul_scalar(x, -1);
  // leaky: max(x, 0) - alpha max(-x, 0); PRelu the same with a tensor slope
  if (op == "LeakyRelu") y = ops::sub(ops::relu(x), ops::mul_scalar(neg_part(x), ctx.attr("alpha", 0.01)));
  if (op == "PRelu") y = ops::sub(ops::relu(x), ops::mul(prelu_slope(ctx, x), neg_part(x)));
  // elu: max(x, 0) + alpha (e^min(x, 0) - 1)
  if (op == "Elu")
    y = ops::add(ops::relu(x), ops::mul_scalar(ops::add_scalar(ops::exp(ops::mul_scalar(neg_part(x), -1)), -1),
                                               ctx.attr("alpha", 1.0)));
  if (op == "HardSigmoid") {
    // ONNX attributes are float32: PyTorch's hardsigmoid, x / 6 + 1/2, arrives as float(1/6), which
    // would cost float64 runs 1e-6 of relative accuracy. Taken as the 1/6 it stands for.
    double alpha = ctx.attr("alpha", 0.2);
    if (float(alpha) == float(1.0 / 6)) alpha = 1.0 / 6;
    y = hard_sigmoid(x, alpha, ctx.attr("beta", 0.5));
  }
  if (op == "HardSwish") y = ops::mul(x, hard_sigmoid(x, 1.0 / 6, 0.5));
  return {tensor_value(y)};
}

std::vector<Value> clip(OpContext& ctx) {
  const double inf = std::numeric_limits<double>::infinity();
  double lo = ctx.attr("min", -inf), hi = ctx.attr("max", inf);
  if (ctx.opset() >= 11) {
    lo = ctx.has(1) ? ctx.scalar(1) : -inf;
    hi = ctx.has(2) ? ctx.scalar(2) : inf;
  }
  return {tensor_value(ops::clamp(ctx.tensor(0), lo, hi))};
}

// Before opset 13 the input is flattened to 2-D at `axis` (default 1); from 13 on the softmax runs
// along `axis` alone (default -1), which a transpose brings last.
std::vector<Value> softmax(OpContext& ctx) {
  const Tensor x = ctx.tensor(0);
  const bool log = ctx.node.op == "LogSoftmax";
  const int r = x.ndim();
  auto rows = [&](const Tensor& t, int ax) {
    const int64_t inner = t.numel() / std::max<int64_t>(1, [&] {
                            int64_t o = 1;
                            for (int i = 0; i < ax; ++i) o *= t.dim(i);
                            return o;
                          }());
    const Tensor m = ops::reshape(t, {t.numel() / std::max<int64_t>(1, inner), inner});
    return ops::reshape(log ? ops::log_softmax(m) : ops::softmax(m), t.shape());
  };
  if (ctx.opset() < 13) return {tensor_value(rows(x, axis_of(ctx, ctx.attr("axis", int64_t(1)), r)))};
  const int ax = axis_of(ctx, ctx.attr("axis", int64_t(-1)), r);
  if (ax == r - 1) return {tensor_value(rows(x, r - 1))};
  std::vector<int> perm, inverse(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i)
    if (i != ax) perm.push_back(i);
  perm.push_back(ax);
  for (int i = 0; i < r; ++i) inverse[size_t(perm[size_t(i)])] = i;
  return {tensor_value(ops::transpose(rows(ops::transpose(x, perm), r - 1), inverse))};
}

std::vector<Value> pool(OpContext& ctx) {
  const Tensor x = ctx.tensor(0);
  const bool one_d = x.ndim() == 3, max = ctx.node.op == "MaxPool";
  const Tensor x4 = spatial4(ctx, x);
  const Pair k = pair_attr(ctx, "kernel_shape", 1, one_d), s = pair_attr(ctx, "strides", 1, one_d);
  const Pair d = pair_attr(ctx, "dilations", 1, one_d);
  if (d[0] != 1 || d[1] != 1) ctx.fail("dilated pooling is not supported");
  ops::PoolOptions o;
  o.kernel_h = k[0], o.kernel_w = k[1], o.stride_h = s[0], o.stride_w = s[1];
  o.pad = onnx_pads(ctx, {x4.dim(2), x4.dim(3)}, k, s, d, one_d);
  o.count_include_pad = ctx.attr("count_include_pad", int64_t(0)) != 0;
  if (ctx.attr("ceil_mode", int64_t(0))) {
    // ceil((in + pads - k) / s) + 1 windows, the last starting inside the input or its begin padding
    int64_t* end[2] = {&o.pad.bottom, &o.pad.right};
    const int64_t begin[2] = {o.pad.top, o.pad.left};
    for (int a = 0; a < 2; ++a) {
      const int64_t span = x4.dim(2 + a) + begin[a] + *end[a] - k[size_t(a)];
      int64_t out = (span + s[size_t(a)] - 1) / s[size_t(a)] + 1;
      if ((out - 1) * s[size_t(a)] >= x4.dim(2 + a) + begin[a]) --out;
      const int64_t extra = (out - 1) * s[size_t(a)] - span;
      if (extra > 0 && !max && o.count_include_pad) ctx.fail("ceil_mode with count_include_pad is not supported");
      *end[a] += std::max<int64_t>(0, extra);
    }
  }
  return {tensor_value(unspatial(max ? ops::max_pool2d(x4, o) : ops::avg_pool2d(x4, o), one_d))};
}

std::vector<Value> global_pool(OpContext& ctx) {
  const Tensor x = ctx.tensor(0);
  const Tensor x4 = spatial4(ctx, x);
  Tensor y;
  if (ctx.node.op == "GlobalAveragePool") {
    y = ops::reshape(ops::global_avg_pool(x4), {x4.dim(0), x4.dim(1), 1, 1});
  } else {
    ops::PoolOptions o;
    o.kernel_h = x4.dim(2), o.kernel_w = x4.dim(3), o.stride_h = o.stride_w = 1;
    y = ops::max_pool2d(x4, o);
  }
  return {tensor_value(unspatial(y, x.ndim() == 3))};
}

}  // namespace

void add_network_ops(std::map<std::string, OpFn>& t) {
  t["Conv"] = conv;
  t["BatchNormalization"] = batch_norm;
  t["Gemm"] = gemm;
  t["MatMul"] = matmul;
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) t[op] = arithmetic;
  for (const char* op :
       {"Relu", "Sigmoid", "Tanh", "Exp", "Abs", "Neg", "LeakyRelu", "PRelu", "Elu", "HardSigmoid", "HardSwish"})
    t[op] = activation;
  t["Clip"] = clip;
  t["Softmax"] = softmax;
  t["LogSoftmax"] = softmax;
  t["MaxPool"] = pool;
  t["AveragePool"] = pool;
  t["GlobalAveragePool"] = global_pool;
  t["GlobalMaxPool"] = global_pool;
}

const std::map<std::string, OpFn>& op_table() {
  static const std::map<std::string, OpFn> table = [] {
    std::map<std::string, OpFn> t;
    add_layout_ops(t);
    add_network_ops(t);
    return t;
  }();
  return table;
}

}  // namespace gt::nn
