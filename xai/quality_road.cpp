// ROAD, RemOve And Debias (Rong et al. 2022): remove the most relevant p% of the pixels without
// leaving a hole the model can see. Each removed pixel is filled in from its 8 neighbours (noisy
// linear imputation), so the shape of the removed set carries no information, and the model is asked
// whether it still sees the target class.
#include <Eigen/Sparse>
#include <Eigen/SparseCholesky>
#include <algorithm>
#include <cmath>
#include <random>

#include "xai/quality.h"

namespace gt::xai::quality {

// Noisy linear imputation (ROAD's, as Quantus 0.6 has it): every removed pixel equals the weighted
// mean of its neighbours inside the image, weights 1/6 for the 4 edge neighbours and 1/12 for the 4
// diagonal ones, removed neighbours being unknowns too:
//     s_i x_i - sum_{j removed} w_ij x_j = sum_{j kept} w_ij x_j,   s_i = sum of i's in-image weights,
// one sparse system for all removed pixels (symmetric, diagonally dominant: positive definite as long
// as a pixel is kept), solved per channel; then N(0, noise^2) is added to each imputed value.
void noisy_linear_imputation(std::vector<double>& img, int64_t C, int64_t H, int64_t W,
                             const std::vector<int64_t>& removed, double noise, std::mt19937_64& rng) {
  const int64_t n = int64_t(removed.size());
  if (n == 0) return;
  std::vector<int64_t> var(size_t(H * W), -1);  // pixel -> unknown number, -1 when kept
  for (int64_t k = 0; k < n; ++k) var[size_t(removed[size_t(k)])] = k;
  static const int dr[8] = {1, 0, -1, 1, 0, -1, 1, -1}, dc[8] = {1, 1, 1, -1, -1, -1, 0, 0};
  static const double w[8] = {1. / 12, 1. / 6, 1. / 12, 1. / 12, 1. / 6, 1. / 12, 1. / 6, 1. / 6};
  std::vector<Eigen::Triplet<double>> t;
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(n, C);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = removed[size_t(k)] / W, c = removed[size_t(k)] % W;
    double s = 0;
    for (int e = 0; e < 8; ++e) {
      const int64_t rr = r + dr[e], cc = c + dc[e];
      if (rr < 0 || cc < 0 || rr >= H || cc >= W) continue;
      s += w[e];
      const int64_t j = var[size_t(rr * W + cc)];
      if (j >= 0)
        t.emplace_back(k, j, -w[e]);
      else
        for (int64_t ch = 0; ch < C; ++ch) b(k, ch) += w[e] * img[size_t(ch * H * W + rr * W + cc)];
    }
    t.emplace_back(k, k, s);
  }
  Eigen::SparseMatrix<double> A(n, n);
  A.setFromTriplets(t.begin(), t.end());
  const Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver(A);
  if (solver.info() != Eigen::Success) throw Error("road: the imputation's system is singular (no pixel is kept)");
  const Eigen::MatrixXd v = solver.solve(b);
  std::normal_distribution<double> gauss(0.0, noise);
  for (int64_t ch = 0; ch < C; ++ch)
    for (int64_t k = 0; k < n; ++k) img[size_t(ch * H * W + removed[size_t(k)])] = v(k, ch) + gauss(rng);
}

namespace {

// The percentages 1, 1 + step, ... below 100 (Quantus's default: 1, 3, ..., 99). At each, the
// first floor(H*W p / 100) pixels in the map's order (most relevant first) are imputed in all
// channels, and the curve holds 1 when the model still predicts the target, else 0. Value: the
// curve's mean, the area under the MoRF accuracy curve: lower means the map found what the model
// uses. (Quantus 0.6 fails on 3-channel inputs here, indexing the H*W mask with C*H*W positions; it
// also reports only the accuracy over the first batch per percentage, which is the mean of these
// curves in the summary.)
Score road(const Input& in) {
  const Tensor& x = in.subject.x;
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3), step = in.settings.integer("step");
  const std::vector<int64_t> order = importance_order(prepared(in));
  const std::vector<double> x0 = x.to_vector_f64();
  std::mt19937_64 rng(in.seed);
  std::vector<std::vector<double>> imputed;
  for (int64_t p = 1; p < 100; p += step) {
    imputed.push_back(x0);
    const std::vector<int64_t> top(order.begin(), order.begin() + H * W * p / 100);
    noisy_linear_imputation(imputed.back(), C, H, W, top, in.settings.real("noise"), rng);
  }
  Score r;
  r.curve.resize(imputed.size());
  score_copies(
      in.subject.fn, x, int64_t(imputed.size()), in.batch,
      [&](int64_t k, double* img) { std::copy(imputed[size_t(k)].begin(), imputed[size_t(k)].end(), img); },
      [&](int64_t k0, const Tensor& logits) {
        const std::vector<double> v = logits.to_vector_f64();
        const int64_t K = logits.dim(1);
        for (int64_t k = 0; k < logits.dim(0); ++k) {
          const auto row = v.begin() + k * K;
          r.curve[size_t(k0 + k)] = double(std::max_element(row, row + K) - row == in.target.index);
        }
      });
  double sum = 0;
  for (double v : r.curve) sum += v;
  r.value = sum / double(r.curve.size());
  return r;
}

}  // namespace

Metric road_metric() {
  Metric m{"road",
           "faithfulness",
           "share of the removal levels (1%, 3%, ... of the top pixels, filled in from their neighbours) "
           "at which the model still predicts the target",
           "Rong et al. 2022",
           -1,
           false,
           true,
           road,
           preprocessing(false, true)};
  m.options.insert(m.options.end(), {int_option("step", 2, 1, 99, "P", "percentages 1, 1+P, ... below 100"),
                                     real_option("noise", 0.01, 0, 1e6, "S", "N(0, S^2) added to imputed values")});
  m.pictures_only = true;  // its imputation needs a pixel's neighbours
  return m;
}

}  // namespace gt::xai::quality
