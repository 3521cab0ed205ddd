// GraphModel: a model that is a DAG of named nodes (op, attributes, constants), built from a
// format-neutral GraphSpec that the importers (weights/onnx, later Keras and TF Lite) fill in. Every
// node runs on the tape inside NameScope(node name), so each node output is a layer: hooks, inspect,
// gradcam --layer, graph and layers see imported networks as they see the zoo. The op vocabulary is
// ONNX's (opsets 9-17); nn/graph_ops.cpp implements it, one function per op.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/model.h"

namespace gt::nn {

// A value known on the host: an initializer, a Constant node's tensor, or a shape computed from a
// tensor's (Shape, Gather, Concat, ... chains fold into these). Any rank, ints or reals.
struct HostValue {
  std::vector<int64_t> dims;
  std::vector<double> data;
  bool integer = false;
  int64_t numel() const;
  std::vector<int64_t> ints() const;  // the values as integers
};

// A node attribute; only the fields of its kind are set.
struct Attr {
  enum Kind { integer, real, text, integers, reals, tensor } kind = integer;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  HostValue t;
};

// Attributes as the importers write them.
Attr attr_int(int64_t i);
Attr attr_ints(std::vector<int64_t> v);
Attr attr_real(double f);
Attr attr_text(std::string s);

struct GraphNode {
  std::string name, op;              // a unique name ("/layer1/layer1.0/conv1/Conv"), an ONNX op type
  std::vector<int> inputs, outputs;  // value ids; -1 for an optional input left out
  std::map<std::string, Attr> attrs;
};

struct GraphSpec {
  std::vector<std::string> values;               // every value's name, by id
  std::map<int, HostValue> constants;            // initializers
  std::vector<int> inputs, outputs;              // the graph's runtime inputs and its outputs
  std::vector<std::vector<int64_t>> input_dims;  // per input; -1 for a dynamic size
  std::vector<GraphNode> nodes;                  // in any order: the build sorts them
  int64_t opset = 13;
  std::string source;  // the file, for messages
};

// A value while the graph runs: a tensor on the tape, or a host value.
struct Value {
  Tensor t;
  std::shared_ptr<const HostValue> host;
};

class GraphModel : public Model {
 public:
  // Sorts the nodes, folds the constant parts, turns constant weights into layers (Conv2d, BatchNorm,
  // parameters) and plans the fusions. Throws gt::Error naming the node of an unsupported op, and the
  // supported ops. The parameters are made in `dtype` from the file's values (float64: exactly).
  explicit GraphModel(GraphSpec spec, DType dtype = DType::f32);
  ~GraphModel() override;
  // The first graph input is x; the first output is returned.
  Tensor forward(const Tensor& x) override;
  // Runs the graph on any inputs (a tensor or, for shape inputs, a host value each); every output.
  std::vector<Value> run(const std::vector<Value>& inputs);
  const GraphSpec& spec() const { return spec_; }
  // The batch size that the file fixes for input 0 (0: dynamic), and the one of the current run.
  int64_t batch_exported() const;
  int64_t batch() const { return batch_; }
  // The ONNX op types that the graph runs.
  static std::vector<std::string> supported_ops();

  struct Plan;  // per node: its layers, fusion partners and parameter tensors (nn/graph.cpp)

 private:
  GraphSpec spec_;  // its nodes sorted, the constant ones folded into spec_.constants
  std::vector<Plan> plans_;
  std::map<int, std::shared_ptr<const HostValue>> constants_;
  std::vector<std::vector<int>> release_after_;  // per node: the values no later node reads
  int64_t batch_ = 1;
  friend struct GraphBuilder;
  friend class OpContext;
};

}  // namespace gt::nn
