// The gradient tape: an explicit list of nodes in creation order; backward is one reverse loop.
//
// Recording. An op records a node when gradients are enabled (no NoGradGuard is alive) and at least
// one input requires a gradient. Its output then requires a gradient too (requires_grad propagates).
// Every value the tape has seen gets a slot: a node's output, or a leaf (a tensor first seen as an
// input). Node inputs and outputs are slot numbers; a tensor knows its slot while the tape's epoch
// matches (reset() starts a new epoch, so stale tensors are never confused with new ones).
//
// Backward. grad(y, wrt) marks which slots need a gradient: the wrt slots, and every slot computed
// from one of them. A node runs only when its output received a gradient, and asks its rule only for
// the inputs that need one (a frozen conv under a saliency map computes dx, never dw). Gradients that
// fan out are summed.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/stream.h"
#include "autodiff/tensor.h"
#include "kernels/params.h"

namespace gt {

struct Node;

// What a backward rule sees: the gradient of the output, the saved tensors, which inputs need a
// gradient, and where to put them.
class BackwardContext {
 public:
  BackwardContext(const Node& n, const Tensor& dy, const std::vector<bool>& need, std::vector<Tensor>& out)
      : node(n), dy(dy), need_(need), out_(out) {}
  // dy and need are held by reference: a temporary would dangle (a backward override that builds a
  // context of its own passes named tensors).
  BackwardContext(const Node&, Tensor&&, const std::vector<bool>&, std::vector<Tensor>&) = delete;
  BackwardContext(const Node&, const Tensor&, std::vector<bool>&&, std::vector<Tensor>&) = delete;
  // The node being run, and the gradient of its output.
  const Node& node;
  const Tensor& dy;
  // Whether input i needs a gradient; a rule computes only those.
  bool needs(size_t i) const { return need_[i]; }
  // The i-th tensor the op saved when it recorded; throws when it saved fewer.
  const Tensor& saved(size_t i) const;
  // The gradient of input i, of the input's shape (the tape checks it after the rule).
  void set(size_t i, Tensor g) { out_.at(i) = std::move(g); }

 private:
  const std::vector<bool>& need_;
  std::vector<Tensor>& out_;
};

// A backward rule: from ctx.dy and the saved tensors, sets the gradient of each input that needs one.
using BackwardFn = std::function<void(BackwardContext&)>;
// A forward hook sees each op's output as it is made (recorded or not) and may replace it by
// returning another tensor (return `out` to keep it). Hooks run in registration order.
using ForwardHook = std::function<Tensor(const std::string& op, const std::string& layer, const Tensor& out)>;
// A backward hook sees a node's output gradient and the input gradients its rule produced, and may
// replace them in place (Guided Backprop clamps the ReLU gradient to be positive).
using BackwardHook = std::function<void(const Node& node, const Tensor& dy, std::vector<Tensor>& dx)>;

// A linear op as a relevance method sees it (conv2d, linear, their fused batch-norm forms, average
// pooling): y = act(apply(x, weight, bias) [+ residual]), the residual being input 1 where there is one.
// weight and bias are the effective ones, a fused batch norm's scale and shift folded in (BN
// canonization comes free with the fused op); apply runs the same map with other weights (LRP's
// gamma or alpha-beta rules) and is recorded like any op, so its transpose comes from the tape.
struct LinearForm {
  Tensor weight;  // (O,...); undefined for pooling, which has none
  Tensor bias;    // (O); undefined where the op adds none
  Act act = Act::none;
  bool residual = false;
  std::function<Tensor(const Tensor& x, const Tensor& w, const Tensor& b)> apply;
};

// The values a node read and made, kept for a backward override (see Tape::keep_values).
struct NodeValues {
  std::vector<Tensor> inputs;          // detached, in input order
  Tensor output;                       // detached
  std::shared_ptr<LinearForm> linear;  // linear ops only
};

// One recorded op: the slots it read and wrote, their shapes, and how to run its backward.
struct Node {
  std::string op;           // "conv2d"
  std::string layer;        // name scope at record time: "block3_conv2"
  std::vector<int> inputs;  // slots
  std::vector<Shape> input_shapes;
  int output = -1;  // slot
  Shape output_shape;
  std::vector<Tensor> saved;  // what the backward rule needs
  BackwardFn backward;
  StreamPtr stream;  // where the forward was queued: the backward is queued there too
  // The tape's backward hooks that matched when the node was recorded.
  std::vector<BackwardHook> backward_hooks;
  std::shared_ptr<const NodeValues> values;  // only while the tape keeps values
};

// A method's own backward for some nodes (LRP and DeepLIFT propagate relevance or multipliers, not
// the gradient): called for each node that runs, with its index; returns true when it set the input
// gradients itself (ctx.set), false to run the op's own rule.
using BackwardOverride = std::function<bool(size_t node, BackwardContext& ctx)>;
// Sees each node's output gradient and the input gradients it produced, after its rule (or override)
// and hooks have run. Read-only, and unlike a hook it keeps fused ops fused (inspect's relevance view).
using BackwardObserver = std::function<void(size_t node, const Tensor& dy, const std::vector<Tensor>& dx)>;

// The recorded nodes and the slots they connect (see above). Not copyable; ops record on current().
class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // The tape that ops record on in this thread: the innermost TapeGuard's, else a per-thread default.
  static Tape& current();

  // Gradients of y with respect to each tensor in wrt (zeros where y does not depend on it). y must be
  // a single value unless seed (dL/dy, same shape as y) is given. Keeps the tape unless retain is false.
  std::vector<Tensor> grad(const Tensor& y, const std::vector<Tensor>& wrt, const Tensor& seed = Tensor(),
                           bool retain = false);
  // Training form: accumulates dy/dleaf into leaf.grad() for every leaf that requires a gradient,
  // then resets the tape unless retain.
  void backward(const Tensor& y, const Tensor& seed = Tensor(), bool retain = false);

  // Drops every node and saved tensor and starts a new epoch.
  void reset();
  // The nodes recorded since the last reset, in creation (forward) order.
  size_t size() const { return nodes_.size(); }
  const Node& node(size_t i) const { return nodes_.at(i); }
  // Dumps one line per node: index, layer, op, input shapes -> output shape.
  std::string dump() const;

  // Hooks match nodes by op and by layer; an empty string matches anything. They live as long as the
  // tape (a method makes a tape of its own for the hooks it needs).
  void add_forward_hook(const std::string& op, const std::string& layer, ForwardHook fn);
  // A backward hook attaches to matching nodes as they are recorded, so it runs only for nodes
  // recorded after it was added.
  void add_backward_hook(const std::string& op, const std::string& layer, BackwardHook fn);
  // Whether a hook would see a node with this op and layer: layers that fuse ops (nn::Model's
  // conv -> batch norm -> ReLU) stay unfused where a hook looks.
  bool hooked(const std::string& op, const std::string& layer) const;

  // While on, every node recorded keeps its input and output values (and a linear op its
  // LinearForm) for a backward override. Off by default: ops keep only what their backward needs.
  void keep_values(bool on) { keep_values_ = on; }
  bool keeps_values() const { return keep_values_; }
  // Replaces the backward of the nodes fn claims, for every later grad/backward on this tape.
  void set_backward_override(BackwardOverride fn) { override_ = std::move(fn); }
  // Calls fn for every node that runs in later grad/backward calls on this tape.
  void set_backward_observer(BackwardObserver fn) { observer_ = std::move(fn); }

  // Used by ops: records y = op(inputs) and returns y, or the tensor a forward hook replaced it with.
  // A linear op passes `linear`, called only when the tape keeps values.
  Tensor record(const char* op, const std::vector<Tensor>& inputs, Tensor y, std::vector<Tensor> saved,
                BackwardFn backward, const std::function<LinearForm()>& linear = {});

 private:
  struct Slot {
    int producer = -1;                 // node index, or -1 for a leaf
    std::weak_ptr<TensorImpl> tensor;  // leaves only: where backward() accumulates
  };
  template <class Fn>
  struct Hook {
    std::string op, layer;
    Fn fn;
    bool matches(const std::string& o, const std::string& l) const {
      return (op.empty() || op == o) && (layer.empty() || layer == l);
    }
  };
  int slot_of(const Tensor& t, bool create);
  // check_nodes: stop at the first node whose input gradient holds a NaN or Inf, naming it.
  std::vector<Tensor> run_backward(const Tensor& y, const Tensor& seed, const std::vector<int>& targets,
                                   bool check_nodes);
  std::vector<Tensor> checked_backward(const Tensor& y, const Tensor& seed, const std::vector<int>& targets);

  uint64_t epoch_;
  std::vector<Node> nodes_;
  std::vector<Slot> slots_;
  std::vector<Hook<ForwardHook>> forward_hooks_;
  std::vector<Hook<BackwardHook>> backward_hooks_;
  bool keep_values_ = false;
  BackwardOverride override_;
  BackwardObserver observer_;
};

// Makes a tape the current one for this thread while alive.
class TapeGuard {
 public:
  explicit TapeGuard(Tape& t);
  ~TapeGuard();
  TapeGuard(const TapeGuard&) = delete;
  TapeGuard& operator=(const TapeGuard&) = delete;

 private:
  Tape* previous_;
};

// Disables recording while alive (inference, optimiser updates, backward rules themselves).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
  // False while a NoGradGuard is alive in this thread.
  static bool grad_enabled();

 private:
  bool previous_;
};

// Enables recording while alive, even inside a NoGradGuard: a backward override differentiates a map
// of its own on a nested tape (LRP's gamma rule: the transpose of a conv with other weights).
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// Sets the layer name that ops record while alive ("block3_conv2"); nested scopes replace the name.
class NameScope {
 public:
  explicit NameScope(std::string name);
  ~NameScope();
  NameScope(const NameScope&) = delete;
  NameScope& operator=(const NameScope&) = delete;
  // The innermost live scope's name in this thread; empty outside every scope.
  static const std::string& current();

 private:
  std::string previous_;
};

// "op [layer]" for error messages.
std::string op_context(const char* op);

}  // namespace gt
