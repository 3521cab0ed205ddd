// Inside GraphModel: what the builder plans per node, and the context an op function runs in.
// Only nn/graph*.cpp include this.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "nn/graph.h"

namespace gt::nn {

// The node's constant inputs that an op uses as tensors (PRelu's slope, Add's bias, ...): held as a
// layer so that they move with Model::to and train like any parameter.
class ParamLayer : public Layer {
 public:
  using Layer::Layer;
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::vector<NamedTensor> named_parameters() override;

 protected:
  Tensor forward(const Tensor& x) override;  // never called: the op function reads the tensors
};

struct GraphModel::Plan {
  Conv2d* conv = nullptr;          // Conv with constant weights (fusable with what follows)
  BatchNorm* bn = nullptr;         // BatchNormalization with constant parameters
  Dense* dense = nullptr;          // Gemm with a constant weight and bias
  ParamLayer* params = nullptr;    // the other constant inputs used as tensors
  std::map<size_t, size_t> param;  // input slot -> index in params->tensors
  Act act = Act::none;             // Conv: the activation fused after it (conv_bn)
  std::string act_layer;           // ... and its node's name
  int result = -1;                 // Conv: the value id the fused call yields (BN's or the activation's)
  int fused_relu = -1;             // Add: the Relu node that add_relu may absorb
  bool absorbed = false;           // runs inside another node's call
};

// An op function's view of its node while the graph runs (or while the builder folds constants).
class OpContext {
 public:
  OpContext(GraphModel& m, size_t node, std::vector<Value>& env, std::vector<bool>& done);
  GraphModel& model;
  const GraphNode& node;
  GraphModel::Plan& plan;
  int64_t opset() const { return model.spec_.opset; }
  // Input k is given (optional inputs may be left out); is known on the host.
  bool has(size_t k) const;
  bool on_host(size_t k) const;
  bool all_on_host() const;  // every given input
  // Input k as a tensor on the tape: a runtime tensor, the node's parameter, or a host value made
  // into a tensor of the running dtype and device.
  Tensor tensor(size_t k) const;
  const HostValue& host(size_t k) const;  // throws unless input k is known on the host
  // Input k, a one-element host value or tensor, as a number (Clip's bounds, Pad's value): read on
  // the host, so no gradient flows to it.
  double scalar(size_t k) const;
  // Attributes, with the default where the node does not set one.
  bool has_attr(const std::string& name) const { return node.attrs.count(name) > 0; }
  int64_t attr(const std::string& name, int64_t def) const;
  double attr(const std::string& name, double def) const;
  std::string attr(const std::string& name, const std::string& def) const;
  std::vector<int64_t> attr(const std::string& name, const std::vector<int64_t>& def) const;
  // Throws gt::Error naming the node and its op.
  [[noreturn]] void fail(const std::string& why) const;
  // Marks node k (a fused partner) as run.
  void mark_done(int k) { done_[size_t(k)] = true; }
  // The value of output id `id` (for fused partners' outputs).
  void set(int id, Value v) { env_[size_t(id)] = std::move(v); }
  Model& base() { return model; }
  // Model::conv_bn with the activation the plan fused after it.
  Tensor conv_bn(Conv2d& c, const Tensor& x) { return model.conv_bn(c, x, plan.act, plan.act_layer); }

 private:
  std::vector<Value>& env_;
  std::vector<bool>& done_;
};

using OpFn = std::vector<Value> (*)(OpContext&);
// Every op by its ONNX type: the shape and layout ops (nn/graph_layout.cpp) and the network ops
// (nn/graph_ops.cpp) add theirs.
const std::map<std::string, OpFn>& op_table();
void add_layout_ops(std::map<std::string, OpFn>& table);
void add_network_ops(std::map<std::string, OpFn>& table);
// Ops that may run on host values alone (shape arithmetic); the builder folds them where every
// input is a constant.
bool host_capable(const std::string& op);
// Which inputs an op reads as host values (shapes, axes, pads, bounds), not as tensors.
bool host_input(const std::string& op, size_t slot, int64_t opset);

// Helpers shared by the op files.
Value host_value(HostValue h);
Value tensor_value(Tensor t);
// An axis in [-rank, rank) made non-negative; fails through ctx otherwise.
int axis_of(const OpContext& ctx, int64_t axis, int rank);
// Input k's dimensions, a tensor's or a host value's.
std::vector<int64_t> dims_of(const OpContext& ctx, size_t k);
// Input 0 with new dimensions (same elements): a host value stays on the host, a tensor is reshaped.
Value reshaped(const OpContext& ctx, const std::vector<int64_t>& dims);

}  // namespace gt::nn
