#include "xai/table_shap.h"

#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai {

std::vector<double> table_coalition_values(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                           const TableRows& background, int64_t target, const Coalitions& zs) {
  const int64_t W = s.width(), B = background.rows();
  if (B < 1) throw InvalidArgument("kernelshap: the background has no rows");
  const DType dtype = model_dtype(m);
  const int64_t per_pass = std::max<int64_t>(1, 65536 / B);  // coalitions per forward pass
  std::vector<double> v;
  NoGradGuard no_grad;
  for (size_t z0 = 0; z0 < zs.size(); z0 += size_t(per_pass)) {
    const size_t z1 = std::min(zs.size(), z0 + size_t(per_pass));
    std::vector<double> rows;  // (z1 - z0) * B rows: background row b with the coalition's features from x
    rows.reserve((z1 - z0) * size_t(B * W));
    for (size_t i = z0; i < z1; ++i)
      for (int64_t b = 0; b < B; ++b) {
        rows.insert(rows.end(), background.x.begin() + b * W, background.x.begin() + (b + 1) * W);
        double* row = &rows[rows.size() - size_t(W)];
        for (size_t j = 0; j < s.features.size(); ++j)
          if (zs[i][j])
            for (int64_t c = s.features[j].offset; c < s.features[j].offset + s.features[j].width(); ++c)
              row[c] = x[size_t(c)];
      }
    Tensor out = m(Tensor::from_vector({int64_t(z1 - z0) * B, W}, rows, dtype));
    if (s.task == "classify") out = ops::softmax(out);
    const std::vector<double> f = out.to_vector_f64();
    const int64_t K = out.dim(1), k = s.task == "classify" ? target : 0;
    const double scale = s.task == "regress" ? s.target_scale : 1, shift = s.task == "regress" ? s.target_mean : 0;
    for (size_t i = z0; i < z1; ++i) {
      double sum = 0;
      for (int64_t b = 0; b < B; ++b) sum += f[size_t((int64_t(i - z0) * B + b) * K + k)] * scale + shift;
      v.push_back(sum / double(B));
    }
  }
  return v;
}

SurrogateResult table_kernel_shap(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                  const TableRows& background, int64_t target, const SurrogateOptions& o) {
  return kernel_shap_game(
      int64_t(s.features.size()),
      [&](const Coalitions& zs) { return table_coalition_values(m, s, x, background, target, zs); }, o);
}

std::vector<double> table_shapley_exact(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                        const TableRows& background, int64_t target) {
  const auto M = int64_t(s.features.size());
  if (M > 20) throw InvalidArgument("exact Shapley values: at most 20 features");
  Coalitions zs;
  for (int64_t mask = 0; mask < (int64_t(1) << M); ++mask) {
    std::vector<uint8_t> z(static_cast<size_t>(M));
    for (int64_t j = 0; j < M; ++j) z[size_t(j)] = uint8_t(mask >> j & 1);
    zs.push_back(z);
  }
  const std::vector<double> v = table_coalition_values(m, s, x, background, target, zs);
  std::vector<double> phi(static_cast<size_t>(M), 0.0);
  for (int64_t mask = 0; mask < (int64_t(1) << M); ++mask)
    for (int64_t j = 0; j < M; ++j) {
      if (mask >> j & 1) continue;
      const int64_t k = __builtin_popcountll(uint64_t(mask));  // |S|
      const double weight =
          std::exp(std::lgamma(double(k + 1)) + std::lgamma(double(M - k)) - std::lgamma(double(M + 1)));
      phi[size_t(j)] += weight * (v[size_t(mask | (int64_t(1) << j))] - v[size_t(mask)]);
    }
  return phi;
}

}  // namespace gt::xai
