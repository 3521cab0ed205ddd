#include "kernels/cpu/pool.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/cpu/gather.h"

namespace gt::cpu {
namespace {

// The window of each output row (and column), clipped to the image: [lo, hi), and its length counted
// for the average's divisor: clipped to the image (Keras/TF) or to the padded extent (PyTorch).
struct Range {
  int64_t lo, hi, count;
};
std::vector<Range> ranges(int64_t out, int64_t k, int64_t s, int64_t pad_before, int64_t pad_after, int64_t in,
                          bool include_pad) {
  std::vector<Range> r(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * s - pad_before;
    const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + k, in);
    r[o] = {lo, hi, include_pad ? std::min(start + k, in + pad_after) - start : hi - lo};
  }
  return r;
}

}  // namespace

// Loops here run along a row of outputs for one window tap at a time, so that every output of the
// row is an independent lane: the compiler vectorises them (a loop over one output's window is a
// serial chain of compares or additions). Tap j of the window over columns reads input column
// ox * sw - pl + j, which exists for the outputs ox in taps[j] = [lo, hi).
struct Span {
  int64_t lo, hi;
};
std::vector<Span> tap_spans(int64_t out, int64_t k, int64_t s, int64_t pad_before, int64_t in) {
  std::vector<Span> t(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) valid_range(j - pad_before, s, in, out, t[j].lo, t[j].hi);
  return t;
}

// Max and sum over a rectangle are separable: a pass along each row over the column windows, then a
// pass down the columns over the row windows; kh + kw operations per output instead of kh * kw.
template <class T, class Reduce>
void separable_pool(const PoolGeom& g, const T* x, T* y, T init, Reduce red, bool average) {
  const auto ry = ranges(g.Ho, g.kh, g.sh, g.pt, g.pb, g.H, g.count_include_pad);
  const auto rx = ranges(g.Wo, g.kw, g.sw, g.pl, g.pr, g.W, g.count_include_pad);
  const auto taps = tap_spans(g.Wo, g.kw, g.sw, g.pl, g.W);
#pragma omp parallel
  {
    std::vector<T> rows(static_cast<size_t>(g.H * g.Wo));
#pragma omp for schedule(static)
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
      const T* xp = x + nc * g.H * g.W;
      for (int64_t iy = 0; iy < g.H; ++iy) {
        T* r = rows.data() + iy * g.Wo;
        std::fill(r, r + g.Wo, init);
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t base = iy * g.W - g.pl + j;  // input index of tap j of output 0
#pragma omp simd
          for (int64_t ox = taps[j].lo; ox < taps[j].hi; ++ox) r[ox] = red(r[ox], xp[base + ox * g.sw]);
        }
      }
      T* yp = y + nc * g.Ho * g.Wo;
      for (int64_t oy = 0; oy < g.Ho; ++oy) {
        T* yr = yp + oy * g.Wo;
        std::fill(yr, yr + g.Wo, init);
        for (int64_t iy = ry[oy].lo; iy < ry[oy].hi; ++iy) {
          const T* r = rows.data() + iy * g.Wo;
#pragma omp simd
          for (int64_t ox = 0; ox < g.Wo; ++ox) yr[ox] = red(yr[ox], r[ox]);
        }
        if (average)
          for (int64_t ox = 0; ox < g.Wo; ++ox) {
            const int64_t n = ry[oy].count * rx[ox].count;
            yr[ox] = n > 0 ? yr[ox] / T(n) : T(0);
          }
      }
    }
  }
}

static bool is_2x2_tiling(const PoolGeom& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0;
}

// 2x2/2 windows tile the image: each output is the max of two adjacent pairs, read with constant strides.
template <class T>
void maxpool2x2_forward(const PoolGeom& g, const T* x, T* y) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
    const T* xp = x + nc * g.H * g.W;
    T* yp = y + nc * g.Ho * g.Wo;
    for (int64_t oy = 0; oy < g.Ho; ++oy) {
      const T *a = xp + 2 * oy * g.W, *b = a + g.W;
      T* yr = yp + oy * g.Wo;
#pragma omp simd
      for (int64_t ox = 0; ox < g.Wo; ++ox)
        yr[ox] = std::max(std::max(a[2 * ox], a[2 * ox + 1]), std::max(b[2 * ox], b[2 * ox + 1]));
    }
  }
}

template <class T>
void maxpool_forward(const PoolGeom& g, const T* x, T* y) {
  if (is_2x2_tiling(g)) return maxpool2x2_forward(g, x, y);
  separable_pool(
      g, x, y, -std::numeric_limits<T>::infinity(), [](T a, T b) { return std::max(a, b); }, false);
}

// VGG's 2x2/2 pools: the windows tile the image, so every input is written once, with dy where it is
// its window's first maximum and 0 elsewhere; no zero fill, no scatter, and constant strides that
// vectorise. Rows and columns past the last window (odd sizes) get 0.
template <class T>
void maxpool2x2_backward(const PoolGeom& g, const T* x, const T* dy, T* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
    const T* xp = x + nc * g.H * g.W;
    const T* dyp = dy + nc * g.Ho * g.Wo;
    T* dxp = dx + nc * g.H * g.W;
    for (int64_t oy = 0; oy < g.Ho; ++oy) {
      const T *a = xp + 2 * oy * g.W, *b = a + g.W, *d = dyp + oy * g.Wo;
      T *da = dxp + 2 * oy * g.W, *db = da + g.W;
#pragma omp simd
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const T v0 = a[2 * ox], v1 = a[2 * ox + 1], v2 = b[2 * ox], v3 = b[2 * ox + 1];
        // the first maximum in row-major order: strict > keeps the earlier of equal values
        const T m01 = v1 > v0 ? v1 : v0, m23 = v3 > v2 ? v3 : v2;
        const bool right = m23 > m01;  // the maximum is in the second row
        const bool pick1 = v1 > v0, pick3 = v3 > v2;
        const T top = right ? T(0) : d[ox], bottom = right ? d[ox] : T(0);  // no && (a branch each)
        da[2 * ox] = pick1 ? T(0) : top;
        da[2 * ox + 1] = pick1 ? top : T(0);
        db[2 * ox] = pick3 ? T(0) : bottom;
        db[2 * ox + 1] = pick3 ? bottom : T(0);
      }
      std::fill(da + 2 * g.Wo, da + g.W, T(0));
      std::fill(db + 2 * g.Wo, db + g.W, T(0));
    }
    std::fill(dxp + 2 * g.Ho * g.W, dxp + g.H * g.W, T(0));
  }
}

template <class T>
void maxpool_backward(const PoolGeom& g, const T* x, const T* dy, T* dx) {
  if (is_2x2_tiling(g)) return maxpool2x2_backward(g, x, dy, dx);
  // dy goes to the first maximum of each window (recomputed from x). Taps are visited in the
  // window's row-major order; every output of a row keeps its running maximum m and where it was.
  const auto taps = tap_spans(g.Wo, g.kw, g.sw, g.pl, g.W);
#pragma omp parallel
  {
    std::vector<T> m(static_cast<size_t>(g.Wo));
    std::vector<int64_t> at(static_cast<size_t>(g.Wo));
#pragma omp for schedule(static)
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
      const T* xp = x + nc * g.H * g.W;
      const T* dyp = dy + nc * g.Ho * g.Wo;
      T* dxp = dx + nc * g.H * g.W;
      std::fill(dxp, dxp + g.H * g.W, T(0));
      for (int64_t oy = 0; oy < g.Ho; ++oy) {
        std::fill(at.begin(), at.end(), int64_t(-1));  // -1: no tap seen yet (the first one always wins)
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t iy = oy * g.sh - g.pt + i;
          if (iy < 0 || iy >= g.H) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t base = iy * g.W - g.pl + j;  // input index of tap (i, j) of output 0
#pragma omp simd
            for (int64_t ox = taps[j].lo; ox < taps[j].hi; ++ox) {
              const int64_t idx = base + ox * g.sw;
              const bool more = at[ox] < 0 || xp[idx] > m[ox];
              m[ox] = more ? xp[idx] : m[ox];
              at[ox] = more ? idx : at[ox];
            }
          }
        }
        for (int64_t ox = 0; ox < g.Wo; ++ox)
          if (at[ox] >= 0) dxp[at[ox]] += dyp[oy * g.Wo + ox];
      }
    }
  }
}

template <class T>
void avgpool_forward(const PoolGeom& g, const T* x, T* y) {
  separable_pool(
      g, x, y, T(0), [](T a, T b) { return a + b; }, true);
}

template <class T>
void avgpool_backward(const PoolGeom& g, const T* dy, T* dx) {
  // The transpose of the separable forward: d = dy / count, then every input row gathers the output
  // rows whose windows hold it (whole rows at a time), then every input column likewise, tap by tap:
  //   dx[iy, ix] = sum_{oy: iy in win(oy)} sum_{ox: ix in win(ox)} d[oy, ox]
  const auto ry = ranges(g.Ho, g.kh, g.sh, g.pt, g.pb, g.H, g.count_include_pad);
  const auto rx = ranges(g.Wo, g.kw, g.sw, g.pl, g.pr, g.W, g.count_include_pad);
  const auto taps = tap_spans(g.Wo, g.kw, g.sw, g.pl, g.W);
#pragma omp parallel
  {
    std::vector<T> d(static_cast<size_t>(g.Ho * g.Wo)), rows(static_cast<size_t>(g.H * g.Wo));
#pragma omp for schedule(static)
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
      const T* dyp = dy + nc * g.Ho * g.Wo;
      for (int64_t oy = 0; oy < g.Ho; ++oy)
        for (int64_t ox = 0; ox < g.Wo; ++ox) {
          const int64_t n = ry[oy].count * rx[ox].count;
          d[oy * g.Wo + ox] = n > 0 ? dyp[oy * g.Wo + ox] / T(n) : T(0);
        }
      std::fill(rows.begin(), rows.end(), T(0));
      for (int64_t oy = 0; oy < g.Ho; ++oy)
        for (int64_t iy = ry[oy].lo; iy < ry[oy].hi; ++iy) {
          T* r = rows.data() + iy * g.Wo;
          const T* s = d.data() + oy * g.Wo;
#pragma omp simd
          for (int64_t ox = 0; ox < g.Wo; ++ox) r[ox] += s[ox];
        }
      T* dxp = dx + nc * g.H * g.W;
      std::fill(dxp, dxp + g.H * g.W, T(0));
      for (int64_t iy = 0; iy < g.H; ++iy) {
        const T* r = rows.data() + iy * g.Wo;
        for (int64_t j = 0; j < g.kw; ++j) {
          // Within one tap, distinct outputs reach distinct columns: no two lanes add to one place.
          const int64_t base = iy * g.W - g.pl + j;
#pragma omp simd
          for (int64_t ox = taps[j].lo; ox < taps[j].hi; ++ox) dxp[base + ox * g.sw] += r[ox];
        }
      }
    }
  }
}

#define GT_INSTANTIATE(T)                                                     \
  template void maxpool_forward<T>(const PoolGeom&, const T*, T*);            \
  template void maxpool_backward<T>(const PoolGeom&, const T*, const T*, T*); \
  template void avgpool_forward<T>(const PoolGeom&, const T*, T*);            \
  template void avgpool_backward<T>(const PoolGeom&, const T*, T*);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cpu
