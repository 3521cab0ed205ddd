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
constexpr int64_t kLanes = 16;  // one vector of floats: the transforms work on whole vectors of tiles
// The 16 planes of U, V and M lie padded(size) floats apart, not a power of two: 16 write streams
// whose addresses differ by a multiple of 4 KB share a few cache sets and evict one another.
int64_t padded(int64_t size) { return (size + kStrip - 1) / kStrip * kStrip + kLanes; }
constexpr int64_t kRowV = kStrip + kLanes;  // lanes of a gathered-tile row: kLanes to spill into

// U[xi][r][k] = (G f G^T)[xi], f the 3x3 filter of row r and column k of the GEMM's A (rows x cols):
//   forward:  f = w[r, k]                           (w: rows x cols x 3 x 3, a conv's O x C)
//   turned:   f = w[k, r] turned by 180 degrees     (w: cols x rows x 3 x 3), the weights of a conv
//             whose data gradient this is: dx = conv(dy, w'), w'[c, o] = rot180 w[o, c]
// A block of kB x kB filters is gathered tap by tap (kB contiguous filters from each of kB rows of
// w, either way round), transformed a vector at a time, and written as kB runs of kB floats into
// each of the 16 planes of U.
void transform_weights(int64_t rows, int64_t cols, const float* w, bool turned, float* U) {
  constexpr int64_t kB = 16, kN = kB * kB;
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
#pragma omp simd
    for (int64_t l = 0; l < kN; ++l) {
      float t[4][3];
      for (int j = 0; j < 3; ++j) {  // G f: the rows of G applied to the columns of f
        const float a = f[j][l], b = f[3 + j][l], c = f[6 + j][l];
        t[0][j] = a;
        t[1][j] = 0.5f * (a + b + c);
        t[2][j] = 0.5f * (a - b + c);
        t[3][j] = c;
      }
      for (int i = 0; i < 4; ++i) {  // (G f) G^T
        const float a = t[i][0], b = t[i][1], c = t[i][2];
        u[i * 4 + 0][l] = a;
        u[i * 4 + 1][l] = 0.5f * (a + b + c);
        u[i * 4 + 2][l] = 0.5f * (a - b + c);
        u[i * 4 + 3][l] = c;
      }
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

template <class F>
void for_segments(int64_t t0, int64_t nt, int64_t tw, F&& f) {
  for (int64_t q = 0; q < nt;) {
    const int64_t t = t0 + q, tx = t % tw, n = std::min(tw - tx, nt - q);
    f(Segment{t / tw, tx, n, q});
    q += n;
  }
}

// dst[j] = x[i0 + 2j] for j < len, 0 outside the row [0, W) (x null: a padding row).
void stride2_row(const float* x, int64_t W, int64_t i0, int64_t len, float* dst) {
  // j in [lo, hi) reads inside the row: lo = ceil(-i0 / 2), hi = floor((W + 1 - i0) / 2).
  const int64_t lo = x ? std::clamp<int64_t>((1 - i0) / 2, 0, len) : len;
  const int64_t hi = x ? std::clamp<int64_t>((W + 1 - i0) / 2, lo, len) : len;
  for (int64_t j = 0; j < lo; ++j) dst[j] = 0.0f;
#pragma omp simd
  for (int64_t j = lo; j < hi; ++j) dst[j] = x[i0 + 2 * j];
  for (int64_t j = hi; j < len; ++j) dst[j] = 0.0f;
}

int64_t whole_vectors(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// The 4x4 input tiles of a chunk, lane by lane: d[r * 4 + k][q] = x(2 ty - pt + r, 2 tx - pl + k) for
// its tile q at (ty, tx), from one input plane x. Each segment is copied in whole vectors, spilling
// up to kLanes - 1 lanes into the next segment (written after it) or into d's spare lanes.
void gather_tiles(const ConvGeom& g, const float* x, int64_t t0, int64_t nt, int64_t tw, float (*d)[kRowV]) {
  for_segments(t0, nt, tw, [&](const Segment& s) {
    for (int r = 0; r < 4; ++r) {
      const int64_t iy = 2 * s.ty - g.pt + r;
      const float* row = iy >= 0 && iy < g.H ? x + iy * g.W : nullptr;
      for (int k = 0; k < 4; ++k) stride2_row(row, g.W, 2 * s.tx - g.pl + k, whole_vectors(s.n), d[r * 4 + k] + s.q);
    }
  });
}

// v[xi * plane + q] = (B^T d B)[xi] for the lanes q < n (whole vectors) of the gathered tiles d.
void transform_input(const float (*d)[kRowV], int64_t n, float* v, int64_t plane) {
#pragma omp simd
  for (int64_t q = 0; q < n; ++q) {
    float e[4][4];  // d B along each of the four rows
    for (int r = 0; r < 4; ++r) {
      const float d0 = d[r * 4][q], d1 = d[r * 4 + 1][q], d2 = d[r * 4 + 2][q], d3 = d[r * 4 + 3][q];
      e[r][0] = d0 - d2;
      e[r][1] = d1 + d2;
      e[r][2] = d2 - d1;
      e[r][3] = d1 - d3;
    }
    for (int j = 0; j < 4; ++j) {  // then B^T across the rows
      v[(0 * 4 + j) * plane + q] = e[0][j] - e[2][j];
      v[(1 * 4 + j) * plane + q] = e[1][j] + e[2][j];
      v[(2 * 4 + j) * plane + q] = e[2][j] - e[1][j];
      v[(3 * 4 + j) * plane + q] = e[1][j] - e[3][j];
    }
  }
}

// y[o] for the chunk's tiles from m[xi * plane + q] (channel o's row of M): Y = e(A^T M A).
void transform_output(const ConvGeom& g, const float* m, int64_t plane, int64_t o, const Epilogue<float>& e, int64_t t0,
                      int64_t nt, int64_t tw, float* y) {
  float out[2][2][kStrip];
  const int64_t n = whole_vectors(nt);
#pragma omp simd
  for (int64_t q = 0; q < n; ++q) {
    float c0[4], c1[4];  // M A: row i of the 4x4 tile times A's two columns
    for (int i = 0; i < 4; ++i) {
      const float m0 = m[(i * 4) * plane + q], m1 = m[(i * 4 + 1) * plane + q];
      const float m2 = m[(i * 4 + 2) * plane + q], m3 = m[(i * 4 + 3) * plane + q];
      c0[i] = m0 + m1 + m2;
      c1[i] = m1 - m2 - m3;
    }
    out[0][0][q] = c0[0] + c0[1] + c0[2];  // A^T (M A)
    out[0][1][q] = c1[0] + c1[1] + c1[2];
    out[1][0][q] = c0[1] - c0[2] - c0[3];
    out[1][1][q] = c1[1] - c1[2] - c1[3];
  }
  for (auto& row : out)
    for (float* col : row) apply_epilogue(e, o, col, nt);
  for_segments(t0, nt, tw, [&](const Segment& s) {
    const int64_t full = std::min(s.n, (g.Wo - 2 * s.tx) / 2);  // tiles with both columns inside
    for (int a = 0; a < 2; ++a) {
      const int64_t oy = 2 * s.ty + a;
      if (oy >= g.Ho) break;
      const float *left = out[a][0] + s.q, *right = out[a][1] + s.q;
      float* dst = y + (o * g.Ho + oy) * g.Wo + 2 * s.tx;
      for (int64_t u = 0; u < full; ++u) {
        dst[2 * u] = left[u];
        dst[2 * u + 1] = right[u];
      }
      if (full < s.n) dst[2 * full] = left[full];  // odd width: the last tile's left column
    }
  });
}

}  // namespace

bool winograd_applicable(const ConvGeom& g) {
  // Chunks of tiles do not span images. A plane of at least 40 tiles (14x14 outputs: 7x7 tiles, one
  // chunk) gains even for one image; smaller ones only in a batch of at least 4 chunks' worth.
  const int64_t tiles = (g.Ho + 1) / 2 * ((g.Wo + 1) / 2);
  return sgemm_strips_available() && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
         g.groups == 1 && g.C >= 16 && g.O >= 16 && (tiles >= 40 || g.N * tiles >= 4 * kStrip);
}

void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                      bool transposed_weights) {
  // Scratch is left uninitialised: every value read is written first (lanes past a chunk's end are
  // read but masked out of the results, or computed and not stored).
  const int64_t plane_u = padded(g.O * g.C), plane_v = padded(g.C * kStrip);
  const std::unique_ptr<float[]> U(new float[size_t(kXi * plane_u)]);
  transform_weights(g.O, g.C, w, transposed_weights, U.get());
  const int64_t th = (g.Ho + 1) / 2, tw = (g.Wo + 1) / 2, T = th * tw;
  const WorkSplit split = split_work(T, g.O, 1, g.N);
#pragma omp parallel
  {
    const int64_t plane_m = padded(split.rows_per_group * kStrip);
    const std::unique_ptr<float[]> V(new float[size_t(kXi * plane_v)]);
    const std::unique_ptr<float[]> M(new float[size_t(kXi * plane_m)]);
    float d[kXi][kRowV] = {};  // one channel's gathered tiles; lanes never written stay 0
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
            gather_tiles(g, xn + c * g.H * g.W, t0, nt, tw, d);
            transform_input(d, whole_vectors(nt), V.get() + c * kStrip, plane_v);
          }
          for (int64_t xi = 0; xi < kXi; ++xi)
            sgemm_strip(rows, g.C, U.get() + xi * plane_u + o0 * g.C, g.C, V.get() + xi * plane_v, kStrip,
                        M.get() + xi * plane_m, kStrip, nt, nullptr, false);
          for (int64_t o = o0; o < o0 + rows; ++o)
            transform_output(g, M.get() + (o - o0) * kStrip, plane_m, o, e, t0, nt, tw, yn);
        }
  }
}

}  // namespace gt::cpu
