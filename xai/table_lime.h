// LIME for one table row (Ribeiro, Singh & Guestrin 2016), as lime.lime_tabular does it with its
// defaults (discretize_continuous, quartile discretizer):
//   - a numeric feature is cut at its training quartiles into 4 bins; a sample draws a bin with the
//     training rows' frequencies and a value in it from a normal with the bin's mean and std,
//     truncated to the bin's range; a categorical feature draws a category with its frequencies;
//   - z_j = 1 where sample and row fall in the same bin (or category); the first sample is the row;
//   - the model's answer f (the target class's probability, or the value) is fit by ridge
//     regression (alpha 1, an unpenalised intercept) on z, weighted by
//     pi(z) = sqrt(exp(-|z - 1|^2 / w^2)), w = 0.75 sqrt(M).
// phi_j says how much falling in the row's own bin (or category) of feature j moves f.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "xai/permutation_importance.h"
#include "xai/surrogate.h"

namespace gt::xai {

// Each numeric feature's quartile bins from training rows, and each feature's sampling law.
struct LimeSampler {
  struct Feature {
    std::vector<double> cuts;                 // numeric: the 3 quartiles (np.percentile 25, 50, 75)
    std::vector<double> p;                    // bin (or category) frequencies
    std::vector<double> mean, stdev, lo, hi;  // numeric: per bin
  };
  std::vector<Feature> features;
  // The bin of value v of numeric feature j (searchsorted(cuts, v), as lime's discretizer).
  int bin(size_t j, double v) const;
};
LimeSampler lime_sampler(const TableRows& training);
// Bin b (searchsorted(cuts, v)) of a numeric feature cut at `cuts`: "age <= 28", "28 < age <= 37",
// "age > 47".
std::string bin_condition(const std::string& name, const std::vector<double>& cuts, int b);
// Feature j's predicate for value v: its quartile bin ("28 < age <= 37") or category ("sex = Male").
std::string feature_condition(const data::TableSchema& s, const LimeSampler& bins, size_t j, double v);
// The model's outputs for rows in values form, encoded here: [rows][K], probabilities (classify) or
// the value in the target's units (K = 1).
std::vector<double> values_outputs(nn::Model& m, const data::TableSchema& s,
                                   const std::vector<std::vector<double>>& rows, int64_t& K);

struct TableLimeResult {
  std::vector<double> phi;  // per feature
  double intercept = 0, score = 0, local_pred = 0, f_x = 0;
  std::vector<std::string> conditions;  // per feature: the row's bin ("28 < age <= 37") or category
};

// LIME of row x (values form: numbers and category indices, Table::values) with n samples drawn
// from the sampler; or, when `samples` is given (rows in values form, the first the row itself), on
// those (a test replays lime_tabular's).
TableLimeResult table_lime(nn::Model& m, const data::TableSchema& s, const LimeSampler& sampler,
                           const std::vector<double>& x, int64_t target, int n, uint64_t seed,
                           const std::vector<std::vector<double>>& samples = {});

}  // namespace gt::xai
