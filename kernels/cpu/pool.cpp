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

// Calls f(plane, out_index, row range, column range) for every output of every (n, c) plane, planes
// in parallel. The ranges are computed once per call, not per output.
template <class F>
void for_each_window(const PoolGeom& g, F&& f) {
  const auto ry = ranges(g.Ho, g.kh, g.sh, g.pt, g.pb, g.H, g.count_include_pad);
  const auto rx = ranges(g.Wo, g.kw, g.sw, g.pl, g.pr, g.W, g.count_include_pad);
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) f(nc, oy * g.Wo + ox, ry[oy], rx[ox]);
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
  std::fill(dx, dx + g.N * g.C * g.H * g.W, T(0));
  for_each_window(g, [&](int64_t nc, int64_t o, const Range& wy, const Range& wx) {
    const T* xp = x + nc * g.H * g.W;
    int64_t best = -1;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t iy = wy.lo; iy < wy.hi; ++iy)
      for (int64_t ix = wx.lo; ix < wx.hi; ++ix)
        if (best < 0 || xp[iy * g.W + ix] > m) {
          m = xp[iy * g.W + ix];
          best = iy * g.W + ix;
        }
    if (best >= 0) dx[nc * g.H * g.W + best] += dy[nc * g.Ho * g.Wo + o];
  });
}

template <class T>
void avgpool_forward(const PoolGeom& g, const T* x, T* y) {
  separable_pool(g, x, y, T(0), [](T a, T b) { return a + b; }, true);
}

template <class T>
void avgpool_backward(const PoolGeom& g, const T* dy, T* dx) {
  std::fill(dx, dx + g.N * g.C * g.H * g.W, T(0));
  for_each_window(g, [&](int64_t nc, int64_t o, const Range& wy, const Range& wx) {
    if (wy.count * wx.count == 0) return;
    T* dxp = dx + nc * g.H * g.W;
    const T d = dy[nc * g.Ho * g.Wo + o] / T(wy.count * wx.count);
    for (int64_t iy = wy.lo; iy < wy.hi; ++iy)
      for (int64_t ix = wx.lo; ix < wx.hi; ++ix) dxp[iy * g.W + ix] += d;
  });
}

#define GT_INSTANTIATE(T)                                                      \
  template void maxpool_forward<T>(const PoolGeom&, const T*, T*);             \
  template void maxpool_backward<T>(const PoolGeom&, const T*, const T*, T*);  \
  template void avgpool_forward<T>(const PoolGeom&, const T*, T*);             \
  template void avgpool_backward<T>(const PoolGeom&, const T*, T*);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cpu
