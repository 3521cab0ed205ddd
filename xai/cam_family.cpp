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
//   Score-CAM     (Wang et al. 2020)        L = sum_k w_k A_k,  w = softmax_k(y_c(x * M_k)): M_k is A_k
//                                           upsampled to the input (bilinear, corners aligned) and
//                                           min-max normalised (eps 1e-8); no gradient, K passes
//   Ablation-CAM  (Desai & Ramaswamy 2020)  L = sum_k w_k A_k,  w_k = (y_c - y_c with A_k zeroed) / y_c
//                                           (no abs, as pytorch-grad-cam; K passes)
// A singular vector has no sign. pytorch-grad-cam keeps whatever LAPACK returns (its issue #315);
// here the sign makes L correlate positively with the channel sum of the matrix projected
// (sum_k A_k for Eigen-CAM, HiResCAM's map for EigenGrad-CAM), so the ReLU keeps the active part.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "autodiff/tape.h"
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

// L before the ReLU, P = h w values, from a and g (K channels of P pixels each; g empty for Eigen-CAM).
std::vector<double> raw_map(Kind kind, const std::vector<double>& a, const std::vector<double>& g, int64_t K,
                            int64_t P) {
  if (kind == Kind::eigen) return principal_projection(a, K, P);
  std::vector<double> L(size_t(P), 0.0), ga(a.size());
  for (size_t i = 0; i < a.size(); ++i) ga[i] = g[i] * a[i];
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
  return [kind](const Model& model, const Tensor& x, const Target& t, const std::string& layer, const Options&) {
    const auto [A, G] = activation_and_gradient(model, x, t, layer, kind != Kind::eigen);
    const int64_t K = A.dim(1), h = A.dim(2), w = A.dim(3);
    const std::vector<double> L =
        raw_map(kind, A.to_vector_f64(), G.defined() ? G.to_vector_f64() : std::vector<double>(), K, h * w);
    return cam_from(Tensor::from_vector({1, 1, h, w}, L, A.dtype()).to(A.device()), x);
  };
}

// sum_k w_k A_k, the CAM of channel weights w (Score-CAM's, Ablation-CAM's).
Cam weighted_cam(const Tensor& A, const std::vector<double>& w, const Tensor& x) {
  const int64_t K = A.dim(1), P = A.dim(2) * A.dim(3);
  const std::vector<double> a = A.to_vector_f64();
  std::vector<double> L(static_cast<size_t>(P), 0.0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t p = 0; p < P; ++p) L[size_t(p)] += w[size_t(k)] * a[size_t(k * P + p)];
  return cam_from(Tensor::from_vector({1, 1, A.dim(2), A.dim(3)}, L, A.dtype()).to(A.device()), x);
}

// A (K,h,w) upsampled to (K,H,W), bilinear with the corners aligned (torch's UpsamplingBilinear2d,
// as pytorch-grad-cam's Score-CAM), then each channel min-max normalised: the masks M_k.
std::vector<double> score_masks(const std::vector<double>& a, int64_t K, int64_t h, int64_t w, int64_t H, int64_t W) {
  const auto src = [](int64_t i, int64_t n, int64_t out) {
    return out > 1 ? double(i) * double(n - 1) / double(out - 1) : 0.0;
  };
  std::vector<double> m(size_t(K * H * W));
  for (int64_t k = 0; k < K; ++k) {
    const double* A = a.data() + k * h * w;
    double* M = m.data() + k * H * W;
    for (int64_t i = 0; i < H; ++i) {
      const double y = src(i, h, H);
      const int64_t y0 = std::min(int64_t(y), h - 1), y1 = std::min(y0 + 1, h - 1);
      for (int64_t j = 0; j < W; ++j) {
        const double xs = src(j, w, W);
        const int64_t x0 = std::min(int64_t(xs), w - 1), x1 = std::min(x0 + 1, w - 1);
        const double fy = y - double(y0), fx = xs - double(x0);
        M[i * W + j] = (1 - fy) * ((1 - fx) * A[y0 * w + x0] + fx * A[y0 * w + x1]) +
                       fy * ((1 - fx) * A[y1 * w + x0] + fx * A[y1 * w + x1]);
      }
    }
    const auto [lo, hi] = std::minmax_element(M, M + H * W);
    const double low = *lo, range = *hi - *lo + 1e-8;
    for (int64_t p = 0; p < H * W; ++p) M[p] = (M[p] - low) / range;
  }
  return m;
}

Cam scorecam(const Model& model, const Tensor& x, const Target& t, const std::string& layer, const Options& o) {
  const Tensor A = activation_and_gradient(model, x, t, layer, false).first;
  const int64_t K = A.dim(1), h = A.dim(2), w = A.dim(3), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const std::vector<double> a = A.to_vector_f64(), x0 = x.to_vector_f64();
  const std::vector<double> masks = score_masks(a, K, h, w, H, W);
  std::vector<double> s(static_cast<size_t>(K));
  score_copies(
      model, x, K, o.integer("batch"),
      [&](int64_t k, double* img) {
        for (int64_t c = 0; c < C; ++c)
          for (int64_t p = 0; p < H * W; ++p)
            img[c * H * W + p] = x0[size_t(c * H * W + p)] * masks[size_t(k * H * W + p)];
      },
      [&](int64_t k0, const Tensor& logits) {
        const std::vector<double> v = row_scores(logits, t);
        std::copy(v.begin(), v.end(), s.begin() + k0);
      });
  const double top = *std::max_element(s.begin(), s.end());  // the softmax over the channels
  double z = 0;
  for (double& v : s) z += v = std::exp(v - top);
  for (double& v : s) v /= z;
  return weighted_cam(A, s, x);
}

// The name of the layer's last op, whose output is A (the op a hook must change to change A).
std::string last_op(const Model& model, const Tensor& x, const std::string& layer) {
  Tape tape;
  TapeGuard guard(tape);
  std::string last;
  tape.add_forward_hook("", layer, [&](const std::string& op, const std::string&, const Tensor& out) {
    last = op;
    return out;
  });
  model(x.detach().set_requires_grad(true));  // recorded, so that the hooks see it
  return last;
}

Cam ablationcam(const Model& model, const Tensor& x, const Target& t, const std::string& layer, const Options& o) {
  const Tensor A = activation_and_gradient(model, x, t, layer, false).first;
  const int64_t K = A.dim(1), hw = A.dim(2) * A.dim(3), batch = o.integer("batch");
  const std::string op = last_op(model, x, layer);
  double s0 = 0;
  {
    NoGradGuard no_grad;
    s0 = row_scores(model(x), t)[0];
  }
  const std::vector<double> x0 = x.to_vector_f64();
  std::vector<double> weight(static_cast<size_t>(K));
  for (int64_t k0 = 0; k0 < K; k0 += batch) {
    const int64_t n = std::min(batch, K - k0);
    std::vector<double> copies;
    for (int64_t b = 0; b < n; ++b) copies.insert(copies.end(), x0.begin(), x0.end());
    Tensor X = Tensor::from_vector({n, x.dim(1), x.dim(2), x.dim(3)}, copies, x.dtype()).to(x.device());
    Tape tape;
    TapeGuard guard(tape);
    tape.add_forward_hook(op, layer, [&](const std::string&, const std::string&, const Tensor& out) {
      std::vector<double> v = out.to_vector_f64();  // (n,K,h,w): row b without channel k0 + b
      for (int64_t b = 0; b < n; ++b) std::fill_n(v.begin() + ((b * K + k0 + b) * hw), hw, 0.0);
      return Tensor::from_vector(out.shape(), v, out.dtype()).to(out.device());
    });
    const std::vector<double> s = row_scores(model(X.set_requires_grad(true)), t);
    for (int64_t b = 0; b < n; ++b) weight[size_t(k0 + b)] = (s0 - s[size_t(b)]) / s0;
  }
  return weighted_cam(A, weight, x);
}

}  // namespace

Method ablationcam_entry() {
  return cam_entry("ablationcam", "Ablation-CAM at a layer: channels weighted by the score's drop when each is zeroed",
                   "Desai & Ramaswamy 2020", ablationcam, false,
                   {int_option("batch", 32, 1, 4096, "B", "ablated channels per forward pass")});
}

Method scorecam_entry() {
  return cam_entry("scorecam", "Score-CAM at a layer: channels weighted by the class score of the input they mask",
                   "Wang et al. 2020", scorecam, false,
                   {int_option("batch", 16, 1, 4096, "B", "masked inputs per forward pass")});
}

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
