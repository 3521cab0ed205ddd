#include "autodiff/tape.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <sstream>

#include "autodiff/backend.h"

namespace gt {
namespace {
std::atomic<uint64_t> g_next_epoch{1};
thread_local Tape* t_current = nullptr;
thread_local bool t_grad_enabled = true;
thread_local bool t_in_forward_hook = false;
thread_local std::string t_scope;
thread_local StreamPtr t_stream;

bool uniquely_owned(const Tensor& t) { return t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1; }

// acc += g, without writing into storage that someone else can see.
void accumulate(Tensor& acc, const Tensor& g) {
  if (!acc.defined()) {
    acc = g;
    return;
  }
  if (!uniquely_owned(acc)) acc = acc.clone();
  backend(acc.device()).axpby(1.0, g, 1.0, acc);
}
}  // namespace

const Tensor& BackwardContext::saved(size_t i) const {
  if (i >= node.saved.size())
    throw Error("backward of " + node.op + ": saved tensor " + std::to_string(i) + " was not saved");
  return node.saved[i];
}

Tape::Tape() : epoch_(g_next_epoch++) {}
Tape::~Tape() = default;

Tape& Tape::current() {
  if (t_current) return *t_current;
  thread_local Tape fallback;
  return fallback;
}

void Tape::reset() {
  nodes_.clear();
  slots_.clear();
  epoch_ = g_next_epoch++;
}

int Tape::slot_of(const Tensor& t, bool create) {
  TensorImpl* impl = t.impl();
  if (impl->tape_epoch == epoch_ && impl->slot >= 0) return impl->slot;
  if (!create) return -1;
  slots_.push_back(Slot{-1, t.impl_ptr()});
  impl->tape_epoch = epoch_;
  impl->slot = static_cast<int>(slots_.size()) - 1;
  return impl->slot;
}

Tensor Tape::record(const char* op, const std::vector<Tensor>& inputs, Tensor y, std::vector<Tensor> saved,
                    BackwardFn backward, const std::function<LinearForm()>& linear) {
  const std::string& layer = NameScope::current();
  const bool wanted = NoGradGuard::grad_enabled() &&
                      std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.requires_grad(); });
  if (wanted) {
    Node n;
    n.op = op;
    n.layer = layer;
    for (const Tensor& t : inputs) {
      n.inputs.push_back(slot_of(t, true));
      n.input_shapes.push_back(t.shape());
    }
    n.saved = std::move(saved);
    n.backward = std::move(backward);
    n.stream = current_stream();
    for (const auto& h : backward_hooks_)
      if (h.matches(n.op, layer)) n.backward_hooks.push_back(h.fn);
    if (keep_values_) {
      auto v = std::make_shared<NodeValues>();
      for (const Tensor& t : inputs) v->inputs.push_back(t.detach());
      v->output = y.detach();
      if (linear) v->linear = std::make_shared<LinearForm>(linear());
      n.values = std::move(v);
    }
    slots_.push_back(Slot{static_cast<int>(nodes_.size()), {}});
    n.output = static_cast<int>(slots_.size()) - 1;
    n.output_shape = y.shape();
    y.impl()->tape_epoch = epoch_;
    y.impl()->slot = n.output;
    y.set_requires_grad(true);
    nodes_.push_back(std::move(n));
  }
  if (!t_in_forward_hook && !forward_hooks_.empty()) {
    t_in_forward_hook = true;  // ops called by a hook do not trigger hooks again
    try {
      for (const auto& h : forward_hooks_)
        if (h.matches(op, layer)) {
          Tensor r = h.fn(op, layer, y);
          if (r.defined()) y = r;
        }
    } catch (...) {
      t_in_forward_hook = false;
      throw;
    }
    t_in_forward_hook = false;
  }
  return y;
}

std::vector<Tensor> Tape::run_backward(const Tensor& y, const Tensor& seed_in, const std::vector<int>& targets,
                                       bool check_nodes) {
  if (!y.defined()) throw Error("backward: undefined output tensor");
  const int ys = slot_of(y, false);
  if (ys < 0)
    throw Error("backward: the output " + y.shape().str() +
                " is not on the tape; nothing it was computed from requires a gradient");
  Tensor seed = seed_in;
  if (!seed.defined()) {
    if (y.numel() != 1)
      throw Error("backward: the output has shape " + y.shape().str() +
                  "; a non-scalar output needs a seed gradient of that shape");
    seed = Tensor::full(y.shape(), 1.0, y.dtype(), y.device());
  } else if (seed.shape() != y.shape() || seed.dtype() != y.dtype()) {
    throw Error("backward: seed gradient " + seed.shape().str() + " " + to_string(seed.dtype()) +
                " does not match the output " + y.shape().str() + " " + to_string(y.dtype()));
  }
  NoGradGuard no_grad;  // backward rules are not recorded
  const size_t S = slots_.size();
  std::vector<char> target(S, 0), need(S, 0);
  for (int t : targets)
    if (t >= 0) target[t] = 1;
  for (size_t s = 0; s < S; ++s) {  // slots are numbered in creation order: inputs precede outputs
    need[s] = target[s];
    if (!need[s] && slots_[s].producer >= 0)
      for (int in : nodes_[slots_[s].producer].inputs) need[s] |= need[in];
  }
  std::vector<Tensor> grads(S);
  grads[ys] = seed;
  StreamScope on(current_stream());
  for (size_t k = nodes_.size(); k-- > 0;) {
    const Node& n = nodes_[k];
    Tensor& dy = grads[n.output];
    if (!dy.defined() || !need[n.output]) continue;
    std::vector<bool> mask(n.inputs.size());
    bool any = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) any |= (mask[i] = need[n.inputs[i]]);
    if (!any) continue;
    std::vector<Tensor> dx(n.inputs.size());
    BackwardContext ctx(n, dy, mask, dx);
    on.use(n.stream);
    try {
      if (!override_ || !override_(k, ctx)) n.backward(ctx);
    } catch (const OutOfDeviceMemory& e) {  // the rule runs outside every NameScope: name its node
      throw OutOfDeviceMemory(std::string(e.what()) + " (in the backward of " + n.op +
                              (n.layer.empty() ? "" : " [" + n.layer + "]") + ")");
    }
    for (const auto& h : n.backward_hooks) h(n, dy, dx);
    if (observer_) observer_(k, dy, dx);
    for (size_t i = 0; i < dx.size(); ++i) {
      if (!mask[i] || !dx[i].defined()) continue;
      if (dx[i].shape() != n.input_shapes[i])
        throw Error("backward of " + n.op + " [" + n.layer + "]: gradient " + dx[i].shape().str() + " for input " +
                    std::to_string(i) + " of shape " + n.input_shapes[i].str());
      // Nodes run from the output back, so the first non-finite gradient names the node that made it.
      if (check_nodes && !dx[i].all_finite())
        throw Error("NaN or Inf in the gradient: first produced by the backward of " + n.op + " [" +
                    (n.layer.empty() ? "no layer" : n.layer) + "] (node " + std::to_string(k) + ", input " +
                    std::to_string(i) + ")");
      accumulate(grads[n.inputs[i]], dx[i]);
    }
    if (!target[n.output]) dy = Tensor();  // consumed: free it early
  }
  return grads;
}

std::vector<Tensor> Tape::checked_backward(const Tensor& y, const Tensor& seed, const std::vector<int>& targets) {
  // Scanning every node's gradient would cost a pass over all of them; the results alone are
  // scanned, and only when one holds a NaN or Inf does a second, checking pass find its origin.
  std::vector<Tensor> grads = run_backward(y, seed, targets, false);
  for (int t : targets)
    if (t >= 0 && grads[size_t(t)].defined() && !grads[size_t(t)].all_finite()) {
      run_backward(y, seed, targets, true);  // throws, naming the first node
      throw Error("NaN or Inf in the gradient: the seed gradient itself is not finite");
    }
  return grads;
}

std::vector<Tensor> Tape::grad(const Tensor& y, const std::vector<Tensor>& wrt, const Tensor& seed, bool retain) {
  std::vector<int> targets;
  for (const Tensor& t : wrt) {
    if (!t.defined()) throw Error("grad: undefined tensor in wrt");
    targets.push_back(slot_of(t, false));
  }
  std::vector<Tensor> grads = checked_backward(y, seed, targets);
  std::vector<Tensor> out;
  for (size_t i = 0; i < wrt.size(); ++i) {
    const int s = targets[i];
    out.push_back(s >= 0 && grads[s].defined() ? grads[s] : Tensor::zeros_like(wrt[i]));
  }
  if (!retain) reset();
  return out;
}

void Tape::backward(const Tensor& y, const Tensor& seed, bool retain) {
  std::vector<int> targets;
  std::vector<std::shared_ptr<TensorImpl>> leaves;
  for (size_t s = 0; s < slots_.size(); ++s) {
    auto leaf = slots_[s].tensor.lock();
    if (slots_[s].producer < 0 && leaf && leaf->requires_grad) {
      targets.push_back(static_cast<int>(s));
      leaves.push_back(leaf);
    }
  }
  std::vector<Tensor> grads = checked_backward(y, seed, targets);
  for (size_t i = 0; i < targets.size(); ++i) {
    Tensor& g = grads[targets[i]];
    if (!g.defined()) continue;
    Tensor& acc = leaves[i]->grad;
    if (!acc.defined())
      acc = uniquely_owned(g) ? g : g.clone();
    else
      backend(acc.device()).axpby(1.0, g, 1.0, acc);
  }
  if (!retain) reset();
}

std::string Tape::dump() const {
  std::ostringstream s;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    const Node& n = nodes_[k];
    s << k << '\t' << (n.layer.empty() ? "-" : n.layer) << '\t' << n.op << '\t';
    for (size_t i = 0; i < n.input_shapes.size(); ++i) s << (i ? " " : "") << n.input_shapes[i].str();
    s << " -> " << n.output_shape.str() << '\n';
  }
  return s.str();
}

void Tape::add_forward_hook(const std::string& op, const std::string& layer, ForwardHook fn) {
  forward_hooks_.push_back({op, layer, std::move(fn)});
}

void Tape::add_backward_hook(const std::string& op, const std::string& layer, BackwardHook fn) {
  backward_hooks_.push_back({op, layer, std::move(fn)});
}

bool Tape::hooked(const std::string& op, const std::string& layer) const {
  auto sees = [&](const auto& h) { return h.matches(op, layer); };
  return std::any_of(forward_hooks_.begin(), forward_hooks_.end(), sees) ||
         std::any_of(backward_hooks_.begin(), backward_hooks_.end(), sees);
}

TapeGuard::TapeGuard(Tape& t) : previous_(t_current) { t_current = &t; }
TapeGuard::~TapeGuard() { t_current = previous_; }

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }
bool NoGradGuard::grad_enabled() { return t_grad_enabled; }
EnableGradGuard::EnableGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { t_grad_enabled = previous_; }

NameScope::NameScope(std::string name) : previous_(std::move(t_scope)) { t_scope = std::move(name); }
NameScope::~NameScope() { t_scope = std::move(previous_); }
const std::string& NameScope::current() { return t_scope; }

const StreamPtr& current_stream() { return t_stream; }

StreamScope::StreamScope(StreamPtr s) : previous_(t_stream) { use(std::move(s)); }

StreamScope::~StreamScope() {
  try {
    use(previous_);
  } catch (const std::exception& e) {  // a destructor must not throw: report, and switch regardless
    std::fprintf(stderr, "gradtrace: warning: %s\n", e.what());
    t_stream = previous_;
  }
}

void StreamScope::use(StreamPtr s) {
  if (s == t_stream) return;
  (s ? *s : *t_stream).order(t_stream.get(), s.get());
  t_stream = std::move(s);
}

std::string op_context(const char* op) {
  return t_scope.empty() ? std::string(op) : std::string(op) + " [" + t_scope + "]";
}

}  // namespace gt
