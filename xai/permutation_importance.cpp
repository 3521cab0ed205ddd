#include "xai/permutation_importance.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "nn/init.h"

namespace gt::xai {

DType model_dtype(nn::Model& m) {
  DType dtype = DType::f32;
  for (auto& [name, p] : m.named_parameters()) dtype = p->dtype();
  return dtype;
}

TableRows table_rows(const data::Table& t, const std::vector<int64_t>& idx) {
  TableRows r;
  r.schema = &t.schema;
  const auto W = size_t(t.schema.width());
  std::vector<int64_t> all(size_t(t.rows()));
  std::iota(all.begin(), all.end(), 0);
  for (int64_t i : idx.empty() ? all : idx) {
    r.x.insert(r.x.end(), t.x.begin() + long(size_t(i) * W), t.x.begin() + long(size_t(i + 1) * W));
    const size_t F = t.schema.features.size();
    r.values.insert(r.values.end(), t.values.begin() + long(size_t(i) * F), t.values.begin() + long(size_t(i + 1) * F));
    if (!t.labels.empty()) r.labels.push_back(t.labels[size_t(i)]);
    if (!t.y.empty()) r.y.push_back(t.y[size_t(i)]);
  }
  return r;
}

double table_score(nn::Model& m, const TableRows& r, const std::vector<double>& x, int64_t batch) {
  const data::TableSchema& s = *r.schema;
  const int64_t N = r.rows(), W = s.width();
  const DType dtype = model_dtype(m);
  NoGradGuard no_grad;
  double hits = 0, ss_res = 0;
  for (int64_t start = 0; start < N; start += batch) {
    const int64_t B = std::min(batch, N - start);
    const std::vector<double> part(x.begin() + start * W, x.begin() + (start + B) * W);
    const std::vector<double> out = m(Tensor::from_vector({B, W}, part, dtype)).to_vector_f64();
    const int64_t K = int64_t(out.size()) / B;
    for (int64_t n = 0; n < B; ++n) {
      if (s.task == "classify") {
        const auto row = out.begin() + n * K;
        hits += std::max_element(row, row + K) - row == r.labels[size_t(start + n)];
      } else {
        const double e = out[size_t(n)] * s.target_scale + s.target_mean - r.y[size_t(start + n)];
        ss_res += e * e;
      }
    }
  }
  if (s.task == "classify") return hits / double(N);
  const double mean = std::accumulate(r.y.begin(), r.y.end(), 0.0) / double(N);
  double ss_tot = 0;
  for (double v : r.y) ss_tot += (v - mean) * (v - mean);
  return ss_tot > 0 ? 1 - ss_res / ss_tot : 0.0;  // R^2 (sklearn's r2_score; 0 for a constant target)
}

PermutationResult permutation_importance(nn::Model& m, const TableRows& r, const PermutationOptions& o) {
  const data::TableSchema& s = *r.schema;
  const int64_t N = r.rows(), W = s.width(), F = int64_t(s.features.size());
  if (N < 2) throw InvalidArgument("permutation importance needs at least 2 rows");
  if (!o.perms.empty() && int64_t(o.perms.size()) != F)
    throw InvalidArgument("permutation importance: " + std::to_string(o.perms.size()) + " permutation sets for " +
                          std::to_string(F) + " features");
  PermutationResult res;
  res.metric = s.task == "classify" ? "accuracy" : "r2";
  res.baseline = table_score(m, r, r.x);
  std::vector<double> shuffled = r.x;
  std::vector<int64_t> order(static_cast<size_t>(N));
  for (int64_t j = 0; j < F; ++j) {
    const data::TableColumn& f = s.features[size_t(j)];
    std::mt19937_64 rng(nn::mix(o.seed, 21, uint64_t(j)));
    std::vector<double> drops;
    for (int k = 0; k < o.repeats; ++k) {
      if (o.perms.empty()) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
      } else {
        order = o.perms[size_t(j)].at(size_t(k));
        if (int64_t(order.size()) != N)
          throw InvalidArgument("permutation importance: a permutation of the wrong size");
      }
      // feature j's columns of row n come from row order[n]; the other columns stay
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = f.offset; c < f.offset + f.width(); ++c)
          shuffled[size_t(n * W + c)] = r.x[size_t(order[size_t(n)] * W + c)];
      drops.push_back(res.baseline - table_score(m, r, shuffled));
      if (o.progress) o.progress(j * o.repeats + k + 1, F * o.repeats);
    }
    for (int64_t n = 0; n < N; ++n)  // feature j back in place
      for (int64_t c = f.offset; c < f.offset + f.width(); ++c) shuffled[size_t(n * W + c)] = r.x[size_t(n * W + c)];
    const double mean = std::accumulate(drops.begin(), drops.end(), 0.0) / double(drops.size());
    double var = 0;
    for (double d : drops) var += (d - mean) * (d - mean);
    res.mean.push_back(mean);
    res.std.push_back(std::sqrt(var / double(drops.size())));
    res.importances.push_back(std::move(drops));
  }
  return res;
}

}  // namespace gt::xai
