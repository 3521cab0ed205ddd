// The class activation maps that pytorch-grad-cam offers beside Grad-CAM, each a map L (h,w) from a
// layer's activations A (1,K,h,w) and gradients G = d y_c / d A (y_c the logit), then ReLU(L)
// upsampled as Grad-CAM's (xai/gradcam.h):
//   HiResCAM      (Draelos & Carin 2020)    L = sum_k G_k * A_k          (element-wise: no averaging)
//   XGrad-CAM     (Fu et al. 2020)          L = sum_k w_k A_k,  w_k = sum_ij G_k,ij A_k,ij / (sum_ij A_k,ij + 1e-7)
//   Layer-CAM     (Jiang et al. 2021)       L = sum_k ReLU(G_k) * A_k    (works in early layers too)
//   Eigen-CAM     (Muhammad & Yeasin 2020)  L = X v1: X the (hw, K) matrix of A with each channel
//                                           centred over the pixels, v1 its first right singular
//                                           vector (the first principal component); no gradient
//   EigenGrad-CAM                           the same of G * A
// A singular vector has no sign. pytorch-grad-cam keeps whatever LAPACK returns (its issue #315);
// here the sign makes L correlate positively with the channel sum of the matrix projected
// (sum_k A_k for Eigen-CAM, HiResCAM's map for EigenGrad-CAM), so the ReLU keeps the active part.
#include <Eigen/Dense>
#include <cmath>

#include "xai/gradcam.h"

namespace gt::xai {
namespace {

enum class Kind { hires, xgrad, layer, eigen, eigengrad };

// X v1 for the matrix m (K channels of P pixels, m[k P + p]), signed as above.
std::vector<double> principal_projection(const std::vector<double>& m, int64_t K, int64_t P) {
  Eigen::MatrixXd X(P, K);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t p = 0; p < P; ++p) X(p, k) = m[size_t(k * P + p)];
  X.rowwise() -= X.colwise().mean();
  // The top eigenvector of the smaller Gram matrix: X X^T u1 = s1^2 u1 gives X v1 = s1 u1, and
  // X^T X v1 = s1^2 v1 gives it directly.
  Eigen::VectorXd proj;
  if (P <= K) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(X * X.transpose());
    proj = es.eigenvectors().col(P - 1) * std::sqrt(std::max(0.0, es.eigenvalues()(P - 1)));
  } else {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(X.transpose() * X);
    proj = X * es.eigenvectors().col(K - 1);
  }
  std::vector<double> sum(size_t(P), 0.0);
  double mean = 0;
  for (int64_t p = 0; p < P; ++p) {
    for (int64_t k = 0; k < K; ++k) sum[size_t(p)] += m[size_t(k * P + p)];
    mean += sum[size_t(p)] / double(P);
  }
  double agree = 0;
  for (int64_t p = 0; p < P; ++p) agree += proj(p) * (sum[size_t(p)] - mean);
  std::vector<double> out(static_cast<size_t>(P));
  for (int64_t p = 0; p < P; ++p) out[size_t(p)] = agree < 0 ? -proj(p) : proj(p);
  return out;
}

// L before the ReLU, P = h w values, from a and g (K channels of P pixels each).
std::vector<double> raw_map(Kind kind, const std::vector<double>& a, const std::vector<double>& g, int64_t K,
                            int64_t P) {
  std::vector<double> L(size_t(P), 0.0), ga(a.size());
  for (size_t i = 0; i < a.size(); ++i) ga[i] = g[i] * a[i];
  if (kind == Kind::eigen) return principal_projection(a, K, P);
  if (kind == Kind::eigengrad) return principal_projection(ga, K, P);
  for (int64_t k = 0; k < K; ++k) {
    const size_t c = size_t(k * P);
    double w = 1;
    if (kind == Kind::xgrad) {
      double num = 0, den = 0;
      for (int64_t p = 0; p < P; ++p) num += ga[c + size_t(p)], den += a[c + size_t(p)];
      w = num / (den + 1e-7);
    }
    for (int64_t p = 0; p < P; ++p) {
      const size_t i = c + size_t(p);
      L[size_t(p)] += kind == Kind::hires ? ga[i] : kind == Kind::layer ? std::max(g[i], 0.0) * a[i] : w * a[i];
    }
  }
  return L;
}

CamFn family(Kind kind) {
  return [kind](const Model& model, const Tensor& x, const Target& t, const std::string& layer) {
    const auto [A, G] = activation_and_gradient(model, x, t, layer);
    const int64_t K = A.dim(1), h = A.dim(2), w = A.dim(3);
    const std::vector<double> L = raw_map(kind, A.to_vector_f64(), G.to_vector_f64(), K, h * w);
    return cam_from(Tensor::from_vector({1, 1, h, w}, L, A.dtype()).to(A.device()), x);
  };
}

}  // namespace

Method hirescam_entry() {
  return cam_entry("hirescam", "HiResCAM at a layer: ReLU(sum_k dy/dA_k * A_k), upsampled", "Draelos & Carin 2020",
                   family(Kind::hires));
}

Method xgradcam_entry() {
  return cam_entry("xgradcam", "XGrad-CAM at a layer: channels weighted by sum(dy/dA_k * A_k) / sum(A_k)",
                   "Fu et al. 2020", family(Kind::xgrad));
}

Method layercam_entry() {
  return cam_entry("layercam", "Layer-CAM at a layer: ReLU(sum_k ReLU(dy/dA_k) * A_k), also in early layers",
                   "Jiang et al. 2021", family(Kind::layer));
}

Method eigencam_entry() {
  return cam_entry("eigencam", "Eigen-CAM at a layer: the activations' first principal component (no gradient)",
                   "Muhammad & Yeasin 2020", family(Kind::eigen));
}

Method eigengradcam_entry() {
  return cam_entry("eigengradcam", "EigenGrad-CAM at a layer: the first principal component of dy/dA * A",
                   "Muhammad & Yeasin 2020; pytorch-grad-cam", family(Kind::eigengrad));
}

}  // namespace gt::xai
