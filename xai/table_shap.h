// KernelSHAP of one table row against a background sample (Lundberg & Lee 2017), as shap's
// KernelExplainer computes it: the players are the features (a categorical feature's one-hot
// columns move together), and a coalition S is worth the model's mean answer over the background
// rows b with S's features taken from the row x:
//   v(S) = mean_b f(x_S, b_not S),    phi_0 = v({}) = mean_b f(b),    sum_j phi_j = f(x) - phi_0
// f is the target class's probability, or the predicted value of a regression. With every
// coalition (2^M - 2 <= samples) the phi are the exact Shapley values of v; otherwise KernelSHAP's
// sampled weighted regression (xai/surrogate.h).
#pragma once
#include <vector>

#include "xai/permutation_importance.h"
#include "xai/surrogate.h"

namespace gt::xai {

// v(z) for each coalition row z (of the schema's features), in batches of about 65536 model rows.
std::vector<double> table_coalition_values(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                           const TableRows& background, int64_t target, const Coalitions& zs);

SurrogateResult table_kernel_shap(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                  const TableRows& background, int64_t target, const SurrogateOptions& o);

// The Shapley values by their definition, phi_j = sum over S not holding j of
// |S|! (M - |S| - 1)! / M! [v(S + j) - v(S)], over all 2^M coalitions (a check; M <= 20).
std::vector<double> table_shapley_exact(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                        const TableRows& background, int64_t target);

}  // namespace gt::xai
