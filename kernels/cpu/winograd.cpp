// Winograd convolution F(m x m, 3x3) for m = 2 and 4 (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks").
//
// Each m x m output tile Y comes from an a x a input tile d (a = m + 2) and the 3x3 filter g of every
// (o, c) pair:
//   Y = A^T [ sum_c (G g G^T) . (B^T d B) ] A          (. = element-wise over the a x a positions)
// With U = G g G^T (per o, c) and V = B^T d B (per c, tile), position xi of the a^2 is a plain GEMM
//   M[xi][o, t] = sum_c U[xi][o, c] V[xi][c, t],
// so an output tile costs a^2 C multiply-adds per output channel instead of 9 m^2 C: 2.25x fewer for
// F(2x2), 4x fewer for F(4x4). The matrices are in the tile structs F2 and F4 below.
//
// Work unit: a chunk of up to kStrip tiles (in row-major tile order) and a group of output channels.
// The chunk's V (a^2 x C x 64 floats) is built in a per-thread buffer already in the strip layout the
// GEMM micro-kernel reads, the a^2 GEMMs write M (a^2 x O x 64), and the output transform writes y.
#include "kernels/cpu/winograd.h"

#include <omp.h>

#include <algorithm>
#include <memory>

#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/sgemm.h"

namespace gt::cpu {
namespace {

constexpr int64_t kLanes = 16;  // one vector of floats: the transforms work on whole vectors of tiles

// The 1D transforms of F(m, 3), each on kLanes independent lanes: input v = B^T d (a values),
// filter u = G g (3 -> a), output y = A^T p (a -> m). Value k of the input is the vector at
// in + k * si, value i of the result goes to out + i * so. The 2D transforms apply them along rows
// and then down columns.
//
// F(2, 3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
// A^T = [1 1 1 0; 0 1 -1 -1]. Coefficients 0, +-1 and +-1/2: no rounding beyond a few additions.
struct F2 {
  static constexpr int m = 2, a = 4;
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
  static constexpr int m = 4, a = 6;
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

constexpr int64_t kRowD = kStrip + kLanes;  // lanes of a gathered-tile row: kLanes to spill into

// The planes of U, V and M lie padded(size) floats apart, not a power of two: write streams whose
// addresses differ by a multiple of 4 KB share a few cache sets and evict one another.
int64_t padded(int64_t size) { return (size + kStrip - 1) / kStrip * kStrip + kLanes; }
int64_t whole_vectors(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// U[xi][r][k] = (G f G^T)[xi], f the 3x3 filter of row r and column k of the GEMM's A (rows x cols):
//   forward:  f = w[r, k]                           (w: rows x cols x 3 x 3, a conv's O x C)
//   turned:   f = w[k, r] turned by 180 degrees     (w: cols x rows x 3 x 3), the weights of a conv
//             whose data gradient this is: dx = conv(dy, w'), w'[c, o] = rot180 w[o, c]
// A block of kB x kB filters is gathered tap by tap (kB contiguous filters from each of kB rows of
// w, either way round), transformed a vector at a time, and written as kB runs of kB floats into
// each plane of U.
template <class F>
void transform_weights(int64_t rows, int64_t cols, const float* w, bool turned, float* U) {
  constexpr int64_t kB = 16, kN = kB * kB, kXi = F::a * F::a;
  const int64_t plane = padded(rows * cols), br = (rows + kB - 1) / kB, bk = (cols + kB - 1) / kB;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < br * bk; ++b) {
    // Consecutive blocks step along the rows of the stored w: along k forward, along r turned.
    const int64_t r0 = (turned ? b % br : b / bk) * kB, k0 = (turned ? b / br : b % bk) * kB;
    const int64_t nr = std::min(kB, rows - r0), nk = std::min(kB, cols - k0);
    float f[9][kN];  // f[tap][rr * kB + kk]
    if (nr < kB || nk < kB)
      for (auto& tap : f) std::fill(tap, tap + kN, 0.0f);
    for (int64_t rr = 0; rr < nr; ++rr)
      for (int64_t kk = 0; kk < nk; ++kk) {
        const int64_t r = r0 + rr, k = k0 + kk;
        const float* src = w + (turned ? k * rows + r : r * cols + k) * 9;
        for (int t = 0; t < 9; ++t) f[turned ? 8 - t : t][rr * kB + kk] = src[t];
      }
    float u[kXi][kN];
    for (int64_t l0 = 0; l0 < kN; l0 += kLanes) {
      float gc[F::a * 3][kLanes];  // G f: G down each column j of the filter, gc[i * 3 + j]
      for (int j = 0; j < 3; ++j) F::filter(f[j] + l0, 3 * kN, gc[j], 3 * kLanes);
      for (int i = 0; i < F::a; ++i) F::filter(gc[i * 3], kLanes, u[i * F::a] + l0, kN);  // then (G f) G^T
    }
    for (int64_t xi = 0; xi < kXi; ++xi)
      for (int64_t rr = 0; rr < nr; ++rr) {
        const float* src = u[xi] + rr * kB;
        float* dst = U + xi * plane + (r0 + rr) * cols + k0;
        if (nk == kB)  // a fixed length: vector moves, not a call to memmove
#pragma omp simd
          for (int64_t kk = 0; kk < kB; ++kk) dst[kk] = src[kk];
        else
          std::copy(src, src + nk, dst);
      }
  }
}

// A run of n tiles inside one tile row: tile row ty, first tile column tx, lane q in the chunk.
struct Segment {
  int64_t ty, tx, n, q;
};

template <class Fn>
void for_segments(int64_t t0, int64_t nt, int64_t tw, Fn&& f) {
  for (int64_t q = 0; q < nt;) {
    const int64_t t = t0 + q, tx = t % tw, n = std::min(tw - tx, nt - q);
    f(Segment{t / tw, tx, n, q});
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

// The a x a input tiles of a chunk, lane by lane: d[r * a + k][q] = x(m ty - pt + r, m tx - pl + k)
// for its tile q at (ty, tx), from one input plane x. Each segment is copied in whole vectors,
// spilling up to kLanes - 1 lanes into the next segment (written after it) or into d's spare lanes.
template <class F>
void gather_tiles(const ConvGeom& g, const float* x, int64_t t0, int64_t nt, int64_t tw, float (*d)[kRowD]) {
  for_segments(t0, nt, tw, [&](const Segment& s) {
    for (int r = 0; r < F::a; ++r) {
      const int64_t iy = F::m * s.ty - g.pt + r;
      const float* row = iy >= 0 && iy < g.H ? x + iy * g.W : nullptr;
      for (int k = 0; k < F::a; ++k)
        strided_row(row, g.W, F::m * s.tx - g.pl + k, F::m, whole_vectors(s.n), d[r * F::a + k] + s.q);
    }
  });
}

// v[xi * plane + q] = (B^T d B)[xi] for the lanes q < n (whole vectors) of the gathered tiles d.
template <class F>
void transform_input(const float (*d)[kRowD], int64_t n, float* v, int64_t plane) {
  constexpr int a = F::a;
  for (int64_t q0 = 0; q0 < n; q0 += kLanes) {
    float t[a * a][kLanes];  // d B: along each row r of the tile, t[r * a + j]
    for (int r = 0; r < a; ++r) F::input(d[r * a] + q0, kRowD, t[r * a], kLanes);
    for (int j = 0; j < a; ++j) F::input(t[j], a * kLanes, v + j * plane + q0, a * plane);  // then B^T (d B)
  }
}

// y[o] for the chunk's tiles from p[xi * plane + q] (channel o's row of M): Y = e(A^T M A).
template <class F>
void transform_output(const ConvGeom& g, const float* p, int64_t plane, int64_t o, const Epilogue<float>& e, int64_t t0,
                      int64_t nt, int64_t tw, float* y) {
  constexpr int m = F::m;
  float out[m][m][kStrip];
  for (int64_t q0 = 0; q0 < nt; q0 += kLanes) {
    float t[F::a * m][kLanes];  // M A: along each row i of the tile, t[i * m + j]
    for (int i = 0; i < F::a; ++i) F::output(p + i * F::a * plane + q0, plane, t[i * m], kLanes);
    for (int j = 0; j < m; ++j) F::output(t[j], m * kLanes, out[0][j] + q0, m * kStrip);  // then A^T (M A)
  }
  for (auto& row : out)
    for (float* col : row) apply_epilogue(e, o, col, nt);
  for_segments(t0, nt, tw, [&](const Segment& s) {
    const int64_t full = std::min(s.n, (g.Wo - m * s.tx) / m);  // tiles with all m columns inside
    const int64_t rest = std::min<int64_t>(m, g.Wo - m * (s.tx + full));
    for (int i = 0; i < m; ++i) {
      const int64_t oy = m * s.ty + i;
      if (oy >= g.Ho) break;
      float* dst = y + (o * g.Ho + oy) * g.Wo + m * s.tx;
      for (int64_t u = 0; u < full; ++u)
        for (int j = 0; j < m; ++j) dst[m * u + j] = out[i][j][s.q + u];
      if (full < s.n)  // the last tile sticks out of the plane: its first columns only
        for (int j = 0; j < rest; ++j) dst[m * full + j] = out[i][j][s.q + full];
    }
  });
}

template <class F>
void winograd(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y, bool turned) {
  constexpr int64_t kXi = F::a * F::a;
  // Scratch is left uninitialised: every value read is written first (lanes past a chunk's end are
  // read but masked out of the results, or computed and not stored).
  const int64_t plane_u = padded(g.O * g.C), plane_v = padded(g.C * kStrip);
  const std::unique_ptr<float[]> U(new float[size_t(kXi * plane_u)]);
  transform_weights<F>(g.O, g.C, w, turned, U.get());
  const int64_t th = (g.Ho + F::m - 1) / F::m, tw = (g.Wo + F::m - 1) / F::m, T = th * tw;
  const WorkSplit split = split_work(T, g.O, 1, g.N);
#pragma omp parallel
  {
    const int64_t plane_m = padded(split.rows_per_group * kStrip);
    const std::unique_ptr<float[]> V(new float[size_t(kXi * plane_v)]);
    const std::unique_ptr<float[]> M(new float[size_t(kXi * plane_m)]);
    float d[kXi][kRowD] = {};  // one channel's gathered tiles; lanes never written stay 0
    // Tasks over (image, chunk of tiles, group of output channels); max_run 1: a run is one strip.
#pragma omp for schedule(dynamic, 1) collapse(3)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t ci = 0; ci < split.strips; ++ci)
        for (int64_t gi = 0; gi < split.groups; ++gi) {
          const float* xn = x + n * g.C * g.H * g.W;
          float* yn = y + n * g.O * g.Ho * g.Wo;
          const int64_t t0 = ci * kStrip, nt = std::min(kStrip, T - t0);
          const int64_t o0 = gi * split.rows_per_group, rows = std::min(g.O - o0, split.rows_per_group);
          for (int64_t c = 0; c < g.C; ++c) {
            gather_tiles<F>(g, xn + c * g.H * g.W, t0, nt, tw, d);
            transform_input<F>(d, whole_vectors(nt), V.get() + c * kStrip, plane_v);
          }
          for (int64_t xi = 0; xi < kXi; ++xi)
            sgemm_strip(rows, g.C, U.get() + xi * plane_u + o0 * g.C, g.C, V.get() + xi * plane_v, kStrip,
                        M.get() + xi * plane_m, kStrip, nt, nullptr, false);
          for (int64_t o = o0; o < o0 + rows; ++o)
            transform_output<F>(g, M.get() + (o - o0) * kStrip, plane_m, o, e, t0, nt, tw, yn);
        }
  }
}

}  // namespace

int winograd_tile(const ConvGeom& g) {
  if (!sgemm_strips_available() || g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 ||
      g.groups != 1 || g.C < 16 || g.O < 16)
    return 0;
  // Chunks of tiles do not span images: a plane of few tiles fills a chunk's lanes poorly, and its
  // weight transform (a^2 planes of O x C) is paid for little GEMM work. F(4x4) from 40 tiles of 4x4
  // (28x28 outputs and up: VGG16's and ResNet50's 3x3 layers there 15-30% faster than with F(2x2)),
  // while its U stays within the 32 MB that glibc serves from the heap: a larger block is mapped
  // fresh on every call, and its page faults cost more than F(4x4) saves (VGG16's 512 x 512 layers
  // at 28x28: 11-15 -> 23 ms). Else F(2x2) from 40 tiles of 2x2 (14x14 outputs: one chunk, gains
  // even for one image), or in a batch of at least 4 chunks' worth.
  const auto tiles = [&](int64_t m) { return (g.Ho + m - 1) / m * ((g.Wo + m - 1) / m); };
  if (tiles(4) >= 40 && 36 * g.O * g.C * int64_t(sizeof(float)) <= (int64_t(32) << 20)) return 4;
  return tiles(2) >= 40 || g.N * tiles(2) >= 4 * kStrip ? 2 : 0;
}

void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                      bool transposed_weights) {
  if (winograd_tile(g) == 4) return winograd<F4>(g, x, w, e, y, transposed_weights);
  winograd<F2>(g, x, w, e, y, transposed_weights);
}

}  // namespace gt::cpu
