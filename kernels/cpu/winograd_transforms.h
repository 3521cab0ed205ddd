// The Winograd transforms shared by the two CPU layouts (winograd.cpp: tiles in the vector lanes;
// winograd_channels.cpp: channels in the lanes, for small planes). Internal to kernels/cpu.
//
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
#pragma once
#include <algorithm>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/layout.h"
#include "kernels/cpu/sgemm.h"

namespace gt::cpu::winograd_detail {

constexpr int64_t kLanes = 16;  // one vector of floats: the transforms work on vectors of tiles or channels

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

// The planes of U, V and M lie padded(size) floats apart, not a power of two: write streams whose
// addresses differ by a multiple of 4 KB share a few cache sets and evict one another.
inline int64_t padded(int64_t size) { return (size + kStrip - 1) / kStrip * kStrip + kLanes; }
inline int64_t whole_vectors(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// U[xi][r][k] = (G_y f G_x^T)[xi], f the ry x rx filter of row r and column k of the GEMM's A
// (rows x cols):
//   forward:  f = w[r, k]                           (w: rows x cols x ry x rx, a conv's O x C)
//   turned:   f = w[k, r] turned by 180 degrees     (w: cols x rows x ry x rx), the weights of a conv
//             whose data gradient this is: dx = conv(dy, w'), w'[c, o] = rot180 w[o, c]
// transform_block does a block of up to kB x kB filters (rows [r0, r0 + nr) and columns [k0, k0 + nk)
// of A): gathered tap by tap (runs of contiguous filters from up to kB rows of w, either way round),
// transformed a vector at a time, and written into each plane of U as described by `out`.
struct UBlock {
  float* at;      // where the block's first filter (r0, k0) goes in plane 0
  int64_t plane;  // floats from one plane of U to the next
  int64_t ld;     // floats from one line of the block to the next
  // false: a line is a row r of A, its nk values along k (U[xi][r][k], the tiles-in-lanes GEMM's A);
  // true: a line is a column k, its nr values along r (U[xi][k][r], the channels-in-lanes GEMM's B).
  bool by_column = false;
  bool stream = false;  // streaming stores where a line is a whole aligned vector
};
#if defined(__AVX512F__)
// f[t][v] = src[v * stride + t] for the taps t < taps (<= 16) of n <= 16 filters, 0 for v >= n: the
// filters' taps loaded a filter to a vector and turned into a vector per tap in registers
// (transpose16). A scalar copy took a store per tap and filter, most of a weight transform.
inline void gather_taps(const float* src, int64_t stride, int64_t n, int taps, __m512 (&f)[16]) {
  const __mmask16 m = __mmask16((1u << taps) - 1);
  for (int v = 0; v < 16; ++v) f[v] = v < n ? _mm512_maskz_loadu_ps(m, src + v * stride) : _mm512_setzero_ps();
  transpose16(f);
}
#endif

template <class Fy, class Fx>
void transform_block(int64_t rows, int64_t cols, const float* w, bool turned, int64_t r0, int64_t nr, int64_t k0,
                     int64_t nk, const UBlock& out) {
  constexpr int64_t kB = 16, kN = kB * kB, kTaps = Fy::r * Fx::r, kXi = Fy::a * Fx::a;
  float f[kTaps][kN];  // f[tap][line * kB + value]
  // filter (r, k) starts at w + (turned ? k rows + r : r cols + k) kTaps
  const int64_t step_r = (turned ? 1 : cols) * kTaps, step_k = (turned ? rows : 1) * kTaps;
#if defined(__AVX512F__)
  if constexpr (kTaps <= 16) {
    const int64_t lines = out.by_column ? nk : nr, n = out.by_column ? nr : nk;
    // The filters of the next block along k, asked for a run per line (a row of w, or a column of
    // it turned): the weights come from memory, ResNet50's 100 MB once a forward, and its forward
    // gained 1-4% (median 42.2 -> 40.5 ms, faster in 12 of 16 alternating rounds).
    const int64_t next_k = std::min(kB, cols - k0 - kB), next_runs = turned ? next_k : nr;
    const int64_t next_len = (turned ? nr : next_k) * kTaps;
    const float* next = w + r0 * step_r + (k0 + kB) * step_k;
    for (int64_t line = 0; line < kB; ++line) {
      if (line < next_runs)
        for (int64_t b = 0; b < next_len; b += 16)
          __builtin_prefetch(next + line * (turned ? step_k : step_r) + b, 0, 3);
      __m512 taps[16];
      if (line < lines)
        gather_taps(w + r0 * step_r + k0 * step_k + line * (out.by_column ? step_k : step_r),
                    out.by_column ? step_r : step_k, n, kTaps, taps);
      else
        for (auto& t : taps) t = _mm512_setzero_ps();
      for (int t = 0; t < kTaps; ++t) _mm512_storeu_ps(f[turned ? kTaps - 1 - t : t] + line * kB, taps[t]);
    }
  } else
#endif
  {
    if (nr < kB || nk < kB)
      for (auto& tap : f) std::fill(tap, tap + kN, 0.0f);
    for (int64_t rr = 0; rr < nr; ++rr)
      for (int64_t kk = 0; kk < nk; ++kk) {
        const float* src = w + (r0 + rr) * step_r + (k0 + kk) * step_k;
        for (int t = 0; t < kTaps; ++t)
          f[turned ? kTaps - 1 - t : t][out.by_column ? kk * kB + rr : rr * kB + kk] = src[t];
      }
  }
  const int64_t lines = out.by_column ? nk : nr, n = out.by_column ? nr : nk;
  // Lanes [l0, l0 + 16) are line l0 / 16 of the block. Whole lines go straight into U: through a
  // buffer and a copy, the copy's stores waited on U's lines, and ResNet50's forward took 40.1-42.3
  // ms instead of 38.8-39.9.
  const bool direct = !out.stream && lines == kB && n == kB;
  float u[kXi][kN];
  for (int64_t l0 = 0; l0 < kN; l0 += kLanes) {
    float gc[Fy::a * Fx::r][kLanes];  // G f: G down each column j of the filter, gc[i * rx + j]
    for (int j = 0; j < Fx::r; ++j) Fy::filter(f[j] + l0, Fx::r * kN, gc[j], Fx::r * kLanes);
    for (int i = 0; i < Fy::a; ++i)  // then (G f) G^T
      if (direct)
        Fx::filter(gc[i * Fx::r], kLanes, out.at + i * Fx::a * out.plane + l0 / kLanes * out.ld, out.plane);
      else
        Fx::filter(gc[i * Fx::r], kLanes, u[i * Fx::a] + l0, kN);
  }
  if (direct) return;
  for (int64_t xi = 0; xi < kXi; ++xi)
    for (int64_t line = 0; line < lines; ++line) {
      const float* src = u[xi] + line * kB;
      float* dst = out.at + xi * out.plane + line * out.ld;
#if defined(__AVX512F__)
      if (out.stream && n == kB && (reinterpret_cast<uintptr_t>(dst) & 63) == 0) {
        _mm512_stream_ps(dst, _mm512_loadu_ps(src));
        continue;
      }
#endif
      if (n == kB)  // a fixed length: vector moves, not a call to memmove
#pragma omp simd
        for (int64_t v = 0; v < kB; ++v) dst[v] = src[v];
      else
        std::copy(src, src + n, dst);
    }
}

// Winograd with the channels in the vector lanes (winograd_channels.cpp), instantiated for F2 x F2
// and F4 x F4. It needs C and O to be multiples of 16 (channels_in_lanes_fit) and the AVX-512 strip GEMM.
bool channels_in_lanes_fit(const ConvGeom& g);
template <class Fy, class Fx>
void winograd_channels(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                       bool turned);

}  // namespace gt::cpu::winograd_detail
