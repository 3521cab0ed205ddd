#include "kernels/cpu/pool.h"

#include <algorithm>
#include <limits>
#include <vector>

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

// Max and sum over a rectangle are separable: a pass along each row over the column windows, then a
// pass down the columns over the row windows; kh + kw operations per output instead of kh * kw.
template <class T, class Reduce>
void separable_pool(const PoolGeom& g, const T* x, T* y, T init, Reduce red, bool average) {
  const auto ry = ranges(g.Ho, g.kh, g.sh, g.pt, g.pb, g.H, g.count_include_pad);
  const auto rx = ranges(g.Wo, g.kw, g.sw, g.pl, g.pr, g.W, g.count_include_pad);
#pragma omp parallel
  {
    std::vector<T> rows(static_cast<size_t>(g.H * g.Wo));
#pragma omp for schedule(static)
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
      const T* xp = x + nc * g.H * g.W;
      for (int64_t iy = 0; iy < g.H; ++iy)
        for (int64_t ox = 0; ox < g.Wo; ++ox) {
          T a = init;
          for (int64_t ix = rx[ox].lo; ix < rx[ox].hi; ++ix) a = red(a, xp[iy * g.W + ix]);
          rows[iy * g.Wo + ox] = a;
        }
      T* yp = y + nc * g.Ho * g.Wo;
      for (int64_t oy = 0; oy < g.Ho; ++oy) {
        T* yr = yp + oy * g.Wo;
        std::fill(yr, yr + g.Wo, init);
        for (int64_t iy = ry[oy].lo; iy < ry[oy].hi; ++iy)
          for (int64_t ox = 0; ox < g.Wo; ++ox) yr[ox] = red(yr[ox], rows[iy * g.Wo + ox]);
        if (average)
          for (int64_t ox = 0; ox < g.Wo; ++ox) {
            const int64_t n = ry[oy].count * rx[ox].count;
            yr[ox] = n > 0 ? yr[ox] / T(n) : T(0);
          }
      }
    }
  }
}

template <class T>
void maxpool_forward(const PoolGeom& g, const T* x, T* y) {
  separable_pool(g, x, y, -std::numeric_limits<T>::infinity(), [](T a, T b) { return std::max(a, b); }, false);
}

template <class T>
void maxpool_backward(const PoolGeom& g, const T* x, const T* dy, T* dx) {
  // Each output's window is scanned again for its first maximum. The scan is branchless (compares
  // of unrelated values mispredict half the time): 2.5x faster on Inception's pools.
  const auto ry = ranges(g.Ho, g.kh, g.sh, g.pt, g.pb, g.H, false);
  const auto rx = ranges(g.Wo, g.kw, g.sw, g.pl, g.pr, g.W, false);
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
    const T* xp = x + nc * g.H * g.W;
    const T* dyp = dy + nc * g.Ho * g.Wo;
    T* dxp = dx + nc * g.H * g.W;
    std::fill(dxp, dxp + g.H * g.W, T(0));
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const Range &wy = ry[oy], &wx = rx[ox];
        if (wy.lo >= wy.hi || wx.lo >= wx.hi) continue;
        int64_t best = wy.lo * g.W + wx.lo;
        T m = xp[best];
        for (int64_t iy = wy.lo; iy < wy.hi; ++iy)
          for (int64_t ix = wx.lo; ix < wx.hi; ++ix) {
            const int64_t i = iy * g.W + ix;
            const bool more = xp[i] > m;
            m = more ? xp[i] : m;
            best = more ? i : best;
          }
        dxp[best] += dyp[oy * g.Wo + ox];
      }
  }
}

template <class T>
void avgpool_forward(const PoolGeom& g, const T* x, T* y) {
  separable_pool(g, x, y, T(0), [](T a, T b) { return a + b; }, true);
}

template <class T>
void avgpool_backward(const PoolGeom& g, const T* dy, T* dx) {
  // The transpose of the separable forward: d = dy / count, then every input row gathers the output
  // rows whose windows hold it (whole rows at a time), then every input column likewise:
  //   dx[iy, ix] = sum_{oy: iy in win(oy)} sum_{ox: ix in win(ox)} d[oy, ox]
  const auto ry = ranges(g.Ho, g.kh, g.sh, g.pt, g.pb, g.H, g.count_include_pad);
  const auto rx = ranges(g.Wo, g.kw, g.sw, g.pl, g.pr, g.W, g.count_include_pad);
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
      for (int64_t iy = 0; iy < g.H; ++iy)
        for (int64_t ox = 0; ox < g.Wo; ++ox) {
          const T v = rows[iy * g.Wo + ox];
          for (int64_t ix = rx[ox].lo; ix < rx[ox].hi; ++ix) dxp[iy * g.W + ix] += v;
        }
    }
  }
}

#define GT_INSTANTIATE(T)                                                      \
  template void maxpool_forward<T>(const PoolGeom&, const T*, T*);             \
  template void maxpool_backward<T>(const PoolGeom&, const T*, const T*, T*);  \
  template void avgpool_forward<T>(const PoolGeom&, const T*, T*);             \
  template void avgpool_backward<T>(const PoolGeom&, const T*, T*);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cpu
