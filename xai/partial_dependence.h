// Partial dependence and ICE (Friedman 2001; Goldstein et al. 2015), as
// sklearn.inspection.partial_dependence(kind='both', method='brute') computes them: set feature j to
// each grid value v in every row, and read the model's answer:
//   ICE_i(v) = f(x_i with x_ij = v)          PD(v) = mean_i ICE_i(v)
// f is the probability of each class (of class 1 alone for two classes, as sklearn), or the predicted
// value of a regression. The grid of a numeric feature is its unique values when there are fewer
// than `grid`, else `grid` points evenly spaced between its 5th and 95th percentiles (scipy's
// mquantiles, as sklearn); a categorical feature's grid is its categories. Two features give the
// product grid (2-D PD).
#pragma once
#include <string>
#include <vector>

#include "xai/permutation_importance.h"

namespace gt::xai {

struct PdpOptions {
  int grid = 100;               // sklearn's grid_resolution
  double lo = 0.05, hi = 0.95;  // the percentiles that bound a numeric grid
  bool ice = true;              // keep each row's curve
  bool centered = false;        // c-ICE (Goldstein et al.): each curve minus its value at the first grid point
};

struct PdpAxis {
  std::string feature;
  bool categorical = false;
  std::vector<double> values;       // numeric: the grid in the feature's units
  std::vector<std::string> labels;  // the grid as text (categories, or the numbers)
  size_t size() const { return labels.size(); }
};

struct PdpResult {
  std::vector<PdpAxis> axes;         // 1 or 2
  std::vector<std::string> outputs;  // what each output is: a class ("p(>50K)") or the target
  std::vector<double> average;       // [outputs][grid points] (2-D: row-major over the two axes)
  std::vector<double> individual;    // [outputs][rows][grid points] with options.ice
};

// features: one or two indices into the schema's features.
PdpResult partial_dependence(nn::Model& m, const TableRows& r, const std::vector<int64_t>& features,
                             const PdpOptions& o);

// scipy.stats.mstats.mquantiles with its defaults (alphap = betap = 0.4) of sorted values.
double mquantile(const std::vector<double>& sorted, double p);

}  // namespace gt::xai
