// Accumulated local effects (Apley & Zhu 2020), first order, as alibi's ALE computes them: the
// feature's range is cut at quantiles into intervals; each row moves to its interval's two ends,
// and the mean change of the model's answer in an interval is that interval's local effect; the
// effects are summed from the left and centred so that their mean over the rows is 0:
//   ALE(z_k) = sum_{m <= k} mean_{i in interval m} [f(x_i with x_ij = z_m) - f(x_i with x_ij = z_{m-1})] - c
// Unlike partial dependence it only asks the model about values near the row's own, so correlated
// features do not put rows where the data has none. Numeric features only (alibi's); the answer is
// every class's probability, or the predicted value.
#pragma once
#include <vector>

#include "xai/permutation_importance.h"

namespace gt::xai {

struct AleOptions {
  int min_bin_points = 4;             // alibi: quantile intervals hold more rows than this
  int low_resolution_threshold = 10;  // at most this many distinct values: they are the grid
};

struct AleResult {
  std::vector<double> grid;          // z_0 < ... < z_G-1, in the feature's units
  std::vector<std::string> outputs;  // p(class) for each class, or the target
  std::vector<double> ale;           // [grid][outputs]
  std::vector<double> ale0;          // [outputs]: the centring constant c
};

AleResult ale(nn::Model& m, const TableRows& r, int64_t feature, const AleOptions& o = {});

// numpy's percentile (linear interpolation) of sorted values, p in [0, 100], with numpy's rounding:
// index (n - 1) * (p / 100), the last value from index n - 1 on.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace gt::xai
