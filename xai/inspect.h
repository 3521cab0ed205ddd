// Looking inside the backward pass: every tape node of a saliency computation (d y_c / d x) with the
// statistics of the activation it produced and of the gradient that arrived at it, and its forward
// and backward time. The input gradient is the saliency map itself (the same computation, with hooks
// that only read).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "xai/saliency.h"
#include "xai/subject.h"

namespace gt::xai {

// Summary statistics over every element, in double; std is the population standard deviation.
struct Stats {
  double mean = 0, std = 0, min = 0, max = 0;
  double zeros = 0;            // fraction of exact zeros (dead ReLUs, pooled-away positions)
  double l2 = 0, max_abs = 0;  // L2 norm and max |v|
};
// All zeros for an empty tensor.
Stats tensor_stats(const Tensor& t);

// One tape node of the saliency computation.
struct NodeRecord {
  size_t index = 0;  // position on the tape (forward order)
  std::string layer, op;
  Shape shape;                // output shape
  Stats activation;           // of the node's output
  bool has_gradient = false;  // false where no gradient flowed back (a branch the target ignores)
  Stats gradient;             // of d score / d output
  // each measured from the end of the previous node's hook, so the statistics are not counted
  double forward_ms = 0, backward_ms = 0;
  Tensor activation_tensor, gradient_tensor;  // kept only when asked (dumps)
};

struct Inspection {
  std::vector<NodeRecord> nodes;  // every node, in forward order
  Tensor logits;                  // (1,K)
  Tensor input_gradient;          // d score / d x (1,C,H,W): saliency's raw attribution
};

// keep(layer): whether to keep that node's activation and gradient tensors (for --dump).
Inspection inspect(const Model& model, const Tensor& x, const Target& t,
                   const std::function<bool(const std::string& layer)>& keep = {});

// One node of a relevance pass (inspect --rule): the relevance that arrived at its output (LRP's R,
// DeepLIFT's contributions m (y - y')) and the total it handed on to its inputs.
struct RelevanceRecord {
  size_t index = 0;
  std::string layer, op;
  Shape shape;
  double sum = 0, positive = 0, negative = 0;  // the relevance at the output: its total and its two masses
  double handed_on = 0;                        // the total its inputs received
  Tensor relevance;                            // kept only when asked (dumps)
};

struct RelevanceFlow {
  std::vector<RelevanceRecord> nodes;  // every node the pass ran through, in forward order
  Tensor attribution;                  // the input's relevance (1,C,H,W)
  // What is conserved: f(x) for LRP, f(x) - f(x') for DeepLIFT.
  double conserved = 0;
  std::string conserved_name;  // "f(x)", "f(x) - f(x')"
};

// rule: lrp-COMPOSITE (lrp-epsilon-plus, lrp-epsilon-gamma-box, lrp-epsilon, ...: lrp_composite's
// names), deeplift or deeplift-reveal-cancel against `baseline` (as deeplift's --baseline); an
// unknown one is an InvalidArgument listing the known ones. keep(layer): keep that node's relevance.
RelevanceFlow relevance_flow(const Subject& s, const Target& t, const std::string& rule, const std::string& baseline,
                             const std::function<bool(const std::string& layer)>& keep = {});

// The input of a layer in the forward pass of x: the value that flows into the first node recorded
// under that layer name (a node's output, or x itself for the first layer). Empty when no node has
// that layer name.
Tensor layer_input(const Model& model, const Tensor& x, const std::string& layer);

// The output shapes of every op of a forward pass, in order, without a tape (for size estimates).
std::vector<std::pair<std::string, Shape>> op_shapes(const Model& model, const Tensor& x);

}  // namespace gt::xai
