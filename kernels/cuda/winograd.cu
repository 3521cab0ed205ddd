// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks"), the GPU's version of kernels/cpu/winograd.cpp. Each 2x2 output tile Y comes from a 4x4
// input tile d and the 3x3 filter f of every (o, c) pair:
//   Y = A^T [ sum_c (G f G^T) . (B^T d B) ] A          (. = element-wise over the 16 positions xi)
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// With U = G f G^T (per o, c) and V = B^T d B (per c, tile), each position xi is a plain GEMM
//   M[xi](o, t) = sum_c U[xi](o, c) V[xi](c, t),
// 16 C multiply-adds per output channel and tile instead of 36 C: 2.25x fewer. Four kernels: the
// filter transform (once), then per chunk of tiles that fits the workspace, the input transform,
// the 16 GEMMs as one batch on the tiled engine (kernels/cuda/tiled_gemm.cuh), and the output
// transform with the epilogue.
//
// The data gradient of a stride-1 3x3 convolution is the same kind of convolution of dy, with each
// filter turned by 180 degrees, input and output channels swapped, and padding 2 - p on each side.
#include <algorithm>

#include "kernels/cuda/epilogue.cuh"
#include "kernels/cuda/tiled_gemm.cuh"
#include "kernels/cuda/winograd.h"

namespace gt::cuda {
namespace {

constexpr int kXi = 16;
constexpr int64_t kMinTiles = 128;
size_t chunk_cap = 0;  // set_winograd_chunk_bytes; set once, before any convolution runs

// Where each array of a chunk lies in the workspace: U (16 x O x C), V (16 x C x tiles),
// M (16 x O x tiles).
struct Layout {
  int64_t tiles;  // per chunk
  static int64_t filters(const ConvGeom& g) { return kXi * g.O * g.C; }
  static int64_t per_tile(const ConvGeom& g) { return kXi * (g.C + g.O); }
  static int64_t elements(size_t bytes, size_t elem) { return std::min<int64_t>(int64_t(bytes / elem), INT32_MAX); }
  Layout(const ConvGeom& g, size_t bytes, size_t elem) {
    const int64_t total = g.N * ((g.Ho + 1) / 2) * ((g.Wo + 1) / 2);
    int64_t fit = (elements(bytes, elem) - filters(g)) / per_tile(g);
    if (chunk_cap > 0) fit = std::min(fit, std::max(kMinTiles, elements(chunk_cap, elem) / per_tile(g)));
    tiles = std::min(total, fit);
  }
};

// U[xi][o][c] = (G f G^T)[xi] for f = w[o, c], or with `turned`, f = w[c, o] turned by 180 degrees
// (w then is C x O x 3 x 3: the forward filters of the convolution whose data gradient this is).
template <class T>
cudaError_t transform_filters(int64_t O, int64_t C, const T* w, bool turned, T* U, cudaStream_t s) {
  return for_each(O * C, s, [=] __device__(int64_t idx) {
    const int64_t o = idx / C, c = idx % C;
    const T* f = turned ? w + (c * O + o) * 9 : w + idx * 9;
    T t[4][3];  // G f: the rows of G applied to the columns of f
    for (int j = 0; j < 3; ++j) {
      const T a = turned ? f[8 - j] : f[j], b = turned ? f[5 - j] : f[3 + j], c2 = turned ? f[2 - j] : f[6 + j];
      t[0][j] = a, t[1][j] = T(0.5) * (a + b + c2), t[2][j] = T(0.5) * (a - b + c2), t[3][j] = c2;
    }
    for (int i = 0; i < 4; ++i) {  // (G f) G^T
      const T a = t[i][0], b = t[i][1], c2 = t[i][2];
      const T u[4] = {a, T(0.5) * (a + b + c2), T(0.5) * (a - b + c2), c2};
      for (int j = 0; j < 4; ++j) U[(i * 4 + j) * O * C + idx] = u[j];
    }
  });
}

// The tiles of the output: tile t is (image, row ty, column tx) of 2x2 outputs, t0 the chunk's first.
struct Tiles {
  int64_t t0, count;  // this chunk
  int rows, cols;     // per image
  __device__ void where(int64_t t, int& img, int& ty, int& tx) const {
    const int per = rows * cols, r = int(t % per);
    img = int(t / per), ty = r / cols, tx = r % cols;
  }
};

// V[xi][c][t - t0] = (B^T d B)[xi], d the 4x4 input patch of tile t (zero outside the image).
template <class T>
cudaError_t transform_input(const ConvGeom& cg, const Tiles tl, const T* x, T* V, cudaStream_t s) {
  const int C = int(cg.C), H = int(cg.H), W = int(cg.W), pt = int(cg.pt), pl = int(cg.pl);
  return for_each(C * tl.count, s, [=] __device__(int64_t idx) {
    const int c = int(idx / tl.count);
    const int64_t k = idx % tl.count;
    int img, ty, tx;
    tl.where(tl.t0 + k, img, ty, tx);
    const T* xc = x + (int64_t(img) * C + c) * H * W;
    const int h0 = 2 * ty - pt, w0 = 2 * tx - pl;
    T d[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const int h = h0 + i, w = w0 + j;
        d[i][j] = unsigned(h) < unsigned(H) && unsigned(w) < unsigned(W) ? xc[h * W + w] : T(0);
      }
    T b[4][4];  // B^T d
    for (int j = 0; j < 4; ++j) {
      b[0][j] = d[0][j] - d[2][j], b[1][j] = d[1][j] + d[2][j];
      b[2][j] = d[2][j] - d[1][j], b[3][j] = d[1][j] - d[3][j];
    }
    T* v = V + int64_t(c) * tl.count + k;
    const int64_t plane = int64_t(C) * tl.count;
    for (int i = 0; i < 4; ++i) {  // (B^T d) B
      v[(i * 4 + 0) * plane] = b[i][0] - b[i][2], v[(i * 4 + 1) * plane] = b[i][1] + b[i][2];
      v[(i * 4 + 2) * plane] = b[i][2] - b[i][1], v[(i * 4 + 3) * plane] = b[i][1] - b[i][3];
    }
  });
}

// y's 2x2 tile t = e(A^T m A), m the 16 values M[xi][o][t - t0]; outputs past the edge are dropped.
template <class T>
cudaError_t transform_output(const ConvGeom& cg, const Tiles tl, const T* M, const Finish<T> finish, T* y,
                             cudaStream_t s) {
  const int O = int(cg.O), Ho = int(cg.Ho), Wo = int(cg.Wo);
  return for_each(O * tl.count, s, [=] __device__(int64_t idx) {
    const int o = int(idx / tl.count);
    const int64_t k = idx % tl.count, plane = int64_t(O) * tl.count;
    int img, ty, tx;
    tl.where(tl.t0 + k, img, ty, tx);
    const T* m = M + int64_t(o) * tl.count + k;
    T a[2][4];  // A^T m
    for (int j = 0; j < 4; ++j) {
      const T m0 = m[j * plane], m1 = m[(4 + j) * plane], m2 = m[(8 + j) * plane], m3 = m[(12 + j) * plane];
      a[0][j] = m0 + m1 + m2, a[1][j] = m1 - m2 - m3;
    }
    T* yo = y + (int64_t(img) * O + o) * Ho * Wo;
    for (int i = 0; i < 2; ++i) {  // (A^T m) A
      const int oh = 2 * ty + i;
      if (oh >= Ho) break;
      const T r[2] = {a[i][0] + a[i][1] + a[i][2], a[i][1] - a[i][2] - a[i][3]};
      for (int j = 0; j < 2; ++j)
        if (2 * tx + j < Wo) yo[oh * Wo + 2 * tx + j] = finish(o, r[j]);
    }
  });
}

// The convolution g of x with the filters of w (turned: as transform_filters), chunk by chunk.
template <class T>
cudaError_t convolve(const ConvGeom& g, const T* x, const T* w, bool turned, const Finish<T> finish, T* y, void* ws,
                     size_t ws_bytes, cudaStream_t s) {
  const Layout lay(g, ws_bytes, sizeof(T));
  T* U = static_cast<T*>(ws);
  T* V = U + Layout::filters(g);
  T* M = V + kXi * g.C * lay.tiles;
  T* rest = M + kXi * g.O * lay.tiles;  // what is left (few tiles: a small map at batch 1) is split-K's
  const size_t rest_bytes = ws_bytes - size_t(rest - U) * sizeof(T);
  if (cudaError_t e = transform_filters(g.O, g.C, w, turned, U, s); e != cudaSuccess) return e;
  Tiles tl{0, 0, int((g.Ho + 1) / 2), int((g.Wo + 1) / 2)};
  const int64_t total = g.N * tl.rows * tl.cols;
  for (tl.t0 = 0; tl.t0 < total; tl.t0 += lay.tiles) {
    tl.count = std::min(lay.tiles, total - tl.t0);
    if (cudaError_t e = transform_input(g, tl, x, V, s); e != cudaSuccess) return e;
    // M[xi] (O x tiles) = U[xi] (O x C) V[xi] (C x tiles), batch z = xi. The workspace holds under
    // 2^31 elements (Layout), so the product's int indices do not overflow.
    const RowMajorProduct<T> op{int(g.O), int(tl.count), int(g.C), U, V, M};
    if (cudaError_t e = tiled_gemm<T>(op, kXi, rest, rest_bytes, s); e != cudaSuccess) return e;
    if (cudaError_t e = transform_output(g, tl, M, finish, y, s); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

}  // namespace

void set_winograd_chunk_bytes(size_t bytes) { chunk_cap = bytes; }

bool winograd_applicable(const ConvGeom& g, bool backward, size_t workspace_bytes, size_t elem_bytes) {
  if (g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || g.groups != 1 || g.C < 16 ||
      g.O < 16)
    return false;
  if (backward && std::max({g.pt, g.pb, g.pl, g.pr}) > 2) return false;
  return Layout::elements(workspace_bytes, elem_bytes) >= Layout::filters(g) + kMinTiles * Layout::per_tile(g);
}

template <class T>
cudaError_t winograd_forward(const ConvGeom& g, const T* x, const T* w, const Epilogue<T>& e, T* y, void* ws,
                             size_t ws_bytes, cudaStream_t s) {
  return convolve(g, x, w, false, device_epilogue(e), y, ws, ws_bytes, s);
}

template <class T>
cudaError_t winograd_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx, void* ws, size_t ws_bytes,
                                   cudaStream_t s) {
  ConvGeom t = g;  // dx = conv(dy, w turned), from O channels of Ho x Wo to C channels of H x W
  t.C = g.O, t.O = g.C, t.H = g.Ho, t.W = g.Wo;
  t.pt = 2 - g.pt, t.pb = 2 - g.pb, t.pl = 2 - g.pl, t.pr = 2 - g.pr;
  t.finish();
  return convolve(t, dy, w, true, Finish<T>{nullptr, nullptr, Act::none}, dx, ws, ws_bytes, s);
}

#define GT_INSTANTIATE(T)                                                                                              \
  template cudaError_t winograd_forward<T>(const ConvGeom&, const T*, const T*, const Epilogue<T>&, T*, void*, size_t, \
                                           cudaStream_t);                                                              \
  template cudaError_t winograd_backward_data<T>(const ConvGeom&, const T*, const T*, T*, void*, size_t, cudaStream_t);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cuda
