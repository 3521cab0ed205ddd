// Sufficiency (Dasgupta et al. 2022, "Framework for Evaluating Faithfulness of Local Explanations"):
// is an explanation enough to know the prediction? Items whose maps lie close together should get the
// same class. A metric of a set of items, not of one: each item keeps its prepared map and predicted
// class, and the set step scores every item of a set from the others. Quantus 0.6 takes the set to be
// the batch of its call (batch_size 64); evaluate's sets are the same, 64 consecutive items.
#include <cmath>

#include "xai/quality.h"

namespace gt::xai::quality {
namespace {

// The item's part: its map as the settings prepare it, then its predicted class (the model's argmax,
// whatever the target). In float32, as the results file keeps it: a run resumed from the file scores
// the sets from the same numbers.
Score keep(const Input& in) {
  Score r;
  for (double v : prepared(in)) r.kept.push_back(double(float(v)));
  r.kept.push_back(double(in.subject.top1));
  return r;
}

// The set's part, for items i = 1..B with maps a_i and classes c_i:
//   D_ij = sqrt(sum_k (a_ik - a_jk)^2 / V_k), V_k the variance (ddof 1) of feature k over the set
//          stacked twice (scipy's cdist "seuclidean" with V=None, as Quantus calls it);
//   S_ij = [D_ij / max D <= threshold] for j != i;
//   score_i = sum_j S_ij [c_j = c_i] / sum_j S_ij, and 0 when no other map is that close.
// A feature that is the same in every map (V_k = 0) makes every D_ij NaN in scipy, and then every
// score 0 in Quantus; so here too.
std::vector<double> score_set(const std::vector<std::vector<double>>& kept, const Options& o) {
  const size_t B = kept.size(), F = kept.empty() ? 0 : kept[0].size() - 1;
  std::vector<double> inv_var(F);
  for (size_t k = 0; k < F; ++k) {
    double mean = 0, ss = 0;
    for (const auto& a : kept) mean += a[k];
    mean /= double(B);
    for (const auto& a : kept) ss += (a[k] - mean) * (a[k] - mean);
    if (ss == 0) return std::vector<double>(B, 0.0);
    inv_var[k] = double(2 * B - 1) / (2 * ss);
  }
  std::vector<double> D(B * B, 0.0);
  double longest = 0;
  for (size_t i = 0; i < B; ++i)
    for (size_t j = i + 1; j < B; ++j) {
      double s = 0;
      for (size_t k = 0; k < F; ++k) s += (kept[i][k] - kept[j][k]) * (kept[i][k] - kept[j][k]) * inv_var[k];
      D[i * B + j] = D[j * B + i] = std::sqrt(s);
      longest = std::max(longest, D[i * B + j]);
    }
  const double threshold = o.real("threshold");
  std::vector<double> score(B, 0.0);
  for (size_t i = 0; i < B; ++i) {
    double close = 0, same = 0;
    for (size_t j = 0; j < B; ++j) {
      if (j == i || (longest > 0 ? D[i * B + j] / longest : 0.0) > threshold) continue;
      close += 1;
      same += kept[j][F] == kept[i][F];
    }
    if (close > 0) score[i] = same / close;
  }
  return score;
}

}  // namespace

Metric sufficiency_metric() {
  Metric m{"sufficiency",
           "faithfulness",
           "how often items with maps close to the item's (within a set of items) share its predicted class",
           "Dasgupta et al. 2022",
           1,
           false,
           false,
           keep,
           preprocessing(true, true)};
  m.options.insert(m.options.end(),
                   {real_option("threshold", 0.6, 0, 1e9, "T", "close: distance at most T times the set's largest"),
                    int_option("set", 64, 1, 1 << 20, "N", "items per set (Quantus's batch_size)")});
  m.over_set = score_set;
  return m;
}

}  // namespace gt::xai::quality
