// GraphModel: building (sort, fold, layers, fusion plan) and running a graph of ONNX-typed nodes.
#include "nn/graph.h"

#include <algorithm>
#include <numeric>
#include <queue>
#include <set>

#include "nn/graph_ops.h"

namespace gt::nn {

int64_t HostValue::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<int64_t> HostValue::ints() const {
  std::vector<int64_t> v(data.size());
  for (size_t i = 0; i < data.size(); ++i) v[i] = static_cast<int64_t>(data[i]);
  return v;
}

Attr attr_int(int64_t i) {
  Attr a;
  a.kind = Attr::integer, a.i = i;
  return a;
}
Attr attr_ints(std::vector<int64_t> v) {
  Attr a;
  a.kind = Attr::integers, a.ints = std::move(v);
  return a;
}
Attr attr_real(double f) {
  Attr a;
  a.kind = Attr::real, a.f = f;
  return a;
}
Attr attr_text(std::string s) {
  Attr a;
  a.kind = Attr::text, a.s = std::move(s);
  return a;
}

std::vector<NamedTensor> ParamLayer::named_parameters() {
  std::vector<NamedTensor> p;
  for (auto& [name, t] : tensors) p.push_back({name, &t});
  return p;
}

Tensor ParamLayer::forward(const Tensor&) { throw Error("graph parameters " + name() + " are not a layer to call"); }

Value host_value(HostValue h) { return {Tensor(), std::make_shared<const HostValue>(std::move(h))}; }
Value tensor_value(Tensor t) { return {std::move(t), nullptr}; }

int axis_of(const OpContext& ctx, int64_t axis, int rank) {
  if (axis < -rank || axis >= std::max(rank, 1))
    ctx.fail("axis " + std::to_string(axis) + " is outside a rank-" + std::to_string(rank) + " input");
  return int(axis < 0 ? axis + rank : axis);
}

// ---- OpContext ----

OpContext::OpContext(GraphModel& m, size_t node, std::vector<Value>& env, std::vector<bool>& done)
    : model(m), node(m.spec_.nodes[node]), plan(m.plans_[node]), env_(env), done_(done) {}

bool OpContext::has(size_t k) const { return k < node.inputs.size() && node.inputs[k] >= 0; }

bool OpContext::on_host(size_t k) const { return has(k) && env_[size_t(node.inputs[k])].host != nullptr; }

bool OpContext::all_on_host() const {
  for (size_t k = 0; k < node.inputs.size(); ++k)
    if (has(k) && !on_host(k)) return false;
  return true;
}

Tensor OpContext::tensor(size_t k) const {
  if (!has(k)) fail("input " + std::to_string(k) + " is missing");
  const auto p = plan.param.find(k);
  if (p != plan.param.end()) return plan.params->tensors[p->second].second;
  const Value& v = env_[size_t(node.inputs[k])];
  if (v.t.defined()) return v.t;
  if (!v.host) fail("input '" + model.spec_.values[size_t(node.inputs[k])] + "' has no value");
  if (v.host->dims.size() > 4) fail("a rank-" + std::to_string(v.host->dims.size()) + " tensor (at most 4 here)");
  // The running dtype and device: those of the node's first tensor input (the input's by default).
  DType dt = DType::f32;
  Device dev = model.device();
  for (size_t j = 0; j < node.inputs.size(); ++j)
    if (has(j) && env_[size_t(node.inputs[j])].t.defined()) {
      dt = env_[size_t(node.inputs[j])].t.dtype();
      dev = env_[size_t(node.inputs[j])].t.device();
      break;
    }
  return Tensor::from_vector(Shape(v.host->dims), v.host->data, dt).to(dev);
}

const HostValue& OpContext::host(size_t k) const {
  if (!on_host(k))
    fail("input " + std::to_string(k) + (has(k) ? " ('" + model.spec_.values[size_t(node.inputs[k])] + "')" : "") +
         " must be a constant (a shape, axes or bounds computed from tensors is not supported)");
  const HostValue& h = *env_[size_t(node.inputs[k])].host;
  if (int64_t(h.data.size()) != h.numel()) fail("input " + std::to_string(k) + " holds fewer values than its shape");
  return h;
}

double OpContext::scalar(size_t k) const {
  if (on_host(k)) {
    const HostValue& h = host(k);
    if (h.data.size() != 1) fail("input " + std::to_string(k) + " must hold one value");
    return h.data[0];
  }
  const Tensor t = tensor(k);
  if (t.numel() != 1) fail("input " + std::to_string(k) + " must hold one value, not " + t.shape().str());
  return t.to_vector_f64()[0];
}

int64_t OpContext::attr(const std::string& name, int64_t def) const {
  const auto a = node.attrs.find(name);
  return a == node.attrs.end() ? def : a->second.kind == Attr::real ? int64_t(a->second.f) : a->second.i;
}

double OpContext::attr(const std::string& name, double def) const {
  const auto a = node.attrs.find(name);
  return a == node.attrs.end() ? def : a->second.kind == Attr::integer ? double(a->second.i) : a->second.f;
}

std::string OpContext::attr(const std::string& name, const std::string& def) const {
  const auto a = node.attrs.find(name);
  return a == node.attrs.end() ? def : a->second.s;
}

std::vector<int64_t> OpContext::attr(const std::string& name, const std::vector<int64_t>& def) const {
  const auto a = node.attrs.find(name);
  return a == node.attrs.end() ? def : a->second.ints;
}

void OpContext::fail(const std::string& why) const {
  throw Error(model.spec_.source + ": node '" + node.name + "' (" + node.op + "): " + why);
}

std::vector<std::string> GraphModel::supported_ops() {
  std::vector<std::string> v;
  for (const auto& [op, fn] : op_table()) v.push_back(op);
  return v;
}

GraphModel::~GraphModel() = default;

int64_t GraphModel::batch_exported() const {
  if (spec_.input_dims.empty() || spec_.input_dims[0].empty()) return 0;
  return std::max<int64_t>(0, spec_.input_dims[0][0]);
}

Tensor GraphModel::forward(const Tensor& x) {
  const auto out = run({tensor_value(x)});
  if (!out[0].t.defined())
    throw Error(spec_.source + ": the graph's output is a constant, not a function of its input");
  return out[0].t;
}

std::vector<Value> GraphModel::run(const std::vector<Value>& inputs) {
  if (inputs.size() != spec_.inputs.size())
    throw Error(spec_.source + ": the graph takes " + std::to_string(spec_.inputs.size()) + " inputs, not " +
                std::to_string(inputs.size()));
  batch_ = !inputs.empty() && inputs[0].t.defined() && inputs[0].t.ndim() > 0 ? inputs[0].t.dim(0) : 1;
  std::vector<Value> env(spec_.values.size());
  for (const auto& [id, c] : constants_) env[size_t(id)].host = c;
  for (size_t i = 0; i < inputs.size(); ++i) env[size_t(spec_.inputs[i])] = inputs[i];
  std::vector<bool> done(spec_.nodes.size(), false);
  for (size_t i = 0; i < spec_.nodes.size(); ++i) {
    if (!plans_[i].absorbed && !done[i]) {
      const GraphNode& n = spec_.nodes[i];
      NameScope scope(n.name);
      OpContext ctx(*this, i, env, done);
      std::vector<Value> out = op_table().at(n.op)(ctx);
      for (size_t k = 0; k < out.size() && k < n.outputs.size(); ++k)
        if (n.outputs[k] >= 0 && (out[k].t.defined() || out[k].host)) env[size_t(n.outputs[k])] = std::move(out[k]);
    }
    for (int id : release_after_[i]) env[size_t(id)] = Value();  // no later node reads it
  }
  std::vector<Value> out;
  for (int id : spec_.outputs) {
    if (!env[size_t(id)].t.defined() && !env[size_t(id)].host)
      throw Error(spec_.source + ": the graph output '" + spec_.values[size_t(id)] + "' was never computed");
    out.push_back(env[size_t(id)]);
  }
  return out;
}

}  // namespace gt::nn
