// The graph's shape and layout ops: Constant, Shape, Gather, Cast, Identity, Dropout, Reshape,
// Flatten, Squeeze, Unsqueeze, Concat, Transpose, Pad, ReduceMean, and the four arithmetic ops on
// host values. Exporters wrap Flatten and Reshape in Shape -> Gather -> Unsqueeze -> Concat chains;
// those run on host values (the builder folds the constant ones once), never on the tape.
#include <algorithm>
#include <cmath>
#include <set>

#include "nn/graph_ops.h"

namespace gt::nn {

std::vector<int64_t> dims_of(const OpContext& ctx, size_t k) {
  if (ctx.on_host(k)) return ctx.host(k).dims;
  const Tensor t = ctx.tensor(k);
  std::vector<int64_t> d;
  for (int i = 0; i < t.ndim(); ++i) d.push_back(t.dim(i));
  return d;
}

Value reshaped(const OpContext& ctx, const std::vector<int64_t>& dims) {
  if (ctx.on_host(0)) {
    HostValue h = ctx.host(0);
    h.dims = dims;
    return host_value(std::move(h));
  }
  if (dims.size() > 4) ctx.fail("a rank-" + std::to_string(dims.size()) + " result (at most 4 here)");
  return tensor_value(ops::reshape(ctx.tensor(0), Shape(dims)));
}

namespace {

std::vector<Value> identity(OpContext& ctx);

int64_t product(const std::vector<int64_t>& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < d.size(); ++i) p *= d[i];
  return p;
}

// Dropout at inference is the identity; its training mode (input 2, opset 12 on) is refused.
std::vector<Value> dropout(OpContext& ctx) {
  if (ctx.has(2) && ctx.on_host(2) && ctx.host(2).data.at(0) != 0) ctx.fail("training-mode Dropout is not supported");
  return identity(ctx);
}

std::vector<Value> identity(OpContext& ctx) {
  if (ctx.on_host(0)) return {host_value(ctx.host(0))};
  return {tensor_value(ctx.tensor(0))};
}

std::vector<Value> constant(OpContext& ctx) {
  const auto& a = ctx.node.attrs;
  HostValue h;
  if (a.count("value")) {
    if (a.at("value").kind != Attr::tensor) ctx.fail("its value attribute is not a tensor");
    h = a.at("value").t;
  } else if (a.count("value_float") || a.count("value_int")) {
    h.data = {a.count("value_float") ? a.at("value_float").f : double(a.at("value_int").i)};
    h.integer = a.count("value_int") > 0;
  } else if (a.count("value_floats") || a.count("value_ints")) {
    h.integer = a.count("value_ints") > 0;
    if (h.integer)
      for (int64_t v : a.at("value_ints").ints) h.data.push_back(double(v));
    else
      h.data = a.at("value_floats").floats;
    h.dims = {int64_t(h.data.size())};
  } else {
    ctx.fail("only value, value_float(s) and value_int(s) constants are supported");
  }
  return {host_value(std::move(h))};
}

// The input's dimensions as a 1-D integer value; opset 15's start and end select a range of them.
std::vector<Value> shape(OpContext& ctx) {
  const std::vector<int64_t> d = dims_of(ctx, 0);
  const int64_t r = int64_t(d.size());
  auto clip = [&](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t(0), r); };
  const int64_t start = clip(ctx.attr("start", int64_t(0))), end = clip(ctx.attr("end", r));
  HostValue h;
  h.integer = true;
  for (int64_t i = start; i < end; ++i) h.data.push_back(double(d[size_t(i)]));
  h.dims = {int64_t(h.data.size())};
  return {host_value(std::move(h))};
}

// out[outer, idx..., inner] = data[outer, indices[idx...], inner] on the host.
std::vector<Value> gather(OpContext& ctx) {
  if (!ctx.on_host(0)) ctx.fail("Gather reads a tensor: only shapes and constants can be gathered");
  const HostValue& data = ctx.host(0);
  const HostValue& idx = ctx.host(1);
  if (data.dims.empty()) ctx.fail("Gather from a scalar");
  const int ax = axis_of(ctx, ctx.attr("axis", int64_t(0)), int(data.dims.size()));
  const int64_t outer = product(data.dims, 0, size_t(ax)), len = data.dims[size_t(ax)];
  const int64_t inner = product(data.dims, size_t(ax) + 1, data.dims.size());
  HostValue h;
  h.integer = data.integer;
  h.dims.assign(data.dims.begin(), data.dims.begin() + ax);
  h.dims.insert(h.dims.end(), idx.dims.begin(), idx.dims.end());
  h.dims.insert(h.dims.end(), data.dims.begin() + ax + 1, data.dims.end());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : idx.ints()) {
      if (i < -len || i >= len) ctx.fail("index " + std::to_string(i) + " is outside 0.." + std::to_string(len - 1));
      const int64_t j = i < 0 ? i + len : i;
      for (int64_t k = 0; k < inner; ++k) h.data.push_back(data.data[size_t((o * len + j) * inner + k)]);
    }
  return {host_value(std::move(h))};
}

// TensorProto data types: the float ones keep the running dtype; integer ones apply on the host.
std::vector<Value> cast(OpContext& ctx) {
  const int64_t to = ctx.attr("to", int64_t(1));
  if (to == 16) ctx.fail("a cast to bfloat16 is not supported");
  const bool to_float = to == 1 || to == 10 || to == 11;
  if (!ctx.on_host(0)) {
    if (!to_float) ctx.fail("a cast of a tensor to an integer type");
    return {tensor_value(ctx.tensor(0))};
  }
  HostValue h = ctx.host(0);
  if (!to_float) {
    for (double& v : h.data) v = to == 9 ? double(v != 0) : std::trunc(v);
    h.integer = true;
  } else {
    h.integer = false;
  }
  return {host_value(std::move(h))};
}

// Axes from the attribute (before opset 13) or input 1.
std::vector<int64_t> axes(const OpContext& ctx, int64_t input_from_opset) {
  if (ctx.opset() < input_from_opset || !ctx.has(1)) return ctx.attr("axes", std::vector<int64_t>{});
  return ctx.host(1).ints();
}

std::vector<Value> unsqueeze(OpContext& ctx) {
  std::vector<int64_t> d = dims_of(ctx, 0), ax = axes(ctx, 13);
  const int out_rank = int(d.size() + ax.size());
  for (int64_t& a : ax) a = axis_of(ctx, a, out_rank);
  std::sort(ax.begin(), ax.end());
  for (int64_t a : ax) d.insert(d.begin() + a, 1);
  return {reshaped(ctx, d)};
}

std::vector<Value> squeeze(OpContext& ctx) {
  const std::vector<int64_t> d = dims_of(ctx, 0);
  std::vector<int64_t> ax = axes(ctx, 13), out;
  for (int64_t& a : ax) a = axis_of(ctx, a, int(d.size()));
  for (size_t i = 0; i < d.size(); ++i) {
    const bool listed = std::find(ax.begin(), ax.end(), int64_t(i)) != ax.end();
    if (listed && d[i] != 1) ctx.fail("axis " + std::to_string(i) + " has size " + std::to_string(d[i]) + ", not 1");
    if (!(listed || (ax.empty() && d[i] == 1))) out.push_back(d[i]);
  }
  return {reshaped(ctx, out)};
}

// 0 copies the input's size (unless allowzero), one -1 takes what is left.
std::vector<Value> reshape(OpContext& ctx) {
  const std::vector<int64_t> d = dims_of(ctx, 0);
  std::vector<int64_t> want = ctx.opset() < 5 ? ctx.attr("shape", std::vector<int64_t>{}) : ctx.host(1).ints();
  const bool allowzero = ctx.attr("allowzero", int64_t(0)) != 0;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] < -1 || want[i] > (int64_t(1) << 31)) ctx.fail("a target size of " + std::to_string(want[i]));
    if (want[i] == 0 && !allowzero) {
      if (i >= d.size()) ctx.fail("a 0 in the shape has no input axis to copy");
      want[i] = d[i];
    }
    if (want[i] == -1) {
      if (infer >= 0) ctx.fail("more than one -1 in the shape");
      infer = int64_t(i);
    } else {
      known *= want[i];
      if (known > (int64_t(1) << 40)) ctx.fail("a target shape of over 2^40 elements");
    }
  }
  // A model exported at batch 1 has the 1 baked into its flatten's target shape; gradtrace runs it on
  // batches (IG's points, occlusion's windows): the leading axis keeps the batch it carries.
  if (ctx.model.batch_exported() == 1 && !want.empty() && want[0] == 1 && d.size() > 1 && d[0] == ctx.model.batch() &&
      d[0] > 1 && infer > 0) {
    known *= d[0];
    want[0] = d[0];
  }
  const int64_t n = product(d, 0, d.size());
  if (infer >= 0) want[size_t(infer)] = known ? n / known : 0;
  if (product(want, 0, want.size()) != n) ctx.fail("cannot reshape " + std::to_string(n) + " elements to that shape");
  return {reshaped(ctx, want)};
}

std::vector<Value> flatten(OpContext& ctx) {
  const std::vector<int64_t> d = dims_of(ctx, 0);
  const int64_t r = int64_t(d.size()), a = ctx.attr("axis", int64_t(1));
  const int64_t ax = a < 0 ? a + r : a;
  if (ax < 0 || ax > r) ctx.fail("axis " + std::to_string(a) + " is outside a rank-" + std::to_string(r) + " input");
  return {reshaped(ctx, {product(d, 0, size_t(ax)), product(d, size_t(ax), d.size())})};
}

std::vector<Value> concat(OpContext& ctx) {
  const size_t n = ctx.node.inputs.size();
  const int rank = int(dims_of(ctx, 0).size());
  if (rank == 0) ctx.fail("Concat of scalars");
  const int ax = axis_of(ctx, ctx.attr("axis", int64_t(0)), rank);
  if (ctx.all_on_host()) {  // shape vectors: one block of each input per outer index
    for (size_t k = 0; k < n; ++k) {
      const std::vector<int64_t>& d = ctx.host(k).dims;
      bool ok = int(d.size()) == rank;
      for (int i = 0; ok && i < rank; ++i) ok = i == ax || d[size_t(i)] == ctx.host(0).dims[size_t(i)];
      if (!ok) ctx.fail("input " + std::to_string(k) + " does not match input 0 outside axis " + std::to_string(ax));
    }
    HostValue h = ctx.host(0);
    const int64_t outer = product(h.dims, 0, size_t(ax));
    std::vector<double> out;
    h.dims[size_t(ax)] = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (size_t k = 0; k < n; ++k) {
        const HostValue& x = ctx.host(k);
        const int64_t block = x.numel() / std::max<int64_t>(1, outer);
        out.insert(out.end(), x.data.begin() + o * block, x.data.begin() + (o + 1) * block);
        if (o == 0) h.dims[size_t(ax)] += x.dims[size_t(ax)];
      }
    h.data = std::move(out);
    return {host_value(std::move(h))};
  }
  std::vector<Tensor> xs;
  for (size_t k = 0; k < n; ++k) xs.push_back(ctx.tensor(k));
  return {tensor_value(ops::concat(xs, ax))};
}

std::vector<Value> transpose(OpContext& ctx) {
  const Tensor x = ctx.tensor(0);
  std::vector<int> perm;
  for (int64_t p : ctx.attr("perm", std::vector<int64_t>{})) perm.push_back(int(p));
  if (perm.empty())
    for (int i = x.ndim() - 1; i >= 0; --i) perm.push_back(i);
  return {tensor_value(ops::transpose(x, perm))};
}

// Constant padding of the last two axes of a 3-D or 4-D input (pads: begins, then ends).
std::vector<Value> pad(OpContext& ctx) {
  const std::string mode = ctx.attr("mode", std::string("constant"));
  if (mode != "constant") ctx.fail("padding mode '" + mode + "' (only constant padding is supported)");
  const Tensor x = ctx.tensor(0);
  const std::vector<int64_t> p = ctx.opset() < 11 ? ctx.attr("pads", std::vector<int64_t>{}) : ctx.host(1).ints();
  double value = ctx.attr("value", 0.0);
  if (ctx.opset() >= 11 && ctx.has(2)) value = ctx.scalar(2);
  const int r = x.ndim();
  if (p.size() != size_t(2 * r))
    ctx.fail("pads has " + std::to_string(p.size()) + " values for a rank-" + std::to_string(r) + " input");
  for (int i = 0; i < 2 * r; ++i) {
    if (p[size_t(i)] < 0 || ((i % r) < r - 2 && p[size_t(i)] != 0))
      ctx.fail("only non-negative padding of the last two axes is supported");
    if (p[size_t(i)] > 4096) ctx.fail("padding of " + std::to_string(p[size_t(i)]) + " pixels (at most 4096)");
  }
  if (r < 3 || r > 4) ctx.fail("padding needs a 3-D or 4-D input");
  const Tensor x4 = r == 4 ? x : ops::reshape(x, {x.dim(0), 1, x.dim(1), x.dim(2)});
  Tensor y = ops::pad(x4, {p[size_t(r - 2)], p[size_t(2 * r - 2)], p[size_t(r - 1)], p[size_t(2 * r - 1)]}, value);
  if (r == 3) y = ops::reshape(y, {y.dim(0) * y.dim(1), y.dim(2), y.dim(3)});
  return {tensor_value(y)};
}

// The mean over `axes` (all when none), keeping them as size 1 when keepdims.
std::vector<Value> reduce_mean(OpContext& ctx) {
  const Tensor x = ctx.tensor(0);
  std::vector<int64_t> ax = ctx.opset() < 18 ? ctx.attr("axes", std::vector<int64_t>{}) : axes(ctx, 18);
  if (ax.empty())
    for (int i = 0; i < x.ndim(); ++i) ax.push_back(i);
  for (int64_t& a : ax) a = axis_of(ctx, a, x.ndim());
  std::sort(ax.begin(), ax.end());
  std::vector<int64_t> keep;
  for (int i = 0; i < x.ndim(); ++i)
    keep.push_back(std::binary_search(ax.begin(), ax.end(), int64_t(i)) ? 1 : x.dim(i));
  Tensor y = x;
  for (auto a = ax.rbegin(); a != ax.rend(); ++a) y = y.ndim() > 1 ? ops::mean_dim(y, int(*a)) : ops::mean(y);
  if (ctx.attr("keepdims", int64_t(1))) return {tensor_value(ops::reshape(y, Shape(keep)))};
  std::vector<int64_t> out;
  for (int i = 0; i < x.ndim(); ++i)
    if (!std::binary_search(ax.begin(), ax.end(), int64_t(i))) out.push_back(x.dim(i));
  return {tensor_value(out.empty() ? y : ops::reshape(y, Shape(out)))};
}

}  // namespace

void add_layout_ops(std::map<std::string, OpFn>& t) {
  t["Identity"] = identity;
  t["Dropout"] = dropout;
  t["Constant"] = constant;
  t["Shape"] = shape;
  t["Gather"] = gather;
  t["Cast"] = cast;
  t["Unsqueeze"] = unsqueeze;
  t["Squeeze"] = squeeze;
  t["Reshape"] = reshape;
  t["Flatten"] = flatten;
  t["Concat"] = concat;
  t["Transpose"] = transpose;
  t["Pad"] = pad;
  t["ReduceMean"] = reduce_mean;
}

bool host_capable(const std::string& op) {
  static const std::set<std::string> ops = {"Identity", "Dropout",   "Constant", "Shape",   "Gather",
                                            "Cast",     "Unsqueeze", "Squeeze",  "Reshape", "Flatten",
                                            "Concat",   "Add",       "Sub",      "Mul",     "Div"};
  return ops.count(op) > 0;
}

bool host_input(const std::string& op, size_t slot, int64_t opset) {
  if (slot == 0) return op == "Gather" || op == "Shape";
  if (op == "Gather" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Pad") return true;
  if (op == "Clip" || op == "ReduceMean" || op == "Dropout") return true;
  return false;
}

}  // namespace gt::nn
