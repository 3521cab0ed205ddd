#include "xai/inspect.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "autodiff/ops.h"
#include "xai/deeplift.h"
#include "xai/lrp.h"

namespace gt::xai {
namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// A hook on every op that calls fn(node index, layer, output) for the ops the tape records as nodes
// (an op none of whose inputs needs a gradient records none, and has no backward to look at). Being
// a hook on every layer, it also keeps each layer its own node (no fusion).
void on_each_node(Tape& tape, const std::function<void(size_t, const std::string&, const Tensor&)>& fn) {
  tape.add_forward_hook(
      "", "", [&tape, fn, seen = size_t(0)](const std::string&, const std::string& layer, const Tensor& out) mutable {
        if (tape.size() > seen) {
          seen = tape.size();
          fn(seen - 1, layer, out);
        }
        return out;
      });
}
}  // namespace

Stats tensor_stats(const Tensor& t) {
  Stats s;
  const std::vector<double> v = t.to_vector_f64();
  if (v.empty()) return s;
  double sum = 0, sq = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  size_t zeros = 0;
  for (double e : v) {
    sum += e;
    sq += e * e;
    s.min = std::min(s.min, e);
    s.max = std::max(s.max, e);
    s.max_abs = std::max(s.max_abs, std::abs(e));
    zeros += e == 0.0;
  }
  const double n = double(v.size());
  s.mean = sum / n;
  s.std = std::sqrt(std::max(0.0, sq / n - s.mean * s.mean));
  s.l2 = std::sqrt(sq);
  s.zeros = double(zeros) / n;
  return s;
}

Inspection inspect(const Model& model, const Tensor& x, const Target& t,
                   const std::function<bool(const std::string&)>& keep) {
  Inspection r;
  Tape* tape = nullptr;
  Clock::time_point mark;
  // Hooks on every op: each sees its output (forward) or the gradient arriving at it (backward). A
  // node's time is the time since the previous hook returned, so the statistics are not counted.
  auto setup = [&](Tape& tp) {
    tape = &tp;
    on_each_node(tp, [&](size_t index, const std::string& layer, const Tensor& out) {
      NodeRecord n;
      synchronize(out.device());  // a GPU's kernels run after their launch: time them to the end
      n.forward_ms = ms_since(mark);
      n.index = index;
      n.layer = layer;
      n.op = tape->node(index).op;
      n.shape = out.shape();
      n.activation = tensor_stats(out);
      if (keep && keep(layer)) n.activation_tensor = out.clone();
      r.nodes.push_back(std::move(n));
      mark = Clock::now();
    });
    tp.add_backward_hook("", "", [&](const Node& node, const Tensor& dy, std::vector<Tensor>& dx) {
      for (const Tensor& g : dx)
        if (g.defined()) synchronize(g.device());
      const double ms = ms_since(mark);
      const size_t i = size_t(&node - &tape->node(0));
      if (i < r.nodes.size()) {
        NodeRecord& n = r.nodes[i];
        n.has_gradient = true;
        n.gradient = tensor_stats(dy);
        n.backward_ms = ms;
        if (n.activation_tensor.defined()) n.gradient_tensor = dy.clone();
      }
      mark = Clock::now();
    });
    mark = Clock::now();
  };
  const Model keep_logits = [&](const Tensor& in) {
    Tensor logits = model(in);
    r.logits = logits.detach();
    return logits;
  };
  r.input_gradient = input_gradient(keep_logits, x, t, setup);
  return r;
}

RelevanceFlow relevance_flow(const Subject& s, const Target& t, const std::string& rule, const std::string& baseline,
                             const std::function<bool(const std::string&)>& keep) {
  RelevanceFlow r;
  const RelevanceObserver observe = [&](size_t k, const Node& n, const Tensor& out, const std::vector<Tensor>& in) {
    RelevanceRecord rec;
    rec.index = k, rec.layer = n.layer, rec.op = n.op, rec.shape = n.output_shape;
    for (double v : out.to_vector_f64()) {
      rec.sum += v;
      (v > 0 ? rec.positive : rec.negative) += v;
    }
    for (const Tensor& g : in)
      if (g.defined()) rec.handed_on += ops::sum(g).item();
    if (keep && keep(n.layer)) rec.relevance = out.clone();
    r.nodes.push_back(std::move(rec));
  };
  if (rule.rfind("lrp-", 0) == 0) {
    const auto [low, high] = lrp_box_bounds(s);
    r.attribution = lrp(s.fn, s.x, t, lrp_composite(rule.substr(4), low, high), observe, &r.conserved);
    r.conserved_name = "f(x)";
  } else if (rule == "deeplift" || rule == "deeplift-reveal-cancel") {
    DeepLiftOptions o;
    o.rule = rule == "deeplift" ? DeepLiftOptions::Rule::rescale : DeepLiftOptions::Rule::reveal_cancel;
    o.observe = observe;
    const DeepLiftResult d = deeplift(s.fn, s.x, s.baseline(baseline), t, o);
    r.attribution = d.attribution;
    r.conserved = d.f_x - d.f_baseline;
    r.conserved_name = "f(x) - f(x')";
  } else {
    std::string known = "deeplift, deeplift-reveal-cancel";
    for (const auto& c : lrp_composite_names()) known += ", lrp-" + c;
    for (const auto& c : lrp_rule_names()) known += ", lrp-" + c;
    throw InvalidArgument("unknown --rule '" + rule + "' (known: " + known + ")");
  }
  std::reverse(r.nodes.begin(), r.nodes.end());  // the backward ran from the output
  return r;
}

Tensor layer_input(const Model& model, const Tensor& x_in, const std::string& layer) {
  Tape tape;
  TapeGuard guard(tape);
  std::vector<Tensor> outputs;  // by node index
  Tensor found;
  const Tensor x = x_in.detach().set_requires_grad(true);
  on_each_node(tape, [&](size_t index, const std::string& l, const Tensor& out) {
    outputs.push_back(out);
    if (found.defined() || l != layer) return;
    const int slot = tape.node(index).inputs.at(0);
    for (size_t j = 0; j < index; ++j)
      if (tape.node(j).output == slot) found = outputs[j].detach();
    if (!found.defined()) found = x_in.detach();  // a leaf: the model's input
  });
  model(x);
  return found;
}

std::vector<std::pair<std::string, Shape>> op_shapes(const Model& model, const Tensor& x) {
  Tape tape;
  TapeGuard guard(tape);
  NoGradGuard no_grad;
  std::vector<std::pair<std::string, Shape>> shapes;
  tape.add_forward_hook("", "", [&](const std::string&, const std::string& layer, const Tensor& out) {
    shapes.push_back({layer, out.shape()});
    return out;
  });
  model(x);
  return shapes;
}

}  // namespace gt::xai
