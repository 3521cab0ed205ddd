// GraphModel's build: sort the nodes, fold what is constant, make layers of the constant weights and
// plan the fusions the zoo uses (conv -> batch norm -> ReLU/ReLU6 as one conv2d_affine node, add ->
// ReLU as one add_relu node). Model::conv_bn and the Add op check the tape's hooks at run time, so
// a hooked layer still runs op by op.
#include <algorithm>
#include <queue>
#include <set>

#include "nn/graph.h"
#include "nn/graph_ops.h"

namespace gt::nn {

struct GraphBuilder {
  GraphModel& m;
  GraphSpec& s;
  DType dtype;                 // of the parameters
  std::vector<int> producer;   // value id -> node index, -1 for inputs and constants
  std::vector<int> consumers;  // value id -> uses (a graph output counts as one)
  std::vector<int> consumer;   // value id -> the last node that reads it

  [[noreturn]] void fail(const GraphNode& n, const std::string& why) const {
    throw Error(s.source + ": node '" + n.name + "' (" + n.op + "): " + why);
  }

  void check_ops() const {
    std::string unsupported;
    std::set<std::string> seen;
    for (const GraphNode& n : s.nodes)
      if (!op_table().count(n.op) && seen.insert(n.op).second && seen.size() <= 4)
        unsupported += std::string(unsupported.empty() ? "" : ", ") + "'" + n.op + "' (node '" + n.name + "')";
    if (unsupported.empty()) return;
    std::string known;
    for (const auto& op : GraphModel::supported_ops()) known += (known.empty() ? "" : " ") + op;
    throw Error(s.source + ": unsupported op type " + unsupported + "; gradtrace runs: " + known);
  }

  // Kahn's algorithm; every value must be an input, a constant or some node's output.
  void sort() {
    const size_t V = s.values.size();
    std::vector<int> made_by(V, -1);
    std::vector<bool> ready(V, false);
    for (int id : s.inputs) ready[size_t(id)] = true;
    for (const auto& [id, c] : s.constants) ready[size_t(id)] = true;
    for (size_t i = 0; i < s.nodes.size(); ++i)
      for (int o : s.nodes[i].outputs)
        if (o >= 0) {
          if (made_by[size_t(o)] >= 0 || ready[size_t(o)])
            fail(s.nodes[i], "value '" + s.values[size_t(o)] + "' is defined twice");
          made_by[size_t(o)] = int(i);
        }
    std::vector<int> waiting(s.nodes.size(), 0);
    std::vector<std::vector<size_t>> readers(V);
    for (size_t i = 0; i < s.nodes.size(); ++i)
      for (int in : s.nodes[i].inputs) {
        if (in < 0 || ready[size_t(in)]) continue;
        if (made_by[size_t(in)] < 0) fail(s.nodes[i], "its input '" + s.values[size_t(in)] + "' is never computed");
        ++waiting[i];
        readers[size_t(in)].push_back(i);
      }
    std::queue<size_t> q;
    for (size_t i = 0; i < s.nodes.size(); ++i)
      if (!waiting[i]) q.push(i);
    std::vector<GraphNode> sorted;
    while (!q.empty()) {
      const size_t i = q.front();
      q.pop();
      sorted.push_back(s.nodes[i]);
      for (int o : s.nodes[i].outputs)
        if (o >= 0)
          for (size_t r : readers[size_t(o)])
            if (--waiting[r] == 0) q.push(r);
    }
    if (sorted.size() != s.nodes.size()) throw Error(s.source + ": the graph has a cycle");
    s.nodes = std::move(sorted);
    for (int o : s.outputs)
      if (made_by[size_t(o)] < 0 && !ready[size_t(o)])
        throw Error(s.source + ": the graph output '" + s.values[size_t(o)] + "' is never computed");
  }

  // Nodes whose inputs are all constants and that can run on the host become constants.
  void fold() {
    m.plans_.assign(s.nodes.size(), {});
    std::vector<Value> env(s.values.size());
    for (const auto& [id, c] : s.constants) env[size_t(id)] = host_value(c);
    std::vector<bool> done(s.nodes.size(), false), folded(s.nodes.size(), false);
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      const GraphNode& n = s.nodes[i];
      if (!host_capable(n.op)) continue;
      bool constant = true;
      for (int in : n.inputs) constant &= in < 0 || env[size_t(in)].host != nullptr;
      if (!constant) continue;
      OpContext ctx(m, i, env, done);
      const std::vector<Value> out = op_table().at(n.op)(ctx);
      for (size_t k = 0; k < out.size() && k < n.outputs.size(); ++k)
        if (n.outputs[k] >= 0 && out[k].host) {
          if (int64_t(out[k].host->data.size()) != out[k].host->numel())
            fail(n, "a constant whose values do not fill its shape");
          env[size_t(n.outputs[k])] = out[k];
          s.constants[n.outputs[k]] = *out[k].host;
        }
      folded[i] = true;
    }
    std::vector<GraphNode> kept;
    for (size_t i = 0; i < s.nodes.size(); ++i)
      if (!folded[i]) kept.push_back(std::move(s.nodes[i]));
    s.nodes = std::move(kept);
    m.plans_.assign(s.nodes.size(), {});
  }

  // Every op yields its first output only (Dropout's mask, MaxPool's indices are not computed).
  void check_outputs() const {
    for (const GraphNode& n : s.nodes)
      for (size_t k = 1; k < n.outputs.size(); ++k)
        if (n.outputs[k] >= 0 && consumers[size_t(n.outputs[k])] > 0)
          fail(n, "its output " + std::to_string(k) + " ('" + s.values[size_t(n.outputs[k])] + "') is not supported");
  }

  void count_uses() {
    producer.assign(s.values.size(), -1);
    consumers.assign(s.values.size(), 0);
    consumer.assign(s.values.size(), -1);
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      for (int o : s.nodes[i].outputs)
        if (o >= 0) producer[size_t(o)] = int(i);
      for (int in : s.nodes[i].inputs)
        if (in >= 0) ++consumers[size_t(in)], consumer[size_t(in)] = int(i);
    }
    for (int o : s.outputs) ++consumers[size_t(o)];
  }

  // Input k is a constant whose values fill its shape (an inconsistent one is left to the op, which
  // refuses it through OpContext::host).
  bool constant(const GraphNode& n, size_t k) const {
    if (k >= n.inputs.size() || n.inputs[k] < 0 || !s.constants.count(n.inputs[k])) return false;
    const HostValue& h = s.constants.at(n.inputs[k]);
    return int64_t(h.data.size()) == h.numel();
  }
  const HostValue& value(const GraphNode& n, size_t k) const { return s.constants.at(n.inputs[k]); }
  Tensor tensor(const HostValue& h, const Shape& shape) const { return Tensor::from_vector(shape, h.data, dtype); }

  // Conv with constant weights (and bias): a Conv2d layer; 1-D kernels become 1 x k.
  void plan_conv(size_t i) {
    const GraphNode& n = s.nodes[i];
    if (!constant(n, 1) || (n.inputs.size() > 2 && n.inputs[2] >= 0 && !constant(n, 2))) return;
    const HostValue& w = value(n, 1);
    if (w.dims.size() != 3 && w.dims.size() != 4) return;  // the op reports the rank
    const int64_t g = std::max<int64_t>(1, n.attrs.count("group") ? n.attrs.at("group").i : 1);
    ops::Conv2dOptions o;
    o.groups = g;
    const bool bias = constant(n, 2);
    Conv2d& c = m.add<Conv2d>(n.name, w.dims[1] * g, w.dims[0], 1, o, bias, false);
    const Shape ws = w.dims.size() == 4 ? Shape(w.dims) : Shape{w.dims[0], w.dims[1], 1, w.dims[2]};
    c.weight = tensor(w, ws);
    if (bias) c.bias = tensor(value(n, 2), {w.dims[0]});
    m.plans_[i].conv = &c;
    m.plans_[i].result = n.outputs[0];
  }

  // The conv node whose fused call may also produce value v (v its only use), or -1.
  int fusable_conv(int v) const {
    if (v < 0 || consumers[size_t(v)] != 1) return -1;
    for (int p = producer[size_t(v)]; p >= 0;) {
      const Plan& plan = m.plans_[size_t(p)];
      if (plan.conv && plan.result == v) return p;
      return -1;
    }
    return -1;
  }

  void plan_batch_norm(size_t i) {
    const GraphNode& n = s.nodes[i];
    for (size_t k = 1; k <= 4; ++k)
      if (!constant(n, k)) return;
    const HostValue& gamma = value(n, 1);
    const int64_t C = gamma.numel();
    for (size_t k = 2; k <= 4; ++k)
      if (value(n, k).numel() != C) fail(n, "scale, bias, mean and variance differ in length");
    const double eps = n.attrs.count("epsilon") ? n.attrs.at("epsilon").f : 1e-5;
    const bool training = n.attrs.count("training_mode") && n.attrs.at("training_mode").i;
    const int conv = training ? -1 : fusable_conv(n.inputs[0]);
    BatchNorm& bn =
        conv >= 0 ? m.add_bn(*m.plans_[size_t(conv)].conv, n.name, C, eps) : m.add<BatchNorm>(n.name, C, eps);
    bn.weight = tensor(gamma, {C});
    bn.bias = tensor(value(n, 2), {C});
    bn.running_mean = tensor(value(n, 3), {C});
    bn.running_var = tensor(value(n, 4), {C});
    if (conv >= 0) {
      m.plans_[size_t(conv)].result = n.outputs[0];
      m.plans_[i].absorbed = true;
    } else {
      m.plans_[i].bn = &bn;
    }
  }

  // Relu, or Clip to [0, 6], right after a conv (and its batch norm): the conv's epilogue.
  void plan_activation(size_t i) {
    const GraphNode& n = s.nodes[i];
    if (n.inputs.empty() || n.outputs.empty()) return;  // (the op refuses it when it runs)
    Act act = Act::relu;
    if (n.op == "Clip") {
      double lo = n.attrs.count("min") ? n.attrs.at("min").f : -1, hi = n.attrs.count("max") ? n.attrs.at("max").f : -1;
      if (s.opset >= 11) {
        if (!constant(n, 1) || !constant(n, 2) || value(n, 1).numel() != 1 || value(n, 2).numel() != 1) return;
        lo = value(n, 1).data[0], hi = value(n, 2).data[0];
      }
      if (lo != 0 || hi != 6) return;
      act = Act::relu6;
    }
    const int conv = fusable_conv(n.inputs[0]);
    if (conv >= 0) {
      Plan& p = m.plans_[size_t(conv)];
      p.act = act, p.act_layer = n.name, p.result = n.outputs[0];
      m.plans_[i].absorbed = true;
    } else if (act == Act::relu && n.inputs[0] >= 0 && consumers[size_t(n.inputs[0])] == 1 &&
               producer[size_t(n.inputs[0])] >= 0 && s.nodes[size_t(producer[size_t(n.inputs[0])])].op == "Add") {
      m.plans_[size_t(producer[size_t(n.inputs[0])])].fused_relu = int(i);
    }
  }

  // Gemm with constant B and C (a vector): a Dense layer, weight alpha op(B)^T, bias beta C.
  void plan_gemm(size_t i) {
    const GraphNode& n = s.nodes[i];
    auto a = [&](const char* k, double d) { return n.attrs.count(k) ? n.attrs.at(k).f : d; };
    auto flag = [&](const char* k) { return n.attrs.count(k) && n.attrs.at(k).i; };
    if (flag("transA") || !constant(n, 1) || value(n, 1).dims.size() != 2) return;
    const HostValue& b = value(n, 1);
    const bool tb = flag("transB");
    const int64_t K = tb ? b.dims[1] : b.dims[0], N = tb ? b.dims[0] : b.dims[1];
    const bool has_c = n.inputs.size() > 2 && n.inputs[2] >= 0;
    if (has_c && (!constant(n, 2) || value(n, 2).numel() != N || value(n, 2).dims.size() > 2)) return;
    std::vector<double> w(size_t(K * N)), bias(size_t(N), 0.0);
    const double alpha = a("alpha", 1.0), beta = a("beta", 1.0);
    for (int64_t o = 0; o < N; ++o)
      for (int64_t k = 0; k < K; ++k) w[size_t(o * K + k)] = alpha * b.data[size_t(tb ? o * K + k : k * N + o)];
    if (has_c)
      for (int64_t o = 0; o < N; ++o) bias[size_t(o)] = beta * value(n, 2).data[size_t(o)];
    Dense& d = m.add<Dense>(n.name, K, N);
    d.weight = Tensor::from_vector({N, K}, w, dtype);
    d.bias = Tensor::from_vector({N}, bias, dtype);
    m.plans_[i].dense = &d;
  }

  // The constant inputs that the op reads as tensors and no layer holds yet.
  void plan_params(size_t i) {
    const GraphNode& n = s.nodes[i];
    Plan& p = m.plans_[i];
    if (p.absorbed || p.conv || p.bn || p.dense) return;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (!constant(n, k) || host_input(n.op, k, s.opset)) continue;
      const HostValue& h = value(n, k);
      if (h.dims.size() > 4) fail(n, "a rank-" + std::to_string(h.dims.size()) + " constant (at most 4 here)");
      if (!p.params) p.params = &m.add<ParamLayer>(n.name);
      p.param[k] = p.params->tensors.size();
      p.params->tensors.push_back({"input" + std::to_string(k), tensor(h, Shape(h.dims))});
    }
  }

  void plan_releases() {
    std::vector<int> last(s.values.size(), -1);
    for (size_t i = 0; i < s.nodes.size(); ++i)
      for (int in : s.nodes[i].inputs)
        if (in >= 0) last[size_t(in)] = int(i);
    for (int o : s.outputs) last[size_t(o)] = -1;
    for (const auto& [id, c] : s.constants) last[size_t(id)] = -1;
    m.release_after_.assign(s.nodes.size(), {});
    for (size_t v = 0; v < last.size(); ++v)
      if (last[v] >= 0) m.release_after_[size_t(last[v])].push_back(int(v));
  }

  using Plan = GraphModel::Plan;

  void build() {
    check_ops();
    sort();
    fold();
    count_uses();
    check_outputs();
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      const std::string& op = s.nodes[i].op;
      if (op == "Conv") plan_conv(i);
      if (op == "BatchNormalization") plan_batch_norm(i);
      if (op == "Relu" || op == "Clip") plan_activation(i);
      if (op == "Gemm") plan_gemm(i);
      plan_params(i);
    }
    plan_releases();
    for (const auto& [id, c] : s.constants) m.constants_[id] = std::make_shared<const HostValue>(c);
  }
};

GraphModel::GraphModel(GraphSpec spec, DType dtype) : spec_(std::move(spec)) {
  // Every value id names a value; only a node's optional inputs and outputs may be left out (-1).
  const int V = int(spec_.values.size());
  auto check = [&](int id, bool optional, const std::string& what) {
    if (id >= V || id < (optional ? -1 : 0))
      throw Error(spec_.source + ": " + what + " has no name or an unknown value");
  };
  for (int id : spec_.inputs) check(id, false, "a graph input");
  for (int id : spec_.outputs) check(id, false, "a graph output");
  for (const auto& [id, c] : spec_.constants) check(id, false, "a constant");
  for (const GraphNode& n : spec_.nodes) {
    for (int id : n.inputs) check(id, true, "an input of node '" + n.name + "'");
    for (int id : n.outputs) check(id, true, "an output of node '" + n.name + "'");
  }
  if (spec_.input_dims.size() != spec_.inputs.size())
    throw Error(spec_.source + ": input shapes do not match the inputs");
  GraphBuilder{*this, spec_, dtype, {}, {}, {}}.build();
  info.arch = "graph";
  info.variant = "graph";
  info.preprocessing = "none";
  info.labels = "none";
  info.resize = "squash";
  info.classes = 0;
}

}  // namespace gt::nn
