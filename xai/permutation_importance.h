// Permutation importance (Breiman 2001; Fisher, Rudin & Dominici 2019), as
// sklearn.inspection.permutation_importance computes it: the drop of the model's score when one
// feature's values are shuffled across the rows, which breaks its link to the target and keeps its
// distribution:
//   I_jk = s(f, X, y) - s(f, X with feature j's rows in the order pi_jk, y),   k = 1..repeats
// reported as mean_k I_jk and std_k I_jk (population std, as numpy's). A categorical feature's one-hot
// columns move together: the feature is shuffled, not its encoding. The score s is the eval metric:
// accuracy for a classifier, R^2 for a regression (sklearn's default scorer for either).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/table.h"
#include "nn/model.h"

namespace gt::xai {

// Rows to score: encoded (N x schema.width(), double), with their classes or targets (target units).
struct TableRows {
  const data::TableSchema* schema = nullptr;
  std::vector<double> x;
  std::vector<double> values;   // N x features: the rows' values (data::Table::values)
  std::vector<int32_t> labels;  // classify
  std::vector<double> y;        // regress
  int64_t rows() const { return schema && schema->width() ? int64_t(x.size()) / schema->width() : 0; }
};
// The dtype of the model's parameters: table rows are made in it (float64 models give exact numbers).
DType model_dtype(nn::Model& m);

// The rows `idx` of a table (all of them when idx is empty).
TableRows table_rows(const data::Table& t, const std::vector<int64_t>& idx);

// The model's score on rows x: accuracy, or R^2 of output * scale + mean against y. The model runs
// in its own dtype (float64 models for exact teaching numbers), in batches of `batch` rows.
double table_score(nn::Model& m, const TableRows& r, const std::vector<double>& x, int64_t batch = 4096);

struct PermutationOptions {
  int repeats = 5;
  uint64_t seed = 0;
  // Optional: the row order of each (feature, repeat), perms[j][k] of size N (a test replays
  // sklearn's). Empty: drawn from the seed, each feature from its own stream.
  std::vector<std::vector<std::vector<int64_t>>> perms;
  std::function<void(int64_t done, int64_t total)> progress;
};

struct PermutationResult {
  double baseline = 0;                           // s(f, X, y)
  std::vector<std::vector<double>> importances;  // [feature][repeat]: I_jk
  std::vector<double> mean, std;                 // per feature
  std::string metric;                            // accuracy | r2
};

PermutationResult permutation_importance(nn::Model& m, const TableRows& r, const PermutationOptions& o);

}  // namespace gt::xai
