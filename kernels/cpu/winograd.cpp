// Winograd convolution with the tiles in the vector lanes (the math and the transforms:
// winograd_transforms.h). For small planes with few tiles, winograd_channels.cpp puts the channels
// in the lanes instead.
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

#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/sgemm.h"
#include "kernels/cpu/winograd_transforms.h"

namespace gt::cpu {
namespace {

using namespace winograd_detail;

constexpr int64_t kRowD = kStrip + kLanes;  // lanes of a gathered-tile row: kLanes to spill into

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
      transform_block<Fy, Fx>(rows, cols, w, turned, r0, std::min(kB, rows - r0), k0, std::min(kB, cols - k0),
                              {U + r0 * cols + k0, padded(rows * cols), cols, false, stream});
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
      transform_block<Fy, Fx>(rows, cols, w, turned, r, std::min(kB, r0 + n - r), k0, std::min(kB, cols - k0),
                              {slab + (r - r0) * cols + k0, plane, cols});
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
    kF3x1{"F(2x1,3x1)", winograd<F2, Id>}, kF4x4c{"F(4x4,3x3) channels", winograd_channels<F4, F4>},
    kF2x2c{"F(2x2,3x3) channels", winograd_channels<F2, F2>};

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
  const int64_t tiles4 = (g.Ho + 3) / 4 * ((g.Wo + 3) / 4), tiles2 = (g.Ho + 1) / 2 * ((g.Wo + 1) / 2);
  // Up to 160 tiles in the batch, the channels in the vector lanes and the tiles as the GEMM's rows
  // (winograd_channels.cpp): F(4x4) from 12 tiles of 4x4 an image (14x14 and up), else F(2x2) (7x7).
  // Against the tiles in the lanes, or im2col where too few tiles took no Winograd (forward, ms):
  //   ResNet50's 3x3 layers, batch 1: 28x28 0.64 -> 0.49, 14x14 1.07 -> 0.91, 7x7 1.71-1.85 -> 1.54-1.6;
  //   batch 10: 14x14 7.3 -> 6.0-6.8, 7x7 11.2 -> 8.5 (28x28, 490 tiles: 5.3 -> 8.4, so not there);
  //   VGG16's 512-channel 28x28 layers, batch 1: 12.6 -> 7.1 ms.
  // At 256 tiles (14x14, batch 16) the tiles in the lanes are ahead again.
  constexpr int64_t kMaxRows = 160;
  if (channels_in_lanes_fit(g)) {
    if (tiles4 >= 12 && g.N * tiles4 <= kMaxRows) return &kF4x4c;
    if (tiles4 < 12 && g.N * tiles2 <= kMaxRows) return &kF2x2c;
  }
  // F(4x4) from 40 tiles of 4x4 in one image (28x28 outputs and up: VGG16's and ResNet50's 3x3
  // layers there 15-30% faster than with F(2x2)), while its U stays within the 32 MB that glibc
  // serves from the heap: a larger block is mapped fresh on every call, and its page faults cost
  // more than F(4x4) saves (VGG16's 512 x 512 layers at 28x28: 11-15 -> 23 ms). Else F(2x2).
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
