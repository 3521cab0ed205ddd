#include "xai/deeplift.h"

#include <map>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "xai/method.h"
#include "xai/relevance.h"

namespace gt::xai {
namespace {

using namespace relevance;

// Ops whose multiplier is their gradient: linear in each variable input (a product or quotient by a
// constant, a sum, a batch norm in inference), or routing values unchanged.
bool linear_op(const std::string& op) {
  static const std::string kLinear =
      " conv2d conv2d_affine conv2d_affine_add linear matmul avg_pool2d global_avg_pool bias_add batch_norm add sub"
      " add_scalar mul_scalar reshape concat concat_channels transpose pad to_device expand sum_to sum sum_dim mean"
      " mean_dim dropout resize_bilinear ";
  return kLinear.find(" " + op + " ") != std::string::npos;
}
// Elementwise nonlinearities y = g(z): the Rescale (or RevealCancel) rule.
bool elementwise_op(const std::string& op) {
  return listed(op, {"relu", "relu6", "sigmoid", "tanh", "rsqrt", "abs", "exp", "clamp", "step"});
}
// g itself, for RevealCancel's evaluations at other points; undefined for a g it cannot evaluate.
Tensor evaluate(const std::string& op, const Tensor& z) {
  if (op == "relu") return ops::relu(z);
  if (op == "relu6") return ops::relu6(z);
  if (op == "sigmoid") return ops::sigmoid(z);
  if (op == "tanh") return ops::tanh(z);
  return Tensor();
}

// The two passes, node by node, and the rules (see deeplift.h).
class Propagation {
 public:
  Propagation(const Tape& tape, const Tape& ref, const DeepLiftOptions& o) : tape_(tape), ref_(ref), o_(o) {
    if (tape.size() != ref.size())
      throw Error("deeplift: the input and the reference record different graphs (" + std::to_string(tape.size()) +
                  " and " + std::to_string(ref.size()) + " ops)");
    for (size_t k = 0; k < tape.size(); ++k) {
      const Node& n = tape.node(k);
      if (n.op != ref.node(k).op || n.output_shape != ref.node(k).output_shape)
        throw Error("deeplift: the input and the reference record different ops at node " + std::to_string(k) + " (" +
                    n.op + ", " + ref.node(k).op + ")");
      producer_[n.output] = k;
      for (int s : n.inputs) ++consumers_[s];
    }
  }

  bool operator()(size_t k, BackwardContext& c) {
    const Node& n = c.node;
    const std::string& op = n.op;
    if (split_.count(k)) {
      reveal_cancel_linear(k, c);
    } else if (elementwise_op(op)) {
      c.set(0, o_.rule == DeepLiftOptions::Rule::reveal_cancel ? reveal_cancel(k, c) : rescale(k, c));
    } else if (op == "max_pool2d") {
      c.set(0, max_pool(k, c));
    } else if (op == "add_relu") {
      add_relu(k, c);
    } else if (op == "mul" && c.needs(0) && c.needs(1)) {
      product(k, c);
    } else if (linear_op(op) || op == "mul" || (op == "div" && !c.needs(1))) {  // a product by a constant
      const auto& linear = n.values->linear;
      if (linear && linear->act != Act::none)
        throw Error("deeplift: an activation fused into op '" + op + "' [" + n.layer + "]");
      return false;  // the gradient
    } else {
      throw InvalidArgument("deeplift: no multiplier rule for op '" + op + "' [" + n.layer +
                            "] (rules exist for linear ops, elementwise activations, max pooling and products)");
    }
    return true;
  }

 private:
  const NodeValues& values(size_t k) const { return *tape_.node(k).values; }
  const NodeValues& reference(size_t k) const { return *ref_.node(k).values; }

  // dy (g(z) - g(z')) / (z - z'), the gradient where |z - z'| < eps (Captum's torch.where).
  Tensor rescale(size_t k, const BackwardContext& c) const {
    const NodeValues &v = values(k), &r = reference(k);
    return ops::secant(c.dy, v.output, r.output, v.inputs[0], r.inputs[0], own_backward(c.node, c.dy, 0), o_.eps);
  }

  // Captum's max pooling: the difference of the pooled outputs goes to the argmax of the larger
  // side, divided by that element's input difference.
  Tensor max_pool(size_t k, const BackwardContext& c) const {
    const Tensor &o = values(k).output, &o_ref = reference(k).output;
    const Tensor top = ops::add(o_ref, positive_part(ops::sub(o, o_ref)));  // max(o, o')
    const Tensor to_input = own_backward(c.node, ops::mul(c.dy, ops::sub(top, o_ref)), 0);
    const Tensor to_ref = own_backward(ref_.node(k), ops::mul(c.dy, ops::sub(o, top)), 0);
    return ops::secant(Tensor(), ops::add(to_input, to_ref), Tensor(), values(k).inputs[0], reference(k).inputs[0],
                       own_backward(c.node, c.dy, 0), o_.eps);
  }

  // relu(a + b) in one node: Rescale on the sum, whose multiplier each summand takes.
  void add_relu(size_t k, BackwardContext& c) const {
    const NodeValues &v = values(k), &r = reference(k);
    const Tensor z = ops::add(v.inputs[0], v.inputs[1]);
    const Tensor m = ops::secant(c.dy, v.output, r.output, z, ops::add(r.inputs[0], r.inputs[1]),
                                 ops::mul(c.dy, ops::step(z)), o_.eps);
    for (size_t i = 0; i < 2; ++i)
      if (c.needs(i)) c.set(i, ops::sum_to(m, v.inputs[i].shape()));
  }

  // a b = a' b' + (a - a') (b + b') / 2 + (b - b') (a + a') / 2: each factor's multiplier is the mean
  // of the other's two values.
  void product(size_t k, BackwardContext& c) const {
    const NodeValues &v = values(k), &r = reference(k);
    for (size_t i = 0; i < 2; ++i) {
      const Tensor other = ops::mul_scalar(ops::add(v.inputs[1 - i], r.inputs[1 - i]), 0.5);
      c.set(i, ops::sum_to(ops::mul(c.dy, other), v.inputs[i].shape()));
    }
  }

  // The positive and negative contributions to a nonlinearity's input difference (see deeplift.h),
  // and the linear node that made them; none where the input is not a linear op's output alone.
  struct Parts {
    Tensor pos, neg;
    size_t linear = SIZE_MAX;
  };
  Parts parts(size_t k) const {
    const int slot = tape_.node(k).inputs[0];
    const auto from = producer_.find(slot);
    if (from != producer_.end() && consumers_.at(slot) == 1 && values(from->second).linear) {
      const LinearForm& f = *values(from->second).linear;
      if (f.act == Act::none && !f.residual) {
        const Tensor dx = ops::sub(values(from->second).inputs[0], reference(from->second).inputs[0]);
        const Tensor xp = positive_part(dx), xn = negative_part(dx);
        if (!f.weight.defined())
          return {f.apply(xp, Tensor(), Tensor()), f.apply(xn, Tensor(), Tensor()), from->second};
        const Tensor wp = positive_part(f.weight), wn = negative_part(f.weight);
        return {ops::add(f.apply(xp, wp, Tensor()), f.apply(xn, wn, Tensor())),
                ops::add(f.apply(xp, wn, Tensor()), f.apply(xn, wp, Tensor())), from->second};
      }
    }
    return {};  // the parts of dz by sign: RevealCancel is Rescale
  }

  // RevealCancel at nonlinearity k: m+ and m- for the linear op before it (kept for its turn), and
  // Rescale as this node's own result (the linear op reads m+ and m- instead). A part within eps of
  // 0 takes the gradient, as Rescale does; the reference implementation moves it 1e-7 away from 0
  // instead, which leaks into the other part's effect (g(z' + dz+ + dz-) in both).
  Tensor reveal_cancel(size_t k, const BackwardContext& c) {
    const std::string& op = c.node.op;
    const Tensor& z_ref = reference(k).inputs[0];
    const Tensor g0 = evaluate(op, z_ref);
    const Parts p = parts(k);
    if (!g0.defined() || p.linear == SIZE_MAX) return rescale(k, c);
    const Tensor gp = evaluate(op, ops::add(z_ref, p.pos)), gn = evaluate(op, ops::add(z_ref, p.neg));
    const Tensor gpn = evaluate(op, ops::add(ops::add(z_ref, p.pos), p.neg));
    const Tensor dy_pos = ops::mul_scalar(ops::add(ops::sub(gp, g0), ops::sub(gpn, gn)), 0.5);
    const Tensor dy_neg = ops::mul_scalar(ops::add(ops::sub(gn, g0), ops::sub(gpn, gp)), 0.5);
    const Tensor gradient = own_backward(c.node, c.dy, 0);
    const Tensor zero = Tensor::zeros_like(p.pos);
    split_[p.linear] = {ops::secant(c.dy, dy_pos, Tensor(), p.pos, zero, gradient, o_.eps),
                        ops::secant(c.dy, dy_neg, Tensor(), p.neg, zero, gradient, o_.eps)};
    return rescale(k, c);
  }

  // The linear op under a RevealCancel nonlinearity: an input with x > x' made the positive part
  // through positive weights and the negative part through negative ones, so it takes
  // W+^T m+ + W-^T m-; one with x < x' the other way round; one with x = x' the mean of both.
  void reveal_cancel_linear(size_t k, BackwardContext& c) {
    if (!c.needs(0)) return;
    const auto [m_pos, m_neg] = split_.at(k);
    const LinearForm& f = *values(k).linear;
    const Tensor dx = ops::sub(values(k).inputs[0], reference(k).inputs[0]);
    Tensor up, down;  // W+^T m+ + W-^T m-, W-^T m+ + W+^T m-
    if (!f.weight.defined()) {
      LinearReplay pool(f, dx, Tensor(), Tensor());
      up = pool.transpose(m_pos), down = pool.transpose(m_neg);
    } else {
      LinearReplay wp(f, dx, positive_part(f.weight), Tensor()), wn(f, dx, negative_part(f.weight), Tensor());
      up = ops::add(wp.transpose(m_pos), wn.transpose(m_neg));
      down = ops::add(wn.transpose(m_pos), wp.transpose(m_neg));
    }
    const Tensor above = ops::step(dx), below = ops::step(ops::mul_scalar(dx, -1));
    const Tensor level = ops::add_scalar(ops::mul_scalar(ops::add(above, below), -1), 1);  // x = x'
    const Tensor mean = ops::mul_scalar(ops::add(up, down), 0.5);
    c.set(0, ops::add(ops::add(ops::mul(above, up), ops::mul(below, down)), ops::mul(level, mean)));
  }

  const Tape &tape_, &ref_;
  const DeepLiftOptions& o_;
  std::map<int, size_t> producer_;                     // slot -> the node that made it
  std::map<int, int> consumers_;                       // slot -> how many nodes read it
  std::map<size_t, std::pair<Tensor, Tensor>> split_;  // linear node -> m+ and m- at its output
};

// Keeps ReLUs out of their convs on this tape: each then has its own node, input and output.
void unfuse_activations(Tape& tape) {
  for (const char* op : {"relu", "relu6"})
    tape.add_forward_hook(op, "", [](const std::string&, const std::string&, const Tensor& out) { return out; });
}

struct Chunk {
  Tensor attribution;  // sum over the chunk's rows of (x - x'_i) m_i, shaped as x
  std::vector<double> f_x, f_ref;
};

// DeepLIFT of x against each row of `refs` in one pass of the batch.
Chunk deeplift_rows(const Model& model, const Tensor& x, const Tensor& refs, const Target& t,
                    const DeepLiftOptions& o) {
  Tape ref_tape, tape;
  Tensor ref_logits;
  {
    TapeGuard guard(ref_tape);
    ref_tape.keep_values(true);
    unfuse_activations(ref_tape);
    ref_logits = model(refs.detach().set_requires_grad(true));
  }
  TapeGuard guard(tape);
  tape.keep_values(true);
  unfuse_activations(tape);
  Tensor xs;
  {
    NoGradGuard no_grad;
    xs = ops::expand(x, refs.shape());
  }
  const Tensor xi = xs.set_requires_grad(true);
  const Tensor logits = model(xi);
  Chunk r{Tensor(), row_scores(logits.detach(), t), row_scores(ref_logits.detach(), t)};
  Propagation rules(tape, ref_tape, o);
  tape.set_backward_override([&rules](size_t k, BackwardContext& c) { return rules(k, c); });
  if (o.observe)  // multipliers to contributions: m (y - y') at the output, m (x - x') at each input
    tape.set_backward_observer([&](size_t k, const Tensor& dy, const std::vector<Tensor>& dx) {
      const NodeValues &v = *tape.node(k).values, &r = *ref_tape.node(k).values;
      std::vector<Tensor> in(dx.size());
      for (size_t i = 0; i < dx.size(); ++i)
        if (dx[i].defined()) in[i] = ops::mul(dx[i], ops::sub(v.inputs[i], r.inputs[i]));
      o.observe(k, tape.node(k), ops::mul(dy, ops::sub(v.output, r.output)), in);
    });
  NoGradGuard no_grad;
  const int64_t K = logits.dim(1);
  const Tensor row = t.all ? Tensor::full({1, K}, 1.0, logits.dtype(), logits.device())
                           : ops::one_hot(t.index, K, logits.dtype(), logits.device());
  const Tensor m = tape.grad(logits, {xi}, ops::expand(row, logits.shape()))[0];
  r.attribution = ops::sum_to(ops::mul(ops::sub(xs.detach(), refs), m), x.shape());
  return r;
}

}  // namespace

DeepLiftOptions::Rule deeplift_rule(const std::string& name) {
  if (name == "rescale") return DeepLiftOptions::Rule::rescale;
  if (name == "reveal-cancel") return DeepLiftOptions::Rule::reveal_cancel;
  throw InvalidArgument("unknown DeepLIFT rule '" + name + "' (known: rescale, reveal-cancel)");
}

DeepLiftResult deeplift(const Model& model, const Tensor& x_in, const Tensor& baselines, const Target& t,
                        const DeepLiftOptions& o) {
  if (x_in.dim(0) != 1) throw Error("deeplift: one input at a time, got a batch of " + std::to_string(x_in.dim(0)));
  bool same = baselines.ndim() == x_in.ndim() && baselines.dim(0) > 0;
  for (int i = 1; same && i < x_in.ndim(); ++i) same = baselines.dim(i) == x_in.dim(i);
  if (!same)
    throw Error("deeplift: the baselines have shape " + baselines.shape().str() + ", the input " + x_in.shape().str());
  const Tensor x = x_in.detach();
  const int64_t B = baselines.dim(0), batch = std::max(1, o.batch);
  const std::vector<double> per_row = baselines.to_vector_f64();
  const int64_t row = x.numel();
  DeepLiftResult r;
  Tensor total;
  double f_ref = 0;
  for (int64_t i0 = 0; i0 < B; i0 += batch) {
    const int64_t n = std::min(batch, B - i0);
    std::vector<int64_t> dims{n};
    for (int i = 1; i < x.ndim(); ++i) dims.push_back(x.dim(i));
    const std::vector<double> rows(per_row.begin() + i0 * row, per_row.begin() + (i0 + n) * row);
    const Tensor refs = Tensor::from_vector(Shape(dims), rows, x.dtype()).to(x.device());
    const Chunk c = deeplift_rows(model, x, refs, t, o);
    total = plus(total, c.attribution);
    r.f_x = c.f_x[0];
    for (double f : c.f_ref) f_ref += f;
    if (o.progress) o.progress(i0 + n, B);
  }
  NoGradGuard no_grad;
  r.attribution = ops::mul_scalar(total, 1.0 / double(B));
  r.f_baseline = f_ref / double(B);
  r.delta = ops::sum(r.attribution).item() - (r.f_x - r.f_baseline);
  return r;
}

// ---- registry entries ----
namespace {

OptionSpec rule_option() {
  return text_option("rule", "rescale", "R",
                     "rescale (Captum's DeepLift) or reveal-cancel (positive and negative\n"
                     "contributions apart at each nonlinearity)",
                     [](const std::string& v) { deeplift_rule(v); });
}

// The baselines of a comma-separated list; NAME*K repeats one K times (noise with seeds S, S+1, ...).
std::vector<Tensor> baseline_list(const Subject& s, const std::string& list, uint64_t seed) {
  std::vector<Tensor> out;
  size_t from = 0;
  while (from <= list.size()) {
    const size_t comma = std::min(list.find(',', from), list.size());
    std::string name = list.substr(from, comma - from);
    long count = 1;
    const size_t star = name.find('*');
    if (star != std::string::npos) {
      const std::string n = name.substr(star + 1);
      count = n.empty() || n.find_first_not_of("0123456789") != std::string::npos ? 0 : std::stol(n);
      if (count < 1 || count > 1000)
        throw InvalidArgument("--baselines: the count in '" + name + "' must be 1 to 1000");
      name = name.substr(0, star);
    }
    if (name.empty()) throw InvalidArgument("--baselines: an empty name in '" + list + "'");
    for (long i = 0; i < count; ++i) out.push_back(s.baseline(name, seed++));
    from = comma + 1;
  }
  return out;
}

MethodResult deeplift_result(Subject& s, const Target& t, const std::vector<Tensor>& bases, const Options& o, int batch,
                             const Progress& progress) {
  DeepLiftOptions d;
  d.rule = deeplift_rule(o.text("rule"));
  d.batch = batch;
  d.progress = progress;
  Tensor refs;
  {
    NoGradGuard no_grad;
    refs = bases.size() == 1 ? bases[0] : ops::concat(bases, 0);
  }
  const DeepLiftResult dl = deeplift(s.fn, s.x, refs, t, d);
  MethodResult r;
  r.attribution = dl.attribution;
  r.notes.push_back(completeness_note(dl.f_x, dl.f_baseline, dl.delta));
  r.facts = {
      {"f_x", dl.f_x}, {"f_baseline", dl.f_baseline}, {"delta", dl.delta}, {"baseline_count", double(bases.size())}};
  r.labels = {{"rule", o.text("rule")}};
  return r;
}

}  // namespace

Method deeplift_entry() {
  Method m;
  m.name = "deeplift";
  m.summary = "DeepLIFT: contributions of x - x' to f(x) - f(x'), by multipliers against a baseline";
  m.paper = "Shrikumar et al. 2017";
  m.options = {text_option("baseline", "black", "B", kBaselineNames), rule_option(),
               seed_option("seed of the noise baseline")};
  m.signed_map = true;
  m.target_all = true;
  m.run = [](Subject& s, const Target& t, const Options& o, const Progress& progress) {
    MethodResult r =
        deeplift_result(s, t, {s.baseline(o.text("baseline"), uint64_t(o.integer("seed")))}, o, 1, progress);
    r.params = o.text("rule") + ", " + o.text("baseline") + " baseline";
    r.labels.push_back({"baseline", o.text("baseline")});
    return r;
  };
  return m;
}

Method deeplift_shap_entry() {
  Method m;
  m.name = "deeplift-shap";
  m.summary = "DeepLiftShap: DeepLIFT averaged over several baselines (SHAP values' approximation)";
  m.paper = "Lundberg and Lee 2017; Shrikumar et al. 2017";
  m.options = {text_option("baselines", "black,white,noise*8", "LIST",
                           "comma-separated baselines, each as deeplift's --baseline:\n" + std::string(kBaselineNames) +
                               ";\nNAME*K repeats one K times (noise with seeds S, S+1, ...)"),
               rule_option(), batch_option(4, "baselines"), seed_option("seed of the first noise baseline")};
  m.signed_map = true;
  m.target_all = true;
  m.progress_unit = "baselines";
  m.run = [](Subject& s, const Target& t, const Options& o, const Progress& progress) {
    const std::vector<Tensor> bases = baseline_list(s, o.text("baselines"), uint64_t(o.integer("seed")));
    MethodResult r = deeplift_result(s, t, bases, o, int(o.integer("batch")), progress);
    r.params = o.text("rule") + fmt(", %.0f baselines (", double(bases.size())) + o.text("baselines") + ")";
    r.labels.push_back({"baselines", o.text("baselines")});
    return r;
  };
  return m;
}

}  // namespace gt::xai
