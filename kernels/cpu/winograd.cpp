// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks").
//
// Each 2x2 output tile Y comes from a 4x4 input tile d and the 3x3 filter g of every (o, c) pair:
//   Y = A^T [ sum_c (G g G^T) . (B^T d B) ] A          (. = element-wise over the 4x4 = 16 positions)
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// With U = G g G^T (per o, c) and V = B^T d B (per c, tile), position xi of the 16 is a plain GEMM
//   M[xi][o, t] = sum_c U[xi][o, c] V[xi][c, t],
// so an output tile costs 16 C multiply-adds per output channel instead of 36 C: 2.25x fewer.
// All coefficients are 0, +-1 and +-1/2, so the transforms add no rounding beyond a few additions.
//
// Work unit: a chunk of up to kStrip tiles (in row-major tile order) and a group of output channels.
// The chunk's V (16 x C x 64 floats) is built in a per-thread buffer already in the strip layout the
// GEMM micro-kernel reads, the 16 GEMMs write M (16 x O x 64), and the output transform writes y.
#include "kernels/cpu/winograd.h"

#include <omp.h>

#include <algorithm>
#include <memory>

#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/sgemm.h"

namespace gt::cpu {
namespace {

constexpr int64_t kXi = 16;

// U[xi][o][c] = (G g G^T)[xi] for the 3x3 filter g = w[o, c]. Blocks of kStrip filters are
// transformed into a local buffer and copied out as 16 contiguous rows: writing the 16 planes of U
// one value at a time would hit 16 addresses a power of two apart, all in the same cache set.
void transform_weights(const ConvGeom& g, const float* w, float* U) {
  const int64_t OC = g.O * g.C;
#pragma omp parallel for schedule(static)
  for (int64_t b0 = 0; b0 < OC; b0 += kStrip) {
    const int64_t nb = std::min(kStrip, OC - b0);
    float u[kXi][kStrip];
    for (int64_t k = 0; k < nb; ++k) {
      const float* f = w + (b0 + k) * 9;
      float t[4][3];  // G g: the rows of G applied to the columns of g
      for (int j = 0; j < 3; ++j) {
        const float a = f[j], b = f[3 + j], c = f[6 + j];
        t[0][j] = a;
        t[1][j] = 0.5f * (a + b + c);
        t[2][j] = 0.5f * (a - b + c);
        t[3][j] = c;
      }
      for (int i = 0; i < 4; ++i) {  // (G g) G^T
        const float a = t[i][0], b = t[i][1], c = t[i][2];
        u[i * 4 + 0][k] = a;
        u[i * 4 + 1][k] = 0.5f * (a + b + c);
        u[i * 4 + 2][k] = 0.5f * (a - b + c);
        u[i * 4 + 3][k] = c;
      }
    }
    for (int64_t xi = 0; xi < kXi; ++xi) std::copy(u[xi], u[xi] + nb, U + xi * OC + b0);
  }
}

// A run of n tiles inside one tile row: tile row ty, first tile column tx, lane q in the chunk.
struct Segment {
  int64_t ty, tx, n, q;
};

template <class F>
void for_segments(int64_t t0, int64_t nt, int64_t tw, F&& f) {
  for (int64_t q = 0; q < nt;) {
    const int64_t t = t0 + q, tx = t % tw, n = std::min(tw - tx, nt - q);
    f(Segment{t / tw, tx, n, q});
    q += n;
  }
}

// V[xi][c][lane] = (B^T d B)[xi] for channel c of every tile of the chunk; V has row stride kStrip.
void transform_input(const ConvGeom& g, const float* x, int64_t c, const Segment& s, float* V) {
  // rows[r] holds input row 2 ty - pt + r from column 2 tx - pl on, zero outside the image, so that
  // tile u reads rows[r][2u .. 2u+3] without bounds checks.
  float rows[4][2 * kStrip + 2];
  const int64_t width = 2 * s.n + 2, ix0 = 2 * s.tx - g.pl;
  for (int r = 0; r < 4; ++r) {
    const int64_t iy = 2 * s.ty - g.pt + r;
    float* row = rows[r];
    if (iy < 0 || iy >= g.H) {
      std::fill(row, row + width, 0.0f);
      continue;
    }
    const float* src = x + (c * g.H + iy) * g.W;
    const int64_t lo = std::clamp<int64_t>(-ix0, 0, width), hi = std::clamp<int64_t>(g.W - ix0, lo, width);
    std::fill(row, row + lo, 0.0f);
    std::copy(src + ix0 + lo, src + ix0 + hi, row + lo);
    std::fill(row + hi, row + width, 0.0f);
  }
  // d B along each row (columns k = 0..3 of the tile), then B^T across the four rows.
  float e[4][4][kStrip];
  for (int r = 0; r < 4; ++r)
    for (int64_t u = 0; u < s.n; ++u) {
      const float* d = rows[r] + 2 * u;
      e[r][0][u] = d[0] - d[2];
      e[r][1][u] = d[1] + d[2];
      e[r][2][u] = d[2] - d[1];
      e[r][3][u] = d[1] - d[3];
    }
  const int64_t plane = g.C * kStrip;  // distance between positions xi in V
  for (int j = 0; j < 4; ++j) {
    float* v0 = V + (0 * 4 + j) * plane + c * kStrip + s.q;
    float* v1 = V + (1 * 4 + j) * plane + c * kStrip + s.q;
    float* v2 = V + (2 * 4 + j) * plane + c * kStrip + s.q;
    float* v3 = V + (3 * 4 + j) * plane + c * kStrip + s.q;
#pragma omp simd
    for (int64_t u = 0; u < s.n; ++u) {
      v0[u] = e[0][j][u] - e[2][j][u];
      v1[u] = e[1][j][u] + e[2][j][u];
      v2[u] = e[2][j][u] - e[1][j][u];
      v3[u] = e[1][j][u] - e[3][j][u];
    }
  }
}

// y[o] for the tiles of one segment from M[xi][o - o0][lane] (row stride kStrip): Y = e(A^T M A).
void transform_output(const ConvGeom& g, const float* M, int64_t rows, int64_t o, int64_t o0, const Epilogue<float>& e,
                      const Segment& s, float* y) {
  const int64_t plane = rows * kStrip;
  const float* m = M + (o - o0) * kStrip + s.q;
  float out[2][2][kStrip];
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 2; ++c) std::fill(out[a][c], out[a][c] + s.n, 0.0f);
  for (int i = 0; i < 4; ++i) {
    const float* m0 = m + (i * 4 + 0) * plane;
    const float* m1 = m + (i * 4 + 1) * plane;
    const float* m2 = m + (i * 4 + 2) * plane;
    const float* m3 = m + (i * 4 + 3) * plane;
    // Row i of M A contributes to output row 0 when i <= 2 (+) and to row 1 when i >= 1 (+, -, -).
    const float w0 = i <= 2 ? 1.0f : 0.0f, w1 = i == 0 ? 0.0f : i == 1 ? 1.0f : -1.0f;
#pragma omp simd
    for (int64_t u = 0; u < s.n; ++u) {
      const float c0 = m0[u] + m1[u] + m2[u], c1 = m1[u] - m2[u] - m3[u];
      out[0][0][u] += w0 * c0;
      out[0][1][u] += w0 * c1;
      out[1][0][u] += w1 * c0;
      out[1][1][u] += w1 * c1;
    }
  }
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 2; ++c) apply_epilogue(e, o, out[a][c], s.n);
  for (int a = 0; a < 2; ++a) {
    const int64_t oy = 2 * s.ty + a;
    if (oy >= g.Ho) break;
    float* dst = y + (o * g.Ho + oy) * g.Wo + 2 * s.tx;
    const int64_t n_full = std::min(s.n, (g.Wo - 2 * s.tx) / 2);  // tiles with both columns inside
    for (int64_t u = 0; u < n_full; ++u) {
      dst[2 * u] = out[a][0][u];
      dst[2 * u + 1] = out[a][1][u];
    }
    if (n_full < s.n) dst[2 * n_full] = out[a][0][n_full];  // odd width: the last tile's left column
  }
}

}  // namespace

bool winograd_applicable(const ConvGeom& g) {
  // Chunks of tiles do not span images. A plane of at least one full chunk (16x16 outputs) always
  // gains. A 14x14 plane is one chunk of 49 tiles: that gains only across a batch (ResNet's 3x3 convs
  // at 14x14 in batches of 10: 13 -> 9 ms), not for one image (1.7 -> 2.3 ms for the data gradient).
  const int64_t tiles = (g.Ho + 1) / 2 * ((g.Wo + 1) / 2);
  return sgemm_strips_available() && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
         g.groups == 1 && g.C >= 16 && g.O >= 16 && (tiles >= kStrip || (tiles >= 40 && g.N * tiles >= 4 * kStrip));
}

void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y) {
  // Scratch is left uninitialised: every value read is written first (lanes past a chunk's end are
  // read but masked out of the results).
  const std::unique_ptr<float[]> U(new float[size_t(kXi * g.O * g.C)]);
  transform_weights(g, w, U.get());
  const int64_t th = (g.Ho + 1) / 2, tw = (g.Wo + 1) / 2, T = th * tw;
  const WorkSplit split = split_work(T, g.O, 1, g.N);
#pragma omp parallel
  {
    const std::unique_ptr<float[]> V(new float[size_t(kXi * g.C * kStrip)]);
    const std::unique_ptr<float[]> M(new float[size_t(kXi * split.rows_per_group * kStrip)]);
    // Tasks over (image, chunk of tiles, group of output channels); max_run 1: a run is one strip.
#pragma omp for schedule(dynamic, 1) collapse(3)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t ci = 0; ci < split.strips; ++ci)
        for (int64_t gi = 0; gi < split.groups; ++gi) {
          const float* xn = x + n * g.C * g.H * g.W;
          float* yn = y + n * g.O * g.Ho * g.Wo;
          const int64_t t0 = ci * kStrip, nt = std::min(kStrip, T - t0);
          const int64_t o0 = gi * split.rows_per_group, rows = std::min(g.O - o0, split.rows_per_group);
          for (int64_t c = 0; c < g.C; ++c)
            for_segments(t0, nt, tw, [&](const Segment& s) { transform_input(g, xn, c, s, V.get()); });
          for (int64_t xi = 0; xi < kXi; ++xi)
            sgemm_strip(rows, g.C, U.get() + (xi * g.O + o0) * g.C, g.C, V.get() + xi * g.C * kStrip, kStrip,
                        M.get() + xi * rows * kStrip, kStrip, nt, nullptr, false);
          for (int64_t o = o0; o < o0 + rows; ++o)
            for_segments(t0, nt, tw, [&](const Segment& s) { transform_output(g, M.get(), rows, o, o0, e, s, yn); });
        }
  }
}

}  // namespace gt::cpu
