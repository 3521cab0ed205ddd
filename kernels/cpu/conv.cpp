// conv2d on the CPU.
//
// General path: a convolution is a GEMM once the input patches are unrolled (im2col):
//   y[o, p] = sum_k w[o, k] * col[k, p],   k = (c, i, j),  p = (oy, ox)
// with col[(c,i,j), (oy,ox)] = x[c, oy*sh - pt + i*dh, ox*sw - pl + j*dw] (0 outside the image).
// Backward:  dcol = w^T dy  then col2im (scatter-add) gives dx;   dw = dy col^T.
// For stride 1 the data gradient is itself a convolution of dy with the flipped, transposed kernel
// ("full" correlation), so it reuses the forward path and needs no scatter.
//
// Threading: a large unrolled matrix is processed in column chunks, one chunk per thread with a
// private buffer and a single-threaded Eigen GEMM (Eigen runs serially inside an OpenMP region).
// A small one is unrolled whole and multiplied by Eigen's own parallel GEMM.
#include "kernels/cpu/conv.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/depthwise.h"
#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/gather.h"
#include "kernels/cpu/layout.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/sgemm.h"
#include "kernels/cpu/winograd.h"

namespace gt::cpu {
namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapC = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using MapM = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;

// Per-thread column chunks of about this width; each chunk re-packs w inside Eigen's GEMM, so a
// chunk narrower than kMinChunkCols costs more in packing than it gains in parallelism.
constexpr int64_t kChunkCols = 1024;
constexpr int64_t kMinChunkCols = 512;
// The col2im data gradient processes columns in blocks of at most this many bytes of patches.
constexpr int64_t kBlockBytes = 6 << 20;
// Stride-1 data gradients with fewer output columns (images x pixels) take col2im, not the
// transposed convolution (see conv2d_backward_data).
constexpr int64_t kMinTransposedColumns = 400;

// Splits P output columns into a multiple of the thread count of chunks of about kChunkCols.
// Returns 0 when the chunks would be too narrow: then one unrolled matrix and Eigen's own
// parallel GEMM do better (deep layers with few pixels and large weights).
int64_t per_thread_chunk(int64_t P) {
  const int64_t threads = omp_get_max_threads();
  const int64_t rounds = std::max<int64_t>(1, (P + kChunkCols * threads / 2) / (kChunkCols * threads));
  const int64_t chunk = (P + rounds * threads - 1) / (rounds * threads);
  return chunk >= kMinChunkCols ? chunk : 0;
}

// Unrolls (Accumulate=false) or scatters back (Accumulate=true) the patches of Cg channels for
// output pixels [p0, p0+np). col holds rows [r0, r1) of the (Cg*kh*kw) x np patch matrix, row-major
// with row stride ld >= np.
template <bool Accumulate, class T, class X>
void unroll(X* x, const ConvGeom& g, int64_t r0, int64_t r1, int64_t p0, int64_t np, T* col, int64_t ld) {
  // Called once per 64-column strip by the strip GEMM, so the per-row bookkeeping is incremental:
  // (c, i, j) steps with r, and the output position (oy, ox) of p0 is divided out only once.
  const int64_t oy_first = p0 / g.Wo, ox_first = p0 % g.Wo;
  int64_t c = r0 / (g.kh * g.kw), i = (r0 / g.kw) % g.kh, j = r0 % g.kw;
  for (int64_t r = r0; r < r1; ++r) {
    X* xc = x + c * g.H * g.W;
    T* row = col + (r - r0) * ld;
    for (int64_t q = 0, oy = oy_first, ox0 = ox_first; q < np; q += g.Wo - ox0, ++oy, ox0 = 0) {
      const int64_t n = std::min(g.Wo - ox0, np - q);
      const int64_t iy = oy * g.sh - g.pt + i * g.dh;
      T* out = row + q;
      if (iy < 0 || iy >= g.H) {
        if (!Accumulate) std::fill(out, out + n, T(0));
        continue;
      }
      X* xr = xc + iy * g.W;
      const int64_t ix0 = ox0 * g.sw - g.pl + j * g.dw;
      int64_t lo, hi;
      if (g.sw == 1) {
        lo = std::clamp<int64_t>(-ix0, 0, n);
        hi = std::clamp<int64_t>(g.W - ix0, lo, n);
      } else {
        valid_range(ix0, g.sw, g.W, n, lo, hi);
      }
      if (!Accumulate) {
        std::fill(out, out + lo, T(0));
        std::fill(out + hi, out + n, T(0));
      }
      if (g.sw == 1) {
        for (int64_t t = lo; t < hi; ++t) {
          if constexpr (Accumulate)
            xr[ix0 + t] += out[t];
          else
            out[t] = xr[ix0 + t];
        }
      } else if (!Accumulate && g.sw == 2) {
        if (hi > lo) gather_stride2(xr + ix0 + 2 * lo, hi - lo, out + lo);
      } else {
        for (int64_t t = lo; t < hi; ++t) {
          if constexpr (Accumulate)
            xr[ix0 + t * g.sw] += out[t];
          else
            out[t] = xr[ix0 + t * g.sw];
        }
      }
    }
    if (++j == g.kw) {
      j = 0;
      if (++i == g.kh) i = 0, ++c;
    }
  }
}

template <class T>
bool pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pb == 0 && g.pl == 0 && g.pr == 0;
}

// A 1x1 convolution with stride s and no padding is a pointwise one on x[:, ::s, ::s] (ResNet's
// downsampling convs). Copies between the strided pixels of a C x H x W image and a C x (Ho*Wo) matrix.
bool strided_pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.pt == 0 && g.pb == 0 && g.pl == 0 && g.pr == 0 && g.dh == 1 && g.dw == 1;
}
template <bool Gather>
void strided_copy(const ConvGeom& g, int64_t C, const float* src, float* dst) {
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; ++c)
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const int64_t image = (c * g.H + oy * g.sh) * g.W + ox * g.sw, packed = (c * g.Ho + oy) * g.Wo + ox;
        if constexpr (Gather)
          dst[packed] = src[image];
        else
          dst[image] = src[packed];
      }
}

// Applies the epilogue to columns [p0, p0 + np) of every row o of y (Og x P).
template <class T>
void finish_rows(const Epilogue<T>& e, int64_t Og, int64_t P, int64_t p0, int64_t np, T* y) {
  if (!e.bias && e.only_bias()) return;
  for (int64_t o = 0; o < Og; ++o) apply_epilogue(e, o, y + o * P + p0, np);
}

// One image and one group through Eigen (float64, and builds without AVX-512F).
template <class T>
void gemm_unrolled_eigen(const ConvGeom& g, int64_t Cg, int64_t Og, const T* x, const T* w, const Epilogue<T>& e,
                         T* y) {
  const int64_t K = Cg * g.kh * g.kw, P = g.Ho * g.Wo;
  MapC<T> W(w, Og, K, Eigen::OuterStride<>(K));
  if (pointwise<T>(g)) {
    MapM<T>(y, Og, P, Eigen::OuterStride<>(P)).noalias() = W * MapC<T>(x, K, P, Eigen::OuterStride<>(P));
    finish_rows(e, Og, P, 0, P, y);
    return;
  }
  const int64_t chunk = per_thread_chunk(P);
  if (chunk == 0) {
    const Scratch<T> col(static_cast<size_t>(K * P));
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < K; ++r) unroll<false>(x, g, r, r + 1, 0, P, col.data() + r * P, P);
    MapM<T>(y, Og, P, Eigen::OuterStride<>(P)).noalias() = W * MapC<T>(col.data(), K, P, Eigen::OuterStride<>(P));
    finish_rows(e, Og, P, 0, P, y);
    return;
  }
  const int64_t nchunks = (P + chunk - 1) / chunk;
#pragma omp parallel
  {
    const Scratch<T> col(static_cast<size_t>(K * chunk));
#pragma omp for schedule(static, 1)
    for (int64_t ci = 0; ci < nchunks; ++ci) {
      const int64_t p0 = ci * chunk, np = std::min(chunk, P - p0);
      unroll<false>(x, g, 0, K, p0, np, col.data(), np);
      MapM<T>(y + p0, Og, np, Eigen::OuterStride<>(P)).noalias() =
          W * MapC<T>(col.data(), K, np, Eigen::OuterStride<>(np));
      finish_rows(e, Og, P, p0, np, y);
    }
  }
}

// Small planes waste lanes when every image is its own set of strips: a 7x7 plane is one strip of
// 49 columns, 77% used. Merged, the N images' columns sit side by side in one M x N*P product, which
// is then copied into the images. Worth it below 90% use (ResNet's 7x7 layers: 15-20% faster).
bool merge_images(int64_t N, int64_t P) {
  const int64_t lanes = P / kStrip * kStrip + (P % kStrip + 15) / 16 * 16;
  return N > 1 && 10 * P < 9 * lanes;
}

// y_n (M x P, at y + n * ys_n) = e(A * B_n) for the N images, A (M x K) with row and column strides
// lda and csa; cols(n, k0, k1, p0, np, dst) writes rows [k0, k1) and columns [p0, p0 + np) of B_n
// into dst, row stride kStrip.
template <class Cols>
void sgemm_merged(int64_t M, int64_t P, int64_t K, const float* A, int64_t lda, int64_t csa, const Epilogue<float>& e,
                  int64_t N, float* y, int64_t ys_n, Cols&& cols) {
  const int64_t NP = N * P;
  const Scratch<float> c(static_cast<size_t>(M * NP));
  sgemm_strips(
      M, NP, K, A, lda, e, c.data(), NP,
      [&](int64_t, int64_t k0, int64_t k1, int64_t q0, int64_t nq, float* buf) {
        for (int64_t q = q0; q < q0 + nq;) {  // a strip may span images
          const int64_t n = q / P, p0 = q % P, np = std::min(P - p0, q0 + nq - q);
          cols(n, k0, k1, p0, np, buf + (q - q0));
          q += np;
        }
      },
      {}, csa);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) std::copy_n(c.data() + m * NP + n * P, P, y + n * ys_n + m * P);
}

// Rows [k0, k1) and columns [p0, p0 + np) of B (row stride ldb) into dst (row stride kStrip).
inline void copy_rows(const float* B, int64_t ldb, int64_t k0, int64_t k1, int64_t p0, int64_t np, float* dst) {
  for (int64_t k = k0; k < k1; ++k) std::copy_n(B + k * ldb + p0, np, dst + (k - k0) * kStrip);
}

// y (Og x P) = epilogue(w (Og x K) * col(x) (K x P)) for one group of every image; image n reads
// x + n C H W and writes y + n O P. The float path runs all images as one batch of tasks.
template <class T>
void gemm_unrolled(const ConvGeom& g, int64_t Cg, int64_t Og, const T* x, const T* w, const Epilogue<T>& e, T* y) {
  const int64_t K = Cg * g.kh * g.kw, P = g.Ho * g.Wo, xs_n = g.C * g.H * g.W, ys_n = g.O * P;
  if constexpr (std::is_same_v<T, float>) {
    if (sgemm_strips_available()) {
      const bool merge = merge_images(g.N, P);
      // pointwise: B is x itself, read in place unless the images are merged
      auto pointwise_gemm = [&](const float* b, int64_t bs_n) {
        if (!merge) return sgemm(Og, P, K, w, K, b, P, e, y, P, 1, Batch{g.N, bs_n, ys_n});
        sgemm_merged(Og, P, K, w, K, 1, e, g.N, y, ys_n,
                     [&](int64_t n, int64_t k0, int64_t k1, int64_t p0, int64_t np, float* dst) {
                       copy_rows(b + n * bs_n, P, k0, k1, p0, np, dst);
                     });
      };
      if (pointwise<T>(g)) return pointwise_gemm(x, xs_n);
      if (strided_pointwise(g)) {
        const Scratch<float> xs(static_cast<size_t>(g.N * K * P));
        for (int64_t n = 0; n < g.N; ++n) strided_copy<true>(g, K, x + n * xs_n, xs.data() + n * K * P);
        return pointwise_gemm(xs.data(), K * P);
      }
      if (merge)
        return sgemm_merged(Og, P, K, w, K, 1, e, g.N, y, ys_n,
                            [&](int64_t n, int64_t k0, int64_t k1, int64_t p0, int64_t np, float* dst) {
                              unroll<false>(x + n * xs_n, g, k0, k1, p0, np, dst, kStrip);
                            });
      sgemm_strips(
          Og, P, K, w, K, e, y, P,
          [&](int64_t n, int64_t k0, int64_t k1, int64_t p0, int64_t np, float* buf) {
            unroll<false>(x + n * xs_n, g, k0, k1, p0, np, buf, kStrip);
          },
          Batch{g.N, 0, ys_n});
      return;
    }
  }
  for (int64_t n = 0; n < g.N; ++n) gemm_unrolled_eigen(g, Cg, Og, x + n * xs_n, w, e, y + n * ys_n);
}

}  // namespace

// The strip GEMM adds a residual as it stores a pointwise conv's images in place (ResNet's block
// ends); elsewhere conv2d_forward adds it in a pass of its own.
bool residual_in_gemm(const ConvGeom& g) {
  return sgemm_strips_available() && g.groups == 1 && pointwise<float>(g) && !merge_images(g.N, g.Ho * g.Wo);
}

// y = act(y + residual), element by element over n values (the activations as apply_epilogue's).
template <class T>
void add_residual(const Epilogue<T>& e, int64_t n, T* y) {
  const Epilogue<T> act(nullptr, nullptr, e.act);
#pragma omp parallel for schedule(static)
  for (int64_t i0 = 0; i0 < n; i0 += 4096) {
    const int64_t m = std::min<int64_t>(4096, n - i0);
#pragma omp simd
    for (int64_t i = i0; i < i0 + m; ++i) y[i] += e.residual[i];
    apply_epilogue(act, 0, y + i0, m);
  }
}

template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const Epilogue<T>& e, T* y) {
  if (e.residual && !(std::is_same_v<T, float> && residual_in_gemm(g))) {
    conv2d_forward(g, x, w, Epilogue<T>(e.bias, e.scale), y);
    return add_residual(e, g.N * g.O * g.Ho * g.Wo, y);
  }
  if (g.depthwise()) return depthwise_forward(g, x, w, e, y);
  if constexpr (std::is_same_v<T, float>) {
    if (winograd_applicable(g)) return winograd_forward(g, x, w, e, y);
  }
  const int64_t Cg = g.C / g.groups, Og = g.O / g.groups, K = Cg * g.kh * g.kw;
  for (int64_t gr = 0; gr < g.groups; ++gr)
    gemm_unrolled(g, Cg, Og, x + gr * Cg * g.H * g.W, w + gr * Og * K, e.from(gr * Og), y + gr * Og * g.Ho * g.Wo);
}

// col (K x np) = w^T dy for w (Og x K) and dy (Og x np, row stride ldb); w^T is read in place.
template <class T>
void transposed_product(int64_t Og, int64_t K, int64_t np, const T* w, const T* dy, int64_t ldb, T* col) {
  if constexpr (std::is_same_v<T, float>) {
    if (sgemm_strips_available() && np <= kStrip) {
      // Few columns (a 7x7 plane): col^T = dy^T w, then transposed. w is then the right-hand side,
      // its rows read in runs of 64 floats and each run used by every row tile of dy^T; as w^T on
      // the left it was read 6 floats at a time, K floats apart. ResNet50's input gradients at
      // batch 1: its 7x7 3x3 layers 1.55 -> 1.36 ms, 1x1 2048 -> 512 0.60 -> 0.49 ms, 1x1/2 to 7x7
      // 1.30 -> 1.02 ms. Up to 256 columns (14x14 planes) it gains nothing.
      const Scratch<float> colT(static_cast<size_t>(np * K));
      sgemm(np, K, Og, dy, 1, w, K, {}, colT.data(), K, ldb);
      std::vector<const float*> rows(static_cast<size_t>(np));
      for (int64_t i = 0; i < np; ++i) rows[size_t(i)] = colT.data() + i * K;
      return transpose_rows(np, K, rows.data(), col, np);
    }
    if (sgemm_strips_available()) return sgemm(K, np, Og, w, 1, dy, ldb, {}, col, np, K);
  }
  MapM<T>(col, K, np, Eigen::OuterStride<>(np)).noalias() =
      MapC<T>(w, Og, K, Eigen::OuterStride<>(K)).transpose() * MapC<T>(dy, Og, np, Eigen::OuterStride<>(ldb));
}

template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  if (g.depthwise()) return depthwise_backward_data(g, dy, w, dx);
  const int64_t Cg = g.C / g.groups, Og = g.O / g.groups, khw = g.kh * g.kw, K = Cg * khw;
  const int64_t P = g.Ho * g.Wo, HW = g.H * g.W;
  const int64_t fh = g.dh * (g.kh - 1), fw = g.dw * (g.kw - 1);
  // The transposed convolution pays for re-arranging w once per call, which only large planes
  // amortise, and runs a GEMM with C rows, which is poor for the few channels of an RGB image.
  // With the strip GEMM (float) every plane size gains; Eigen's chunked path only repays large ones.
  const bool fast_forward = std::is_same_v<T, float> && sgemm_strips_available();
  if constexpr (std::is_same_v<T, float>) {
    if (fast_forward && strided_pointwise(g)) {  // dx = w^T dy, w^T read in place
      const bool strided = !pointwise<T>(g);
      const Scratch<float> dxs(strided ? static_cast<size_t>(g.N * Cg * P) : 0);
      if (strided) std::fill(dx, dx + g.N * g.C * HW, 0.0f);
      for (int64_t gr = 0; gr < g.groups; ++gr) {  // all images as one batch
        float* dxg = dx + gr * Cg * HW;
        const float *wg = w + gr * Og * Cg, *dyg = dy + gr * Og * P;
        float* out = strided ? dxs.data() : dxg;
        const int64_t out_n = strided ? Cg * P : g.C * HW;
        if (g.N == 1 && P <= kStrip)
          transposed_product(Og, Cg, P, wg, dyg, P, out);
        else if (merge_images(g.N, P))
          sgemm_merged(Cg, P, Og, wg, 1, Cg, {}, g.N, out, out_n,
                       [&](int64_t n, int64_t k0, int64_t k1, int64_t p0, int64_t np, float* dst) {
                         copy_rows(dyg + n * g.O * P, P, k0, k1, p0, np, dst);
                       });
        else
          sgemm(Cg, P, Og, wg, 1, dyg, P, nullptr, out, P, Cg, Batch{g.N, g.O * P, out_n});
        if (strided)
          for (int64_t n = 0; n < g.N; ++n) strided_copy<false>(g, Cg, dxs.data() + n * Cg * P, dxg + n * g.C * HW);
      }
      return;
    }
  }
  // dx = conv(dy, w'),  w'[c, o, i, j] = w[o, c, kh-1-i, kw-1-j]  (per group), full padding.
  if (g.sh == 1 && g.sw == 1 && g.pt <= fh && g.pb <= fh && g.pl <= fw && g.pr <= fw && Cg >= 16) {
    ConvGeom t = g;
    t.C = g.O;
    t.H = g.Ho;
    t.W = g.Wo;
    t.O = g.C;
    t.pt = fh - g.pt;
    t.pb = fh - g.pb;
    t.pl = fw - g.pl;
    t.pr = fw - g.pr;
    t.finish();
    if constexpr (std::is_same_v<T, float>) {  // Winograd reads w in place, turned and transposed
      if (winograd_applicable(t)) return winograd_forward(t, dy, w, {}, dx, true);
    }
    // Below kMinTransposedColumns output columns (a batch's 7x7, 8x8 and 14x14 planes) the col2im
    // path below is faster: its GEMM has K = C*kh*kw rows to share out, where the transposed
    // convolution has one strip of columns and re-arranges w on every call. InceptionV3's input
    // gradients at batch 1: 84 -> 76 ms (its 1x3/3x1 layers on 8x8: 3.5 -> 1.3 ms).
    if (g.N * P >= kMinTransposedColumns && (fast_forward || per_thread_chunk(HW) > 0)) {
      // w' written in its order (one contiguous filter at a time), in parallel: 2.4M values for a
      // 512x512 3x3 layer, which a scattered single-threaded copy would take milliseconds over.
      const Scratch<T> wt(static_cast<size_t>(g.O * K));
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t gr = 0; gr < g.groups; ++gr)
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t o = 0; o < Og; ++o) {
            const T* src = w + ((gr * Og + o) * Cg + c) * khw;
            T* dst = wt.data() + ((gr * Cg + c) * Og + o) * khw;
            for (int64_t i = 0; i < khw; ++i) dst[khw - 1 - i] = src[i];
          }
      return conv2d_forward(t, dy, wt.data(), Epilogue<T>(), dx);
    }
  }
  // General (strided) case: dcol = w^T dy, then scatter-add the patches back (col2im).
  std::fill(dx, dx + g.N * g.C * HW, T(0));
  const int64_t chunk = std::max<int64_t>(1, std::min(P, kBlockBytes / int64_t(sizeof(T)) / K));
  const Scratch<T> col(static_cast<size_t>(K * chunk));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gr = 0; gr < g.groups; ++gr) {
      const T* dyg = dy + (n * g.O + gr * Og) * P;
      T* dxg = dx + (n * g.C + gr * Cg) * HW;
      for (int64_t p0 = 0; p0 < P; p0 += chunk) {
        const int64_t np = std::min(chunk, P - p0);
        transposed_product(Og, K, np, w + gr * Og * K, dyg + p0, P, col.data());
        // Rows of one channel only touch that channel of dx, so channels scatter in parallel.
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < Cg; ++c) unroll<true>(dxg + c * HW, g, 0, khw, p0, np, col.data() + c * khw * np, np);
      }
    }
}

template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  if (g.depthwise()) return depthwise_backward_weight(g, x, dy, dw);
  const int64_t Cg = g.C / g.groups, Og = g.O / g.groups, K = Cg * g.kh * g.kw;
  const int64_t P = g.Ho * g.Wo, HW = g.H * g.W;
  std::fill(dw, dw + g.O * K, T(0));
  const int64_t chunk = std::max<int64_t>(1, std::min(P, kBlockBytes / int64_t(sizeof(T)) / K));
  const int64_t nchunks = (P + chunk - 1) / chunk;
  for (int64_t gr = 0; gr < g.groups; ++gr) {
    MapM<T> dW(dw + gr * Og * K, Og, K, Eigen::OuterStride<>(K));
    // Each thread sums a fixed, contiguous share of the (image, chunk) pairs into a private dW; the
    // partial sums are then added in thread order. Float addition is not associative, so this fixed
    // order is what makes training bit-reproducible for a given thread count.
    std::vector<RowMat<T>> parts(static_cast<size_t>(omp_get_max_threads()));
#pragma omp parallel
    {
      RowMat<T>& part = parts[size_t(omp_get_thread_num())];
      part = RowMat<T>::Zero(Og, K);
      const Scratch<T> col(static_cast<size_t>(K * chunk));
#pragma omp for schedule(static) collapse(2)
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t ci = 0; ci < nchunks; ++ci) {
          const int64_t p0 = ci * chunk, np = std::min(chunk, P - p0);
          unroll<false>(x + (n * g.C + gr * Cg) * HW, g, 0, K, p0, np, col.data(), np);
          part.noalias() += MapC<T>(dy + (n * g.O + gr * Og) * P + p0, Og, np, Eigen::OuterStride<>(P)) *
                            MapC<T>(col.data(), K, np, Eigen::OuterStride<>(np)).transpose();
        }
    }
    for (const auto& part : parts)
      if (part.size()) dW += part;
  }
}

template <class T>
void epilogue_backward(const Epilogue<T>& e, int64_t N, int64_t O, int64_t P, const T* dy, const T* y, T* dz) {
  const T hi = e.act == Act::relu6 ? T(6) : std::numeric_limits<T>::infinity();
  const bool gated = e.act != Act::none;
#pragma omp parallel for schedule(static)
  for (int64_t no = 0; no < N * O; ++no) {
    const T s = e.scale ? e.scale[no % O] : T(1);
    const T *d = dy + no * P, *v = y + no * P;
    T* z = dz + no * P;
#pragma omp simd
    for (int64_t t = 0; t < P; ++t) z[t] = !gated || (v[t] > T(0) && v[t] < hi) ? s * d[t] : T(0);
  }
}

#define GT_INSTANTIATE(T)                                                                                    \
  template void conv2d_forward<T>(const ConvGeom&, const T*, const T*, const Epilogue<T>&, T*);              \
  template void epilogue_backward<T>(const Epilogue<T>&, int64_t, int64_t, int64_t, const T*, const T*, T*); \
  template void conv2d_backward_data<T>(const ConvGeom&, const T*, const T*, T*);                            \
  template void conv2d_backward_weight<T>(const ConvGeom&, const T*, const T*, T*);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cpu
