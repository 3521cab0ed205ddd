// Winograd convolution with the channels in the vector lanes, for planes of few tiles (the math and
// the transforms: winograd_transforms.h).
//
// With the tiles in the lanes (winograd.cpp), a 14x14 plane is 49 tiles of F(2x2) in a strip of 64
// lanes, and 16 tiles of F(4x4) in one vector, which the GEMM micro-kernel can only use as one
// column of 16 (a multiply-add per broadcast). Transposed, each position xi is the GEMM
//   M^T[xi][t, o] = sum_c V^T[xi][t, c] U^T[xi][c, o]
// with the R tiles of the batch as the rows (in tiles of 6: 16 rows use 89% of them) and the
// output channels as the 64-lane strips. The input transform then runs on vectors of 16 channels
// of one tile, and the output transform on 16 output channels of one tile.
//
// Work unit: a strip of 64 output channels. For each block of input channels its filters are
// transformed into a per-thread block of U^T (ay ax planes of channels x 64 lanes, in L2: the strip
// layout the micro-kernel reads) and multiplied at once; every task reads the one V^T, built by all
// threads first.
#include <omp.h>

#include <algorithm>

#include "kernels/cpu/scratch.h"
#include "kernels/cpu/winograd_transforms.h"

namespace gt::cpu::winograd_detail {
namespace {

// Tile r of the batch: image n, tile row ty and tile column tx (T tiles an image, tw a tile row).
struct TileAt {
  int64_t n, ty, tx;
  TileAt(int64_t r, int64_t T, int64_t tw) : n(r / T), ty(r % T / tw), tx(r % T % tw) {}
};

// v[xi * plane + l] = (B^T d B)[xi] for the 16 channels [c0, c0 + 16) of tile r (lane l: channel c0 + l).
template <class Fy, class Fx>
void input_tile(const ConvGeom& g, const float* x, const TileAt& at, int64_t c0, float* v, int64_t plane) {
  constexpr int ay = Fy::a, ax = Fx::a;
  float d[ay * ax][kLanes];  // d[i * ax + j][l] = x(n, c0 + l, m ty - pt + i, m tx - pl + j), 0 outside
  const float* xc = x + (at.n * g.C + c0) * g.H * g.W;
  for (int i = 0; i < ay; ++i)
    for (int j = 0; j < ax; ++j) {
      const int64_t iy = Fy::m * at.ty - g.pt + i, ix = Fx::m * at.tx - g.pl + j;
      float* dst = d[i * ax + j];
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) {
        std::fill(dst, dst + kLanes, 0.0f);
        continue;
      }
      const float* src = xc + iy * g.W + ix;
      for (int64_t l = 0; l < kLanes; ++l) dst[l] = src[l * g.H * g.W];
    }
  float t[ay * ax][kLanes];  // d B: along each row i of the tile, t[i * ax + j]
  for (int i = 0; i < ay; ++i) Fx::input(d[i * ax], kLanes, t[i * ax], kLanes);
  for (int j = 0; j < ax; ++j) Fy::input(t[j], ax * kLanes, v + j * plane, ax * plane);  // then B^T (d B)
}

// y for 16 output channels [o0, o0 + 16) of tile `at` from p[xi * plane + l]: Y = e(A^T M A).
template <class Fy, class Fx>
void output_tile(const ConvGeom& g, const float* p, int64_t plane, int64_t o0, const Epilogue<float>& e,
                 const TileAt& at, float* y) {
  constexpr int my = Fy::m, mx = Fx::m, ax = Fx::a;
  float t[Fy::a * mx][kLanes];  // M A: along each row i of the tile, t[i * mx + j]
  for (int i = 0; i < Fy::a; ++i) Fx::output(p + i * ax * plane, plane, t[i * mx], kLanes);
  float out[my * mx][kLanes];  // A^T (M A)
  for (int j = 0; j < mx; ++j) Fy::output(t[j], mx * kLanes, out[j], mx * kLanes);
  // The epilogue per lane, each its own channel (as apply_epilogue per channel).
  float s[kLanes], b[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) {
    s[l] = e.scale ? e.scale[o0 + l] : 1.0f;
    b[l] = e.bias ? e.bias[o0 + l] : 0.0f;
  }
  for (auto& o : out) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      const float v = s[l] * o[l] + b[l];
      o[l] = e.act == Act::relu ? (v > 0.0f ? v : 0.0f) : e.act == Act::relu6 ? std::min(std::max(v, 0.0f), 6.0f) : v;
    }
  }
  for (int i = 0; i < my; ++i)
    for (int j = 0; j < mx; ++j) {
      const int64_t oy = my * at.ty + i, ox = mx * at.tx + j;
      if (oy >= g.Ho || ox >= g.Wo) continue;
      float* dst = y + ((at.n * g.O + o0) * g.Ho + oy) * g.Wo + ox;
      for (int64_t l = 0; l < kLanes; ++l) dst[l * g.Ho * g.Wo] = out[i * mx + j][l];
    }
}

}  // namespace

bool channels_in_lanes_fit(const ConvGeom& g) { return g.C % kLanes == 0 && g.O % kLanes == 0; }

template <class Fy, class Fx>
void winograd_channels(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                       bool turned) {
  constexpr int64_t kXi = Fy::a * Fx::a;
  // Input channels per block of U^T: ay ax x 64 x 64 floats for F(4x4) and x 128 for F(2x2), about
  // half a core's L2 (590 and 524 KB). Half as deep, the GEMMs read and write M^T twice as often:
  // ResNet50's 14x14 layers 0.91-0.95 ms against 1.07 with 32 channels.
  constexpr int64_t kDepthC = kXi > 16 ? 64 : 128;
  const int64_t tw = (g.Wo + Fx::m - 1) / Fx::m, T = (g.Ho + Fy::m - 1) / Fy::m * tw, R = g.N * T;
  const int64_t plane_v = padded(R * g.C), plane_u = padded(kDepthC * kStrip), plane_m = padded(R * kStrip);
  const int64_t strips = (g.O + kStrip - 1) / kStrip, cvecs = g.C / kLanes;
  const Scratch<float> V(size_t(kXi * plane_v));  // V^T[xi]: R x C, row stride C
#pragma omp parallel
  {
    const Scratch<float> U(size_t(kXi * plane_u)), M(size_t(kXi * plane_m));
#pragma omp for schedule(static) collapse(2)  // its barrier: V^T is whole before any task reads it
    for (int64_t r = 0; r < R; ++r)
      for (int64_t cv = 0; cv < cvecs; ++cv)
        input_tile<Fy, Fx>(g, x, TileAt(r, T, tw), cv * kLanes, V.data() + r * g.C + cv * kLanes, plane_v);

#pragma omp for schedule(dynamic, 1)
    for (int64_t s = 0; s < strips; ++s) {
      const int64_t o0 = s * kStrip, no = std::min(kStrip, g.O - o0);
      for (int64_t c0 = 0; c0 < g.C; c0 += kDepthC) {
        const int64_t nc = std::min(kDepthC, g.C - c0);
        // U^T[xi][c - c0][o - o0] for this block of filters, 16 x 16 at a time
        for (int64_t o = o0; o < o0 + no; o += 16)
          for (int64_t k = c0; k < c0 + nc; k += 16)
            transform_block<Fy, Fx>(g.O, g.C, w, turned, o, std::min<int64_t>(16, o0 + no - o), k,
                                    std::min<int64_t>(16, c0 + nc - k),
                                    {U.data() + (k - c0) * kStrip + (o - o0), plane_u, kStrip, true});
        for (int64_t xi = 0; xi < kXi; ++xi)
          sgemm_strip(R, nc, V.data() + xi * plane_v + c0, g.C, U.data() + xi * plane_u, kStrip,
                      M.data() + xi * plane_m, kStrip, no, nullptr, c0 > 0);
      }
      for (int64_t r = 0; r < R; ++r)
        for (int64_t ov = 0; ov < no; ov += kLanes)
          output_tile<Fy, Fx>(g, M.data() + r * kStrip + ov, plane_m, o0 + ov, e, TileAt(r, T, tw), y);
    }
  }
}

template void winograd_channels<F2, F2>(const ConvGeom&, const float*, const float*, const Epilogue<float>&, float*,
                                        bool);
template void winograd_channels<F4, F4>(const ConvGeom&, const float*, const float*, const Epilogue<float>&, float*,
                                        bool);

}  // namespace gt::cpu::winograd_detail
