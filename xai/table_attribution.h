// Gradient attributions of one table row (data/table.h), on the tape, per encoded column and per
// feature, a categorical feature's one-hot columns summed:
//   saliency     a_j = dF/dx_j
//   gradxinput   a_j = x_j dF/dx_j
//   ig           a_j = (x_j - x'_j) int_0^1 dF/dx_j (x' + t (x - x')) dt   (sum_j a_j = F(x) - F(x'))
// F is the target class's logit, or a regression's prediction in the target's units. x is the
// encoded row: a numeric column is standardised, so x_j = 0 is the training mean.
#pragma once
#include <string>
#include <vector>

#include "data/table.h"
#include "nn/model.h"
#include "xai/integrated_gradients.h"
#include "xai/permutation_importance.h"

namespace gt::xai {

// IG's baseline row from the schema: mean (numeric 0, categories at their training shares), median
// (numeric medians, the most frequent category) or zero (every encoded column 0).
std::vector<double> baseline_row(const data::TableSchema& s, const std::string& kind);

struct TableAttribution {
  std::vector<double> columns, features;      // per encoded column, per feature
  double f_x = 0, f_baseline = 0, delta = 0;  // ig: F(x), F(x') and the quadrature's gap
};

// method: saliency | gradxinput | ig (baseline and ig used by ig alone). target: a class index
// (ignored for regression).
TableAttribution table_attribution(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                   int64_t target, const std::string& method, const std::vector<double>& baseline,
                                   const IgOptions& ig);

}  // namespace gt::xai
