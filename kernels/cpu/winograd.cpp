// Winograd convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks"):
// F(2x2, 3x3), F(4x4, 3x3) and F(2x2, 5x5), and F(2, 7) and F(2, 3) along one axis for 1x7, 7x1,
// 1x3 and 3x1 kernels.
//
// Each my x mx output tile Y comes from an ay x ax input tile d (a = m + r - 1 along an axis whose
// kernel has r taps) and the filter g of every (o, c) pair:
//   Y = A_y^T [ sum_c (G_y g G_x^T) . (B_y^T d B_x) ] A_x      (. = element-wise over the ay x ax)
// With U = G_y g G_x^T (per o, c) and V = B_y^T d B_x (per c, tile), each position xi is a GEMM
//   M[xi][o, t] = sum_c U[xi][o, c] V[xi][c, t],
// so an output tile costs ay ax C multiply-adds per output channel instead of r_y r_x my mx C:
// 2.25x fewer for F(2x2, 3x3), 4x for F(4x4, 3x3), 2.8x for F(2x2, 5x5), 1.75x for F(2, 7) and
// 1.5x for F(2, 3). The 1D transforms are the structs F2, F4, F25 and F27 below (Id along an axis
// of one tap); a 2D one applies them along the rows of the tile and then down its columns.
//
// Work unit: a chunk of up to kStrip tiles (numbered image by image, row-major in each; a chunk may
// span images) and a group of output channels.
// The chunk's V (ay ax x C x 64 floats) is built in a per-thread buffer (shared by the threads when
// there is one chunk in all) already in the strip layout the GEMM micro-kernel reads, the GEMMs
// write M (ay ax x O x 64), and the output transform writes y.
#include "kernels/cpu/winograd.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/sgemm.h"

namespace gt::cpu {
namespace {

constexpr int64_t kLanes = 16;  // one vector of floats: the transforms work on whole vectors of tiles

// The 1D transforms of F(m, r), each on kLanes independent lanes: input v = B^T d (a values),
// filter u = G g (r -> a), output y = A^T p (a -> m). Value k of the input is the vector at
// in + k * si, value i of the result goes to out + i * so. The 2D transforms apply them along rows
// and then down columns.
//
// F(2, 3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
// A^T = [1 1 1 0; 0 1 -1 -1]. Coefficients 0, +-1 and +-1/2: no rounding beyond a few additions.
struct F2 {
  static constexpr int m = 2, a = 4, r = 3;
  static void input(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float d0 = in[l], d1 = in[si + l], d2 = in[2 * si + l], d3 = in[3 * si + l];
      out[l] = d0 - d2;
      out[so + l] = d1 + d2;
      out[2 * so + l] = d2 - d1;
      out[3 * so + l] = d1 - d3;
    }
  }
  static void filter(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float g0 = in[l], g1 = in[si + l], g2 = in[2 * si + l];
      out[l] = g0;
      out[so + l] = 0.5f * (g0 + g1 + g2);
      out[2 * so + l] = 0.5f * (g0 - g1 + g2);
      out[3 * so + l] = g2;
    }
  }
  static void output(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float p1 = in[si + l], p2 = in[2 * si + l];
      out[l] = in[l] + p1 + p2;
      out[so + l] = p1 - p2 - in[3 * si + l];
    }
  }
};

// F(4, 3), interpolation points 0, +-1, +-2 and infinity:
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Coefficients up to 8 and 1/24: the rounding error is about ten times F(2x2)'s (3e-6 of the
// output's scale against 2e-7 in tests/autodiff/test_conv_paths.cpp).
struct F4 {
  static constexpr int m = 4, a = 6, r = 3;
  static void input(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float d0 = in[l], d1 = in[si + l], d2 = in[2 * si + l], d3 = in[3 * si + l];
      const float d4 = in[4 * si + l], d5 = in[5 * si + l];
      out[l] = 4.0f * d0 - 5.0f * d2 + d4;
      out[so + l] = d3 + d4 - 4.0f * (d1 + d2);
      out[2 * so + l] = d4 - d3 + 4.0f * (d1 - d2);
      out[3 * so + l] = d4 - d2 + 2.0f * (d3 - d1);
      out[4 * so + l] = d4 - d2 + 2.0f * (d1 - d3);
      out[5 * so + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
  }
  static void filter(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float g0 = in[l], g1 = in[si + l], g2 = in[2 * si + l];
      out[l] = 0.25f * g0;
      out[so + l] = (-1.0f / 6) * (g0 + g1 + g2);
      out[2 * so + l] = (-1.0f / 6) * (g0 - g1 + g2);
      out[3 * so + l] = (1.0f / 24) * g0 + (1.0f / 12) * g1 + (1.0f / 6) * g2;
      out[4 * so + l] = (1.0f / 24) * g0 - (1.0f / 12) * g1 + (1.0f / 6) * g2;
      out[5 * so + l] = g2;
    }
  }
  static void output(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float p1 = in[si + l], p2 = in[2 * si + l], p3 = in[3 * si + l], p4 = in[4 * si + l];
      const float s12 = p1 + p2, d12 = p1 - p2, s34 = p3 + p4, d34 = p3 - p4;
      out[l] = in[l] + s12 + s34;
      out[so + l] = d12 + 2.0f * d34;
      out[2 * so + l] = s12 + 4.0f * s34;
      out[3 * so + l] = d12 + 8.0f * d34 + in[5 * si + l];
    }
  }
};

// F(2, 5) on F(4, 3)'s points and input transform B^T (it depends on the points only), with G's
// rows scaled as F(4, 3)'s: row i is s_i (1, x_i, ..., x_i^4) for x_i = 0, 1, -1, 2, -2 and
// s = 1/4, -1/6, -1/6, 1/24, 1/24; the last row is (0 0 0 0 1). A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 1].
// 2D (InceptionV3's 5x5 layers): 36 multiplications for 2x2 outputs instead of 100. Float32 error
// about 2e-6 of the output's scale (numpy, 48-channel sums).
struct F25 {
  static constexpr int m = 2, a = 6, r = 5;
  static void input(const float* in, int64_t si, float* out, int64_t so) { F4::input(in, si, out, so); }
  static void filter(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float g0 = in[l], g1 = in[si + l], g2 = in[2 * si + l], g3 = in[3 * si + l], g4 = in[4 * si + l];
      const float e1 = g0 + g2 + g4, o1 = g1 + g3, e2 = g0 + 4.0f * g2 + 16.0f * g4, o2 = 2.0f * g1 + 8.0f * g3;
      out[l] = 0.25f * g0;
      out[so + l] = (-1.0f / 6) * (e1 + o1);
      out[2 * so + l] = (-1.0f / 6) * (e1 - o1);
      out[3 * so + l] = (1.0f / 24) * (e2 + o2);
      out[4 * so + l] = (1.0f / 24) * (e2 - o2);
      out[5 * so + l] = g4;
    }
  }
  static void output(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float p1 = in[si + l], p2 = in[2 * si + l], p3 = in[3 * si + l], p4 = in[4 * si + l];
      out[l] = in[l] + p1 + p2 + p3 + p4;
      out[so + l] = p1 - p2 + 2.0f * (p3 - p4) + in[5 * si + l];
    }
  }
};

// F(2, 7), points 0, +-1, +-2, +-1/2 and infinity (InceptionV3's 1x7 and 7x1 convolutions, along
// one axis: 8 multiplications for 2 outputs instead of 14):
//   B^T = [1 0 -21/4 0 21/4 0 -1 0; 0 -2/9 -2/9 17/18 17/18 -2/9 -2/9 0;
//          0 2/9 -2/9 -17/18 17/18 2/9 -2/9 0; 0 1/180 1/360 -1/36 -1/72 1/45 1/90 0;
//          0 -1/180 1/360 1/36 -1/72 -1/45 1/90 0; 0 64/45 128/45 -16/9 -32/9 16/45 32/45 0;
//          0 -64/45 128/45 16/9 -32/9 -16/45 32/45 0; 0 -1 0 21/4 0 -21/4 0 1]
//   G: row k evaluates the filter polynomial at point k, (g0, g1, ..., g6) . (1, x, ..., x^6), the
//      last row is g6;   A^T = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 1]
// The rows for +x and -x share the filter's (input's) even and odd parts. Float32 error: 7e-7 of
// the output's scale typically, 1e-5 at worst over 128-channel sums (numpy, Toom-Cook matrices).
struct F27 {
  static constexpr int m = 2, a = 8, r = 7;
  static void input(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      float d[8];
      for (int k = 0; k < 8; ++k) d[k] = in[k * si + l];
      out[l] = d[0] - d[6] + 5.25f * (d[4] - d[2]);
      out[7 * so + l] = d[7] - d[1] + 5.25f * (d[3] - d[5]);
      const float e1 = (17.0f / 18) * d[4] - (2.0f / 9) * (d[2] + d[6]);
      const float o1 = (17.0f / 18) * d[3] - (2.0f / 9) * (d[1] + d[5]);
      out[so + l] = e1 + o1;
      out[2 * so + l] = e1 - o1;
      const float e3 = (1.0f / 360) * d[2] - (1.0f / 72) * d[4] + (1.0f / 90) * d[6];
      const float o3 = (1.0f / 180) * d[1] - (1.0f / 36) * d[3] + (1.0f / 45) * d[5];
      out[3 * so + l] = e3 + o3;
      out[4 * so + l] = e3 - o3;
      const float e5 = (128.0f / 45) * d[2] - (32.0f / 9) * d[4] + (32.0f / 45) * d[6];
      const float o5 = (64.0f / 45) * d[1] - (16.0f / 9) * d[3] + (16.0f / 45) * d[5];
      out[5 * so + l] = e5 + o5;
      out[6 * so + l] = e5 - o5;
    }
  }
  static void filter(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      float g[7];
      for (int k = 0; k < 7; ++k) g[k] = in[k * si + l];
      out[l] = g[0];
      out[7 * so + l] = g[6];
      const float points[3] = {1.0f, 2.0f, 0.5f};
      for (int p = 0; p < 3; ++p) {  // rows 1 + 2p and 2 + 2p: the points +x and -x
        const float x = points[p], x2 = x * x;
        const float even = g[0] + x2 * (g[2] + x2 * (g[4] + x2 * g[6]));
        const float odd = x * (g[1] + x2 * (g[3] + x2 * g[5]));
        out[(1 + 2 * p) * so + l] = even + odd;
        out[(2 + 2 * p) * so + l] = even - odd;
      }
    }
  }
  static void output(const float* in, int64_t si, float* out, int64_t so) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      float p[8];
      for (int k = 0; k < 8; ++k) p[k] = in[k * si + l];
      out[l] = p[0] + p[1] + p[2] + p[3] + p[4] + p[5] + p[6];
      out[so + l] = p[1] - p[2] + 2.0f * (p[3] - p[4]) + 0.5f * (p[5] - p[6]) + p[7];
    }
  }
};

// The identity along an axis the kernel does not extend (1 tap): F(1, 1).
struct Id {
  static constexpr int m = 1, a = 1, r = 1;
  static void input(const float* in, int64_t, float* out, int64_t) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) out[l] = in[l];
  }
  static void filter(const float* in, int64_t si, float* out, int64_t so) { input(in, si, out, so); }
  static void output(const float* in, int64_t si, float* out, int64_t so) { input(in, si, out, so); }
};

constexpr int64_t kRowD = kStrip + kLanes;  // lanes of a gathered-tile row: kLanes to spill into

// The planes of U, V and M lie padded(size) floats apart, not a power of two: write streams whose
// addresses differ by a multiple of 4 KB share a few cache sets and evict one another.
int64_t padded(int64_t size) { return (size + kStrip - 1) / kStrip * kStrip + kLanes; }
int64_t whole_vectors(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// U[xi][r][k] = (G_y f G_x^T)[xi], f the ry x rx filter of row r and column k of the GEMM's A
// (rows x cols):
//   forward:  f = w[r, k]                           (w: rows x cols x ry x rx, a conv's O x C)
//   turned:   f = w[k, r] turned by 180 degrees     (w: cols x rows x ry x rx), the weights of a conv
//             whose data gradient this is: dx = conv(dy, w'), w'[c, o] = rot180 w[o, c]
// transform_block does a block of up to kB x kB filters (rows [r0, r0 + nr) and columns [k0, k0 + nk)
// of A): gathered tap by tap (runs of contiguous filters from up to kB rows of w, either way round),
// transformed a vector at a time, and written as runs of floats into each plane of U (or of a
// slab of U whose first row is row0), with streaming stores where asked and whole aligned vectors allow.
template <class Fy, class Fx>
void transform_block(int64_t rows, int64_t cols, const float* w, bool turned, int64_t r0, int64_t nr, int64_t k0,
                     int64_t nk, float* U, int64_t plane, int64_t row0, bool stream = false) {
  constexpr int64_t kB = 16, kN = kB * kB, kTaps = Fy::r * Fx::r, kXi = Fy::a * Fx::a;
  float f[kTaps][kN];  // f[tap][rr * kB + kk]
  if (nr < kB || nk < kB)
    for (auto& tap : f) std::fill(tap, tap + kN, 0.0f);
  for (int64_t rr = 0; rr < nr; ++rr)
    for (int64_t kk = 0; kk < nk; ++kk) {
      const int64_t r = r0 + rr, k = k0 + kk;
      const float* src = w + (turned ? k * rows + r : r * cols + k) * kTaps;
      for (int t = 0; t < kTaps; ++t) f[turned ? kTaps - 1 - t : t][rr * kB + kk] = src[t];
    }
  float u[kXi][kN];
  for (int64_t l0 = 0; l0 < kN; l0 += kLanes) {
    float gc[Fy::a * Fx::r][kLanes];  // G f: G down each column j of the filter, gc[i * rx + j]
    for (int j = 0; j < Fx::r; ++j) Fy::filter(f[j] + l0, Fx::r * kN, gc[j], Fx::r * kLanes);
    for (int i = 0; i < Fy::a; ++i) Fx::filter(gc[i * Fx::r], kLanes, u[i * Fx::a] + l0, kN);  // then (G f) G^T
  }
  for (int64_t xi = 0; xi < kXi; ++xi)
    for (int64_t rr = 0; rr < nr; ++rr) {
      const float* src = u[xi] + rr * kB;
      float* dst = U + xi * plane + (r0 - row0 + rr) * cols + k0;
#if defined(__AVX512F__)
      if (stream && nk == kB && (reinterpret_cast<uintptr_t>(dst) & 63) == 0) {
        _mm512_stream_ps(dst, _mm512_loadu_ps(src));
        continue;
      }
#endif
      if (nk == kB)  // a fixed length: vector moves, not a call to memmove
#pragma omp simd
        for (int64_t kk = 0; kk < kB; ++kk) dst[kk] = src[kk];
      else
        std::copy(src, src + nk, dst);
    }
}

// All of U, in parallel. Consecutive blocks step along the rows of the stored w: along k forward,
// along r turned.
template <class Fy, class Fx>
void transform_weights(int64_t rows, int64_t cols, const float* w, bool turned, float* U) {
  constexpr int64_t kB = 16;
  // A U larger than a core's L2 is written with streaming stores: each block writes 16 floats into
  // each of ay ax x 16 rows, and the writes waited on reading those lines first (ResNet50's 14x14
  // layers at batch 10: the transform 46% faster, the layer 10.3 -> 8.8 ms forward).
  const bool stream = Fy::a * Fx::a * rows * cols * int64_t(sizeof(float)) > (int64_t(1) << 20);
  const int64_t br = (rows + kB - 1) / kB, bk = (cols + kB - 1) / kB;
#pragma omp parallel
  {
#pragma omp for schedule(static) nowait
    for (int64_t b = 0; b < br * bk; ++b) {
      const int64_t r0 = (turned ? b % br : b / bk) * kB, k0 = (turned ? b / br : b % bk) * kB;
      transform_block<Fy, Fx>(rows, cols, w, turned, r0, std::min(kB, rows - r0), k0, std::min(kB, cols - k0), U,
                              padded(rows * cols), 0, stream);
    }
    store_fence();  // the streamed values are visible to every thread after the region's barrier
  }
}

// Rows [r0, r0 + n) of U into a slab of their own whose planes lie `plane` floats apart, by the
// calling thread.
template <class Fy, class Fx>
void transform_rows(int64_t rows, int64_t cols, const float* w, bool turned, int64_t r0, int64_t n, float* slab,
                    int64_t plane) {
  constexpr int64_t kB = 16;
  for (int64_t k0 = 0; k0 < cols; k0 += kB)
    for (int64_t r = r0; r < r0 + n; r += kB)
      transform_block<Fy, Fx>(rows, cols, w, turned, r, std::min(kB, r0 + n - r), k0, std::min(kB, cols - k0), slab,
                              plane, r0);
}

// A run of n tiles inside one tile row: image img, tile row ty, first tile column tx, lane q in the
// chunk. Tiles are numbered image by image (T a plane), so a chunk may span images: small planes in
// a batch fill its lanes.
struct Segment {
  int64_t img, ty, tx, n, q;
};

template <class Fn>
void for_segments(int64_t t0, int64_t nt, int64_t T, int64_t tw, Fn&& f) {
  for (int64_t q = 0; q < nt;) {
    const int64_t t = (t0 + q) % T, tx = t % tw, n = std::min(tw - tx, nt - q);
    f(Segment{(t0 + q) / T, t / tw, tx, n, q});
    q += n;
  }
}

// dst[j] = x[i0 + step j] for j < len, 0 outside the row [0, W) (x null: a padding row).
void strided_row(const float* x, int64_t W, int64_t i0, int64_t step, int64_t len, float* dst) {
  // j in [lo, hi) reads inside the row: lo = ceil(-i0 / step), hi = floor((W - 1 - i0) / step) + 1.
  const int64_t lo = !x ? len : i0 >= 0 ? 0 : std::min(len, (step - 1 - i0) / step);
  const int64_t hi = !x || W - 1 - i0 < 0 ? lo : std::clamp<int64_t>((W - 1 - i0) / step + 1, lo, len);
  for (int64_t j = 0; j < lo; ++j) dst[j] = 0.0f;
#pragma omp simd
  for (int64_t j = lo; j < hi; ++j) dst[j] = x[i0 + step * j];
  for (int64_t j = hi; j < len; ++j) dst[j] = 0.0f;
}

// The ay x ax input tiles of a chunk, lane by lane: d[r * a + k][q] = x(m ty - pt + r, m tx - pl + k)
// for its tile q at (ty, tx), from one input plane x. Each segment is copied in whole vectors,
// spilling up to kLanes - 1 lanes into the next segment (written after it) or into d's spare lanes.
template <class Fy, class Fx>
void gather_tiles(const ConvGeom& g, const float* x, int64_t t0, int64_t nt, int64_t T, int64_t tw, float (*d)[kRowD]) {
  for_segments(t0, nt, T, tw, [&](const Segment& s) {
    const float* plane = x + s.img * g.C * g.H * g.W;
    for (int r = 0; r < Fy::a; ++r) {
      const int64_t iy = Fy::m * s.ty - g.pt + r;
      const float* row = iy >= 0 && iy < g.H ? plane + iy * g.W : nullptr;
      for (int k = 0; k < Fx::a; ++k)
        strided_row(row, g.W, Fx::m * s.tx - g.pl + k, Fx::m, whole_vectors(s.n), d[r * Fx::a + k] + s.q);
    }
  });
}

// v[xi * plane + q] = (B^T d B)[xi] for the lanes q < n (whole vectors) of the gathered tiles d.
template <class Fy, class Fx>
void transform_input(const float (*d)[kRowD], int64_t n, float* v, int64_t plane) {
  constexpr int ay = Fy::a, ax = Fx::a;
  for (int64_t q0 = 0; q0 < n; q0 += kLanes) {
    float t[ay * ax][kLanes];  // d B: along each row r of the tile, t[r * ax + j]
    for (int r = 0; r < ay; ++r) Fx::input(d[r * ax] + q0, kRowD, t[r * ax], kLanes);
    for (int j = 0; j < ax; ++j) Fy::input(t[j], ax * kLanes, v + j * plane + q0, ax * plane);  // then B^T (d B)
  }
}

// y[o] for the chunk's tiles from p[xi * plane + q] (channel o's row of M): Y = e(A^T M A).
template <class Fy, class Fx>
void transform_output(const ConvGeom& g, const float* p, int64_t plane, int64_t o, const Epilogue<float>& e, int64_t t0,
                      int64_t nt, int64_t T, int64_t tw, float* y) {
  constexpr int my = Fy::m, mx = Fx::m, ax = Fx::a;
  float out[my][mx][kStrip];
  for (int64_t q0 = 0; q0 < nt; q0 += kLanes) {
    float t[Fy::a * mx][kLanes];  // M A: along each row i of the tile, t[i * mx + j]
    for (int i = 0; i < Fy::a; ++i) Fx::output(p + i * ax * plane + q0, plane, t[i * mx], kLanes);
    for (int j = 0; j < mx; ++j) Fy::output(t[j], mx * kLanes, out[0][j] + q0, mx * kStrip);  // then A^T (M A)
  }
  for (auto& row : out)
    for (float* col : row) apply_epilogue(e, o, col, nt);
  for_segments(t0, nt, T, tw, [&](const Segment& s) {
    const int64_t full = std::min(s.n, (g.Wo - mx * s.tx) / mx);  // tiles with all mx columns inside
    const int64_t rest = std::min<int64_t>(mx, g.Wo - mx * (s.tx + full));
    for (int i = 0; i < my; ++i) {
      const int64_t oy = my * s.ty + i;
      if (oy >= g.Ho) break;
      float* dst = y + ((s.img * g.O + o) * g.Ho + oy) * g.Wo + mx * s.tx;
      for (int64_t u = 0; u < full; ++u)
        for (int j = 0; j < mx; ++j) dst[mx * u + j] = out[i][j][s.q + u];
      if (full < s.n)  // the last tile sticks out of the plane: its first columns only
        for (int j = 0; j < rest; ++j) dst[mx * full + j] = out[i][j][s.q + full];
    }
  });
}

template <class Fy, class Fx>
void winograd(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y, bool turned) {
  constexpr int64_t kXi = Fy::a * Fx::a;
  // Scratch is left uninitialised: every value read is written first (lanes past a chunk's end are
  // read but masked out of the results, or computed and not stored).
  const int64_t th = (g.Ho + Fy::m - 1) / Fy::m, tw = (g.Wo + Fx::m - 1) / Fx::m, T = th * tw;
  const WorkSplit split = split_work(g.N * T, g.O, 1);
  // One chunk in all (up to 64 tiles): every row of U is used once, by one thread. Each thread then
  // transforms only its rows, kSlab at a time into a slab that stays in L2, instead of all of U in
  // advance (megabytes written out and read back: ResNet50's 14x14 layers spent half their weight
  // transform storing U).
  constexpr int64_t kSlab = 4 * kRowTile;
  const bool one_chunk = split.strips == 1;
  const int64_t plane_u = padded((one_chunk ? kSlab : g.O) * g.C), plane_v = padded(g.C * kStrip);
  const Scratch<float> U(size_t(one_chunk ? 0 : kXi * plane_u));
  if (!one_chunk) transform_weights<Fy, Fx>(g.O, g.C, w, turned, U.data());
  // One chunk's V serves every group of output channels: the threads build it together, channel
  // by channel, instead of each its own copy (ResNet50's 14x14 and 28x28 layers at batch 1).
  const Scratch<float> shared_v(size_t(one_chunk ? kXi * plane_v : 0));
#pragma omp parallel
  {
    const int64_t plane_m = padded(split.rows_per_group * kStrip);
    const Scratch<float> own_v(size_t(one_chunk ? 0 : kXi * plane_v)), M(size_t(kXi * plane_m));
    const Scratch<float> slab(size_t(one_chunk ? kXi * plane_u : 0));
    float* V = one_chunk ? shared_v.data() : own_v.data();
    float d[kXi][kRowD] = {};  // one channel's gathered tiles; lanes never written stay 0
    // V of the tiles [t0, t0 + nt) for channels [c0, c1)
    auto build_v = [&](int64_t t0, int64_t nt, int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        gather_tiles<Fy, Fx>(g, x + c * g.H * g.W, t0, nt, T, tw, d);
        transform_input<Fy, Fx>(d, whole_vectors(nt), V + c * kStrip, plane_v);
      }
    };
    if (one_chunk) {
#pragma omp for schedule(static)  // its barrier: V is whole before any task reads it
      for (int64_t c = 0; c < g.C; ++c) build_v(0, g.N * T, c, c + 1);
    }

    // Tasks over (chunk of tiles, group of output channels); max_run 1: a run is one strip.
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t ci = 0; ci < split.strips; ++ci)
      for (int64_t gi = 0; gi < split.groups; ++gi) {
        const int64_t t0 = ci * kStrip, nt = std::min(kStrip, g.N * T - t0);
        const int64_t o0 = gi * split.rows_per_group, rows = std::min(g.O - o0, split.rows_per_group);
        if (!one_chunk) build_v(t0, nt, 0, g.C);
        const int64_t step = one_chunk ? kSlab : rows;
        for (int64_t s0 = o0; s0 < o0 + rows; s0 += step) {
          const int64_t ns = std::min(step, o0 + rows - s0);
          if (one_chunk) transform_rows<Fy, Fx>(g.O, g.C, w, turned, s0, ns, slab.data(), plane_u);
          const float* Us = one_chunk ? slab.data() : U.data() + s0 * g.C;
          for (int64_t xi = 0; xi < kXi; ++xi)
            sgemm_strip(ns, g.C, Us + xi * plane_u, g.C, V + xi * plane_v, kStrip,
                        M.data() + xi * plane_m + (s0 - o0) * kStrip, kStrip, nt, nullptr, false);
        }
        for (int64_t o = o0; o < o0 + rows; ++o)
          transform_output<Fy, Fx>(g, M.data() + (o - o0) * kStrip, plane_m, o, e, t0, nt, T, tw, y);
      }
  }
}

// A Winograd algorithm: its name (winograd_kind) and the kernel that runs it.
struct Algorithm {
  const char* name;
  void (*run)(const ConvGeom&, const float*, const float*, const Epilogue<float>&, float*, bool);
};
constexpr Algorithm kF4x4{"F(4x4,3x3)", winograd<F4, F4>}, kF2x2{"F(2x2,3x3)", winograd<F2, F2>},
    kF5x5{"F(2x2,5x5)", winograd<F25, F25>}, kF1x7{"F(1x2,1x7)", winograd<Id, F27>},
    kF7x1{"F(2x1,7x1)", winograd<F27, Id>}, kF1x3{"F(1x2,1x3)", winograd<Id, F2>},
    kF3x1{"F(2x1,3x1)", winograd<F2, Id>};

// The algorithm that serves g best, or null (see winograd_kind).
const Algorithm* choose(const ConvGeom& g) {
  if (!sgemm_strips_available() || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || g.groups != 1 || g.C < 16 ||
      g.O < 16)
    return nullptr;
  // Few tiles do not repay the weight transform (ay ax planes of O x C). Chunks span images, so a
  // batch of small planes fills them: 40 tiles of one image (one chunk of F(2x2) at 14x14 gains even
  // for one image), or 128 in the batch (ResNet50's 7x7 and InceptionV3's 8x8 3x3 layers at
  // batch 10: 13.5 -> 11.4 and 10.1 -> 7.2-8.0 ms forward).
  const auto enough = [&](int64_t my, int64_t mx) {
    const int64_t tiles = (g.Ho + my - 1) / my * ((g.Wo + mx - 1) / mx);
    return tiles >= 40 || g.N * tiles >= 2 * kStrip;
  };
  // 1x7 and 7x1 (InceptionV3's 17x17 layers): F(2, 7) along the kernel's axis.
  if (g.kh == 1 && g.kw == 7) return enough(1, 2) ? &kF1x7 : nullptr;
  if (g.kh == 7 && g.kw == 1) return enough(2, 1) ? &kF7x1 : nullptr;
  // 1x3 and 3x1 (InceptionV3's 8x8 layers, in a batch): F(2, 3) along the kernel's axis.
  if (g.kh == 1 && g.kw == 3) return enough(1, 2) ? &kF1x3 : nullptr;
  if (g.kh == 3 && g.kw == 1) return enough(2, 1) ? &kF3x1 : nullptr;
  if (g.kh == 5 && g.kw == 5) return enough(2, 2) ? &kF5x5 : nullptr;
  if (g.kh != 3 || g.kw != 3) return nullptr;
  // F(4x4) from 40 tiles of 4x4 in one image (28x28 outputs and up: VGG16's and ResNet50's 3x3
  // layers there 15-30% faster than with F(2x2)), while its U stays within the 32 MB that glibc
  // serves from the heap: a larger block is mapped fresh on every call, and its page faults cost
  // more than F(4x4) saves (VGG16's 512 x 512 layers at 28x28: 11-15 -> 23 ms). Else F(2x2).
  const int64_t tiles4 = (g.Ho + 3) / 4 * ((g.Wo + 3) / 4);
  if (tiles4 >= 40 && 36 * g.O * g.C * int64_t(sizeof(float)) <= (int64_t(32) << 20)) return &kF4x4;
  return enough(2, 2) ? &kF2x2 : nullptr;
}

}  // namespace

const char* winograd_kind(const ConvGeom& g) {
  const Algorithm* a = choose(g);
  return a ? a->name : nullptr;
}

void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                      bool transposed_weights) {
  const Algorithm* a = choose(g);  // callers check winograd_applicable first
  if (!a) throw std::invalid_argument("winograd_forward: no Winograd algorithm for this convolution");
  a->run(g, x, w, e, y, transposed_weights);
}

}  // namespace gt::cpu
