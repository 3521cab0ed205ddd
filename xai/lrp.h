// Layer-wise Relevance Propagation (Bach et al. 2015; the rules as in Montavon et al. 2019, "Layer-Wise
// Relevance Propagation: An Overview", and as Zennit defines them).
//
// Relevance starts at the target's logit, R = f_c(x) (Captum's convention: the map sums to about
// f_c(x)), and flows back op by op on the tape. A linear op (conv, dense, a conv with its batch norm
// fused, average pooling) z_k = sum_j x_j w_jk + b_k hands it on by its rule; with the epsilon rule
//   R_j = sum_k x_j w_jk / stab(z_k) R_k,      stab(z) = z + eps sgn(z)   (sgn(0) = 1)
// and in general as a sum of terms t, each the op applied to a modified input x_t with modified
// weights w_t and bias b_t (Zennit's BasicHook):
//   z_t = f(x_t; w_t, b_t),  s_g = R * mask_g / stab(sum_{t in g} sign_t z_t),
//   R_in = sum_g coef_g sum_{t in g} sign_t x_t * J_t^T s_g      (J_t^T: the transposed map with w_t)
// Activations pass relevance on unchanged, a residual addition splits it in proportion to its
// summands (z-rule), and every other op (max pooling, concatenation, reshapes) routes it as it routes
// the gradient. It runs on the tape as a backward override: the forward pass is the model's own,
// fused batch norms included (their folded weights are the canonized conv).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "xai/saliency.h"
#include "xai/subject.h"

namespace gt::xai {

// One rule for linear ops. zero: epsilon 0 (a stabiliser only where z = 0);
// gamma: w + gamma w+ (Zennit's sign-aware form); alpha_beta: alpha (x+w+ + x-w-) - beta (x+w- + x-w+);
// zplus: alpha_beta with alpha 1, beta 0; zbox: z^B with the input's bounds [low, high]; flat: all
// weights 1 and inputs 1; wsquare: w^2 and inputs 1; pass: the relevance unchanged (the op's shape
// must not change).
struct LrpRule {
  enum class Kind { epsilon, gamma, alpha_beta, zplus, zbox, flat, wsquare, pass };
  Kind kind = Kind::epsilon;
  double epsilon = 1e-6;  // the stabiliser of every rule
  double gamma = 0.25;
  double alpha = 1, beta = 0;
  Tensor low, high;  // zbox: the lowest and highest model input, shaped as the input (1,C,H,W) or (1,F)
  // Captum's gamma and alpha1beta0: the weights modified (w + gamma w+, w+), the bias kept as it is,
  // the input not split by sign.
  bool captum = false;
  std::string name() const;  // "epsilon(1e-06)"
};

// The rules by name: zero, epsilon, gamma, alpha1beta0, alpha2beta1, zplus, zbox, flat, wsquare, pass.
LrpRule lrp_rule(const std::string& name, double epsilon = 1e-6, double gamma = 0.25);
std::vector<std::string> lrp_rule_names();

// A linear node as a composite sees it: its op, layer, and whether it is the first linear op from the
// input (Zennit's composites give that one the box or flat rule).
struct LrpLayer {
  std::string op, layer;
  bool first = false;
  bool dense = false;    // linear (a dense layer), not a conv
  bool pooling = false;  // average pooling: no weights
};
// Maps each linear node to its rule (Zennit's composites; "rule:NAME" gives every layer one rule).
struct LrpComposite {
  std::string name;
  std::function<LrpRule(const LrpLayer&)> pick;
  double sum_epsilon = 1e-6;  // the stabiliser of the z-rule at additions (Zennit's Norm)
  // Captum's max pooling: the epsilon rule x * J^T (R / stab(y)) with sum_epsilon, not the gradient.
  bool epsilon_max_pool = false;
  // (shell glob, rule): for a conv or dense layer whose name the glob matches, the first such rule
  // instead of pick's. A glob that matches no layer is an InvalidArgument naming the layers.
  std::vector<std::pair<std::string, LrpRule>> layer_rules = {};
};
// EpsilonPlus, EpsilonPlusFlat, EpsilonGammaBox, EpsilonAlpha2Beta1, EpsilonAlpha2Beta1Flat (as
// epsilon-plus, epsilon-plus-flat, ...); a rule name for every conv and dense layer (pooling Norm);
// or captum-epsilon, captum-gamma, captum-alpha1beta0: Captum's LRP, that rule (Captum's form) on
// every conv and dense layer and its epsilon everywhere else, max pooling and additions included.
// low/high: the box rule's bounds.
LrpComposite lrp_composite(const std::string& name, const Tensor& low = Tensor(), const Tensor& high = Tensor(),
                           double epsilon = 1e-6, double gamma = 0.25);
std::vector<std::string> lrp_composite_names();
// "GLOB=RULE,GLOB=RULE" (rules by name, as lrp_rule takes them) appended to c.layer_rules.
void add_layer_rules(LrpComposite& c, const std::string& spec, const Tensor& low = Tensor(),
                     const Tensor& high = Tensor(), double epsilon = 1e-6, double gamma = 0.25);
// The box rule's bounds for a subject: the model inputs of an all-black and an all-white picture;
// for a tensor input (an .h5 file), which has no pixel range, its own smallest and largest value,
// and a line that says so in *note.
std::pair<Tensor, Tensor> lrp_box_bounds(const Subject& s, std::string* note = nullptr);

// Relevance of every input element for the target, (N,C,H,W) like x (or (N,F) for a table model).
// observe: optional, sees every node's relevance as it flows (inspect --rule); f_x: optional, gets
// the target's score f(x), the relevance the pass starts from.
Tensor lrp(const Model& model, const Tensor& x, const Target& t, const LrpComposite& c,
           const RelevanceObserver& observe = {}, double* f_x = nullptr);

}  // namespace gt::xai
