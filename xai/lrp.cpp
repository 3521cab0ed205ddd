#include "xai/lrp.h"

#include <fnmatch.h>

#include <algorithm>
#include <deque>
#include <map>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "xai/method.h"
#include "xai/relevance.h"

namespace gt::xai {
namespace {

using namespace relevance;

// Zennit's Norm rule (sums, average pooling) and every rule's default stabiliser.
constexpr double kNormStabilizer = 1e-6;
// Captum's: PropagationRule.STABILITY_FACTOR, its EpsilonRule's default.
constexpr double kCaptumEpsilon = 1e-9;

// stab(z) = z + eps sgn(z), sgn(0) = 1: Zennit's stabiliser, which keeps the sign of z.
Tensor stabilize(const Tensor& z, double eps) {
  const Tensor negative = ops::step(ops::mul_scalar(z, -1.0));  // [z < 0]
  return ops::add(z, ops::add_scalar(ops::mul_scalar(negative, -2.0 * eps), eps));
}
Tensor ones_like(const Tensor& t) { return t.defined() ? Tensor::full(t.shape(), 1.0, t.dtype(), t.device()) : t; }
// w + gamma * part(w): the gamma rule's weights (and bias).
Tensor amplified(const Tensor& w, double gamma, Tensor (*part)(const Tensor&)) {
  return w.defined() ? ops::add(w, ops::mul_scalar(part(w), gamma)) : w;
}

// One term of a rule: the op applied to a modified input x with modified parameters w, b.
struct Term {
  Tensor x, w, b;
  double sign = 1;
};
// Terms that share a denominator, their share of the relevance (mask: where it applies) and weight.
struct Group {
  explicit Group(std::vector<Term> t, double c = 1, Tensor m = Tensor()) : terms(std::move(t)), coef(c), mask(m) {}
  std::vector<Term> terms;
  double coef;
  Tensor mask;                // undefined: everywhere
  bool non_negative = false;  // the denominator is >= 0 by construction (the positive contributions)
};
Group positive(std::vector<Term> t, double c = 1) {
  Group g(std::move(t), c);
  g.non_negative = true;
  return g;
}

// f(x; W, b) with the op's own weights, unrecorded (the backward runs under a NoGradGuard).
Tensor plain_output(const LinearForm& f, const Tensor& x) { return f.apply(x, f.weight, f.bias); }

// The rule's groups of terms for input x, as Zennit defines them (see lrp.h). In a sign-split rule the
// term on x- has no bias: the bias counts once, and after a ReLU (x_non_negative) x- = 0, so its
// term and its share are left out. z: the op's plain output f(x; w, b), whose sign chooses the gamma
// rule's group. The parts of x, w and b are made only where a rule uses them (VGG16's weights are
// 138M values).
std::vector<Group> rule_groups(const LrpRule& r, const LinearForm& f, const Tensor& x, bool x_non_negative,
                               const Tensor& z) {
  using K = LrpRule::Kind;
  const Tensor &w = f.weight, &b = f.bias;
  // x+ with (w1, b1) and x- with (w2, no bias): the halves of a sign-split rule
  const auto split = [&](const Tensor& w1, const Tensor& b1, const auto& w2) {
    if (x_non_negative) return std::vector<Term>{Term{x, w1, b1}};
    return std::vector<Term>{Term{positive_part(x), w1, b1}, Term{negative_part(x), w2(), Tensor()}};
  };
  const auto wp = [&] { return positive_part(w); };
  const auto wn = [&] { return negative_part(w); };
  if (r.captum && r.kind == K::gamma) return {Group{{Term{x, amplified(w, r.gamma, positive_part), b}}}};
  if (r.captum && r.kind == K::alpha_beta) return {Group{{Term{x, wp(), b}}}};
  switch (r.kind) {
    case K::epsilon:
      return {Group{{Term{x, w, b}}}};
    case K::zplus:  // x+ w+ + b+ + x- w-: the positive contributions
      return {positive(split(wp(), positive_part(b), wn))};
    case K::alpha_beta:  // alpha (x+ w+ + b+ + x- w-) - beta (x+ w- + b- + x- w+), each over its own sum
      return {positive(split(wp(), positive_part(b), wn), r.alpha), Group{split(wn(), negative_part(b), wp), -r.beta}};
    case K::gamma: {  // where z > 0 the positive contributions are amplified, where z < 0 the negative ones
      const Tensor up = ops::step(z), down = ops::step(ops::mul_scalar(z, -1.0));
      const Tensor wu = amplified(w, r.gamma, positive_part), wd = amplified(w, r.gamma, negative_part);
      const Tensor bu = amplified(b, r.gamma, positive_part), bd = amplified(b, r.gamma, negative_part);
      return {Group{split(wu, bu, [&] { return wd; }), 1, up}, Group{split(wd, bd, [&] { return wu; }), 1, down}};
    }
    case K::zbox: {  // x w - l w+ - h w- (the biases b - b+ - b- cancel)
      if (!r.low.defined() || !r.high.defined()) throw Error("lrp: the zbox rule needs the input's bounds");
      const Tensor lo = ops::expand(r.low.to(x.device()), x.shape()),
                   hi = ops::expand(r.high.to(x.device()), x.shape());
      return {Group{{Term{x, w, b}, Term{lo, wp(), positive_part(b), -1}, Term{hi, wn(), negative_part(b), -1}}}};
    }
    case K::flat:  // inputs and weights 1, no bias: relevance spread evenly over the receptive field
      return {Group{{Term{ones_like(x), ones_like(w), Tensor()}}}};
    case K::wsquare:  // inputs 1, weights w^2, bias b^2
      return {Group{{Term{ones_like(x), w.defined() ? ops::mul(w, w) : w, b.defined() ? ops::mul(b, b) : b}}}};
    case K::pass:
      break;
  }
  throw Error("lrp: the pass rule has no terms");
}

// Whether every value of t is >= 0 (a ReLU's output): its negative part is zero.
bool non_negative(const Tensor& t) {
  return ops::sum(negative_part(t)).item() == 0;  // one scalar back from the device, not the tensor
}

// R_in = sum_g coef_g sum_t sign_t x_t * J_t^T (R mask_g / stab(sum_t sign_t z_t)) for relevance R at
// the op's linear output.
Tensor linear_rule(const LrpRule& r, const LinearForm& f, const Tensor& x, const Tensor& R) {
  using K = LrpRule::Kind;
  const Tensor z = r.kind == K::gamma ? plain_output(f, x) : Tensor();
  const bool sign_split = !r.captum && (r.kind == K::zplus || r.kind == K::alpha_beta || r.kind == K::gamma);
  Tensor out;
  for (const Group& g : rule_groups(r, f, x, sign_split && non_negative(x), z)) {
    std::deque<LinearReplay> applied;  // each holds a tape: built in place, never moved
    Tensor denominator;
    for (const Term& t : g.terms) {
      applied.emplace_back(f, t.x, t.w, t.b);
      const Tensor zt = t.sign > 0 ? applied.back().z : ops::mul_scalar(applied.back().z, t.sign);
      denominator = plus(denominator, zt);
    }
    // stab(z) = z + eps where z >= 0: one pass instead of four
    Tensor s =
        ops::div(R, g.non_negative ? ops::add_scalar(denominator, r.epsilon) : stabilize(denominator, r.epsilon));
    if (g.mask.defined()) s = ops::mul(s, g.mask);
    for (size_t i = 0; i < g.terms.size(); ++i) {
      const Tensor term = ops::mul(g.terms[i].x, applied[i].transpose(s));
      const double c = g.coef * g.terms[i].sign;
      out = plus(out, c == 1 ? term : ops::mul_scalar(term, c));
    }
  }
  return out;
}

// The epsilon rule without a replay of the op: x * J^T (R / stab(y)), J^T the node's own backward
// rule, y its output (Captum's max pooling; a linear node whose z is its output, see linear_node).
Tensor epsilon_by_own_backward(const BackwardContext& c, const Tensor& R, double eps) {
  const NodeValues& v = *c.node.values;
  return ops::mul(v.inputs[0], own_backward(c.node, ops::div(R, stabilize(v.output, eps)), 0));
}

// The relevance a linear node hands to its inputs: through its activation (passed on), its residual
// (split in proportion: z-rule), then its rule. merged: the node's map with the batch norm after it
// folded in (see merged_batch_norms), or null.
void linear_node(const LrpRule& r, double sum_epsilon, BackwardContext& c, const LinearForm* merged) {
  const NodeValues& v = *c.node.values;
  const LinearForm& f = merged ? *merged : *v.linear;
  const Tensor& x = v.inputs[0];
  Tensor R = c.dy;
  if (f.residual) {  // y = act(lin + res): R_lin = lin R / stab(lin + res), R_res = res R / stab(lin + res)
    const Tensor lin = plain_output(f, x), &res = v.inputs[1];
    const Tensor s = ops::div(R, stabilize(ops::add(lin, res), sum_epsilon));
    if (c.needs(1)) c.set(1, ops::mul(res, s));
    R = ops::mul(lin, s);
  }
  if (!c.needs(0)) return;
  if (r.kind == LrpRule::Kind::epsilon && !merged && !f.residual && (f.act == Act::none || f.act == Act::relu)) {
    // The epsilon rule from the node's own output and backward, no replay: z = y, except where a
    // fused ReLU cut z <= 0 to 0. Those units carry no relevance (every rule downstream hands a
    // unit x * J^T s, 0 for x = 0), so s = R / stab(y) is 0 there, as the ReLU mask in the node's
    // backward makes it anyway.
    c.set(0, epsilon_by_own_backward(c, R, r.epsilon));
    return;
  }
  c.set(0, r.kind == LrpRule::Kind::pass ? R : linear_rule(r, f, x, R));
}

// BN canonization where a batch norm was left standing after a conv or dense layer (an unfused
// model: fuse off, a hook on the layer, an imported graph), as Zennit's MergeBatchNorm and as the
// fused op conv2d_affine carries it: y = s (W x + b) + t per output channel, s = gamma / sqrt(var +
// eps), t = beta - mean s, is one linear map W' = s W, b' = s b + t, whose rule sees z' = y; the batch
// norm then passes relevance on (is_activation). Only a frozen batch norm in inference (its saved x
// undefined, see ops::batch_norm) whose input is the plain output of a linear node and nothing else's.
// Returns the merged maps by the linear node's index.
std::map<size_t, LinearForm> merged_batch_norms(const Tape& tape) {
  NoGradGuard no_grad;
  std::map<int, size_t> producer;
  std::map<int, int> uses;
  for (size_t k = 0; k < tape.size(); ++k) {
    producer[tape.node(k).output] = k;
    for (int slot : tape.node(k).inputs) ++uses[slot];
  }
  std::map<size_t, LinearForm> merged;
  for (size_t k = 0; k < tape.size(); ++k) {
    const Node& bn = tape.node(k);
    if (bn.op != "batch_norm" || bn.saved.size() != 4 || bn.saved[0].defined() || !bn.values) continue;
    const auto p = producer.find(bn.inputs[0]);
    if (p == producer.end() || uses[bn.inputs[0]] != 1) continue;
    const Node& lin = tape.node(p->second);
    if (!lin.values || !lin.values->linear) continue;
    const LinearForm& f = *lin.values->linear;
    if (!f.weight.defined() || f.act != Act::none || f.residual) continue;
    const Tensor &mean = bn.saved[1], &invstd = bn.saved[2], &gamma = bn.saved[3], &beta = bn.values->inputs[2];
    const Tensor scale = ops::mul(gamma, invstd), shift = ops::sub(beta, ops::mul(mean, scale));
    std::vector<int64_t> per_row(size_t(f.weight.ndim()), 1);  // (O,1,...): scales W's rows
    per_row[0] = scale.numel();
    LinearForm m = f;
    m.weight = ops::mul(f.weight, ops::reshape(scale, Shape(per_row)));
    m.bias = f.bias.defined() ? ops::add(ops::mul(f.bias, scale), shift) : shift;
    merged.emplace(p->second, std::move(m));
  }
  return merged;
}

// Zennit's Norm rule for a sum a + b (+ ...), or a - b: each summand's share of the relevance,
// R_i = sign_i x_i R / stab(sum_j sign_j x_j). A summand that carries no relevance (a constant: a
// bias, a preprocessing offset) keeps its share, as a bias does.
void sum_node(BackwardContext& c, double eps) {
  const NodeValues& v = *c.node.values;
  std::vector<Tensor> terms = v.inputs;
  if (c.node.op == "sub") terms[1] = ops::mul_scalar(terms[1], -1.0);
  Tensor total;
  for (const Tensor& t : terms) total = plus(total, t);
  if (c.node.op == "add_scalar") total = v.output;
  const Tensor s = ops::div(c.dy, stabilize(total, eps));
  for (size_t i = 0; i < terms.size(); ++i)
    if (c.needs(i)) c.set(i, ops::sum_to(ops::mul(terms[i], s), terms[i].shape()));
}

// A product with a constant (x * s, x / s: a rescaling) hands the relevance to x unchanged: the
// epsilon rule of a diagonal linear map without bias. A product of two variables (a gate) has no rule.
void scale_node(BackwardContext& c) {
  const NodeValues& v = *c.node.values;
  if (v.inputs.size() > 1 && c.needs(0) && c.needs(1))
    throw InvalidArgument("lrp: no relevance rule for a product of two variables, op '" + c.node.op + "' [" +
                          c.node.layer + "]");
  for (size_t i = 0; i < v.inputs.size(); ++i)
    if (c.needs(i)) c.set(i, ops::sum_to(c.dy, v.inputs[i].shape()));
}

// Ops that only move values (max pooling picks one): relevance goes where their gradient goes, and
// sums are kept (Zennit: modules without a rule).
bool routes(const std::string& op) {
  return listed(op, {"max_pool2d", "reshape", "concat", "concat_channels", "transpose", "pad", "to_device", "expand"});
}
// Zennit's Activation types get Pass, and so does a batch norm left standing (its canonizer merges
// the ones after a conv; here the fused op is that merge).
bool is_activation(const std::string& op) {
  return listed(op, {"relu", "relu6", "sigmoid", "tanh", "clamp", "dropout", "batch_norm"});
}

}  // namespace

std::string LrpRule::name() const {
  using K = Kind;
  switch (kind) {
    case K::epsilon:
      return "epsilon(" + fmt("%g", epsilon) + ")";
    case K::gamma:
      return "gamma(" + fmt("%g", gamma) + ")";
    case K::alpha_beta:
      return "alpha" + fmt("%g", alpha) + "beta" + fmt("%g", beta);
    case K::zplus:
      return "zplus";
    case K::zbox:
      return "zbox";
    case K::flat:
      return "flat";
    case K::wsquare:
      return "wsquare";
    case K::pass:
      return "pass";
  }
  return "?";
}

std::vector<std::string> lrp_rule_names() {
  return {"zero", "epsilon", "gamma", "alpha1beta0", "alpha2beta1", "zplus", "zbox", "flat", "wsquare", "pass"};
}

LrpRule lrp_rule(const std::string& name, double epsilon, double gamma) {
  using K = LrpRule::Kind;
  LrpRule r;
  r.epsilon = epsilon;
  r.gamma = gamma;
  static const std::map<std::string, K> kinds = {
      {"zero", K::epsilon},           {"epsilon", K::epsilon}, {"gamma", K::gamma}, {"alpha1beta0", K::alpha_beta},
      {"alpha2beta1", K::alpha_beta}, {"zplus", K::zplus},     {"zbox", K::zbox},   {"flat", K::flat},
      {"wsquare", K::wsquare},        {"pass", K::pass}};
  const auto it = kinds.find(name);
  if (it == kinds.end()) {
    std::string known;
    for (const auto& n : lrp_rule_names()) known += (known.empty() ? "" : ", ") + n;
    throw InvalidArgument("unknown LRP rule '" + name + "' (known: " + known + ")");
  }
  r.kind = it->second;
  if (name == "zero") r.epsilon = 1e-30;  // LRP-0: a stabiliser only where z is exactly 0
  if (name == "alpha2beta1") r.alpha = 2, r.beta = 1;
  return r;
}

std::vector<std::string> lrp_composite_names() {
  return {"epsilon-plus",         "epsilon-plus-flat",         "epsilon-gamma-box",
          "epsilon-alpha2-beta1", "epsilon-alpha2-beta1-flat", "captum-epsilon",
          "captum-gamma",         "captum-alpha1beta0"};
}

LrpComposite lrp_composite(const std::string& name, const Tensor& low, const Tensor& high, double epsilon,
                           double gamma) {
  // Zennit's composites: dense layers epsilon, convs the composite's rule, average pooling Norm; the
  // flat variants give the first linear layer (conv or dense) the flat rule, EpsilonGammaBox the
  // first conv the box rule.
  const LrpRule eps = lrp_rule("epsilon", epsilon), norm = lrp_rule("epsilon", kNormStabilizer);
  LrpRule conv, first = lrp_rule("flat");
  bool flat_first = false, box_first = false;
  if (name == "epsilon-plus" || name == "epsilon-plus-flat") {
    conv = lrp_rule("zplus");
    flat_first = name == "epsilon-plus-flat";
  } else if (name == "epsilon-gamma-box") {
    conv = lrp_rule("gamma", kNormStabilizer, gamma);
    first = lrp_rule("zbox");
    first.low = low, first.high = high;
    box_first = true;
  } else if (name == "epsilon-alpha2-beta1" || name == "epsilon-alpha2-beta1-flat") {
    conv = lrp_rule("alpha2beta1");
    flat_first = name == "epsilon-alpha2-beta1-flat";
  } else if (name == "captum-epsilon" || name == "captum-gamma" || name == "captum-alpha1beta0") {
    LrpRule all = lrp_rule(name.substr(7), epsilon == 1e-6 ? kCaptumEpsilon : epsilon, gamma);
    all.captum = true;
    const LrpRule pool = lrp_rule("epsilon", all.epsilon);
    LrpComposite c{name, [all, pool](const LrpLayer& l) { return l.pooling ? pool : all; }, all.epsilon};
    c.epsilon_max_pool = true;
    return c;
  } else {
    const auto rules = lrp_rule_names();
    if (std::find(rules.begin(), rules.end(), name) == rules.end()) {
      std::string known;
      for (const auto& n : lrp_composite_names()) known += n + ", ";
      for (const auto& n : rules) known += n + (n == rules.back() ? "" : ", ");
      throw InvalidArgument("unknown LRP composite or rule '" + name + "' (known: " + known + ")");
    }
    LrpRule all = lrp_rule(name, epsilon, gamma);
    all.low = low, all.high = high;
    const LrpRule pool = lrp_rule("epsilon", all.epsilon);
    return {name, [all, pool](const LrpLayer& l) { return l.pooling ? pool : all; }, all.epsilon};
  }
  return {name, [=](const LrpLayer& l) {
            if (l.pooling) return norm;
            if (l.first && (flat_first || (box_first && !l.dense))) return first;
            return l.dense ? eps : conv;
          }};
}

Tensor lrp(const Model& model, const Tensor& x_in, const Target& t, const LrpComposite& composite,
           const RelevanceObserver& observe, double* f_x) {
  Tape tape;
  TapeGuard guard(tape);
  tape.keep_values(true);
  const Tensor x = x_in.detach().set_requires_grad(true);
  const Tensor logits = model(x);
  const std::vector<double> score = row_scores(logits.detach(), t);  // validates the target
  if (f_x) *f_x = score[0];
  // Each linear node's rule, by the composite; the first one recorded is the input layer.
  std::vector<LrpRule> rules(tape.size());
  std::vector<char> linear(tape.size(), 0);
  std::vector<char> matched(composite.layer_rules.size(), 0);
  std::string names;  // " a, b," of the layers with a rule
  bool first = true;
  for (size_t k = 0; k < tape.size(); ++k) {
    const Node& n = tape.node(k);
    if (!n.values || !n.values->linear) continue;
    LrpLayer l{n.op, n.layer, false, n.op == "linear", !n.values->linear->weight.defined()};
    l.first = first && !l.pooling;
    if (!l.pooling) first = false;
    rules[k] = composite.pick(l);
    for (size_t g = 0; g < composite.layer_rules.size(); ++g)
      if (fnmatch(composite.layer_rules[g].first.c_str(), n.layer.c_str(), 0) == 0) {
        rules[k] = composite.layer_rules[g].second;
        matched[g] = true;
        break;
      }
    if (names.find(" " + n.layer + ",") == std::string::npos) names += " " + n.layer + ",";
    linear[k] = 1;
  }
  for (size_t g = 0; g < matched.size(); ++g)
    if (!matched[g])
      throw InvalidArgument("lrp: the layer pattern '" + composite.layer_rules[g].first +
                            "' matches no conv or dense layer; they are:" + names.substr(0, names.size() - 1));
  const std::map<size_t, LinearForm> merged = merged_batch_norms(tape);
  tape.set_backward_override([&](size_t k, BackwardContext& c) {
    const std::string& op = c.node.op;
    if (linear[k]) {
      const auto m = merged.find(k);
      linear_node(rules[k], composite.sum_epsilon, c, m == merged.end() ? nullptr : &m->second);
    } else if (op == "add" || op == "add_relu" || op == "sub" || op == "add_scalar") {
      sum_node(c, composite.sum_epsilon);
    } else if (op == "mul" || op == "div" || op == "mul_scalar") {
      scale_node(c);
    } else if (op == "max_pool2d" && composite.epsilon_max_pool) {  // Captum's epsilon rule
      c.set(0, epsilon_by_own_backward(c, c.dy, composite.sum_epsilon));
    } else if (is_activation(op)) {
      if (c.needs(0)) c.set(0, c.dy);
    } else if (routes(op)) {
      return false;  // max pooling, concatenation, reshapes: routed as the gradient
    } else {
      throw InvalidArgument("lrp: no relevance rule for op '" + op + "' [" + c.node.layer +
                            "] (rules exist for convs, dense layers, pooling, additions, activations, "
                            "concatenations and reshapes)");
    }
    return true;
  });
  if (observe)
    tape.set_backward_observer(
        [&](size_t k, const Tensor& dy, const std::vector<Tensor>& dx) { observe(k, tape.node(k), dy, dx); });
  // R at the logits: the target's own value (Captum's convention: the map sums to about f_c(x)).
  NoGradGuard no_grad;
  const Tensor y = logits.detach();
  const Tensor seed = t.all ? y : ops::mul(y, ops::one_hot(t.index, y.dim(1), y.dtype(), y.device()));
  return tape.grad(logits, {x}, seed)[0];
}

void add_layer_rules(LrpComposite& c, const std::string& spec, const Tensor& low, const Tensor& high, double epsilon,
                     double gamma) {
  size_t from = 0;
  while (from < spec.size()) {
    const size_t comma = std::min(spec.find(',', from), spec.size());
    const std::string item = spec.substr(from, comma - from);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InvalidArgument("lrp: a layer rule is GLOB=RULE ('fc*=epsilon'), not '" + item + "'");
    LrpRule r = lrp_rule(item.substr(eq + 1), epsilon, gamma);
    r.low = low, r.high = high;
    c.layer_rules.push_back({item.substr(0, eq), r});
    from = comma + 1;
  }
}

std::pair<Tensor, Tensor> lrp_box_bounds(const Subject& s, std::string* note) {
  if (s.pixels.defined()) return {s.pixel_fill(0).to(s.x.device()), s.pixel_fill(255).to(s.x.device())};
  const std::vector<double> v = s.x.to_vector_f64();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (note) *note = fmt("box bounds: the input's own range [%.4g, %.4g] (a tensor input has no pixel range)", *lo, *hi);
  return {Tensor::full(s.x.shape(), *lo, s.x.dtype(), s.x.device()),
          Tensor::full(s.x.shape(), *hi, s.x.dtype(), s.x.device())};
}

Method lrp_entry() {
  Method m;
  m.name = "lrp";
  m.summary = "Layer-wise Relevance Propagation: the logit's relevance handed back layer by layer";
  m.paper = "Bach et al. 2015; Montavon et al. 2019";
  const auto check_name = [](const std::string& v) { lrp_composite(v, Tensor(), Tensor()); };
  m.options = {text_option("composite", "epsilon-plus", "C",
                           "epsilon-plus, epsilon-plus-flat, epsilon-gamma-box, epsilon-alpha2-beta1,\n"
                           "epsilon-alpha2-beta1-flat (Zennit's composites), or one rule for every layer:\n"
                           "zero, epsilon, gamma, alpha1beta0, alpha2beta1, zplus, flat, wsquare",
                           check_name),
               real_option("epsilon", 1e-6, 0, 1e6, "E", "the epsilon rule's stabiliser"),
               real_option("gamma", 0.25, 0, 1e6, "G", "the gamma rule's amplification of positive weights"),
               text_option("layer-rules", "", "G=R,...",
                           "rules for conv and dense layers by name (shell patterns), before the\n"
                           "composite's: 'block1_conv1=flat,fc*=epsilon' (rule names as above)",
                           [](const std::string& v) {
                             LrpComposite c;
                             add_layer_rules(c, v);
                           })};
  m.signed_map = true;
  m.target_all = true;
  m.run = [](Subject& s, const Target& t, const Options& o, const Progress&) {
    MethodResult r;
    std::string note;
    const auto [low, high] = lrp_box_bounds(s, &note);
    const std::string& name = o.text("composite");
    if (!note.empty() && (name == "epsilon-gamma-box" || name == "zbox")) r.notes.push_back(note);
    LrpComposite c = lrp_composite(o.text("composite"), low, high, o.real("epsilon"), o.real("gamma"));
    add_layer_rules(c, o.text("layer-rules"), low, high, o.real("epsilon"), o.real("gamma"));
    double f = 0;
    r.attribution = lrp(s.fn, s.x, t, c, {}, &f);
    const double total = ops::sum(r.attribution).item();
    r.params = "composite " + c.name + (o.text("layer-rules").empty() ? "" : ", layer rules " + o.text("layer-rules"));
    r.facts = {{"f_x", f}, {"relevance_sum", total}};
    r.notes.push_back(
        fmt("f(x) = %.6g, sum(relevance) = %.6g (%.2f%% conserved)", f, total, 100 * total / (f == 0 ? 1 : f)));
    return r;
  };
  return m;
}

}  // namespace gt::xai
