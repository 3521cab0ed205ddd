#include "kernels/cpu/pool.h"

#include <algorithm>
#include <limits>

namespace gt::cpu {
namespace {

// The window of output (oy, ox), clipped to the image: rows [y0, y1), columns [x0, x1).
struct Window {
  int64_t y0, y1, x0, x1, divisor;
};

inline Window window(const PoolGeom& g, int64_t oy, int64_t ox) {
  const int64_t ys = oy * g.sh - g.pt, xs = ox * g.sw - g.pl;
  Window w{std::max<int64_t>(ys, 0), std::min(ys + g.kh, g.H), std::max<int64_t>(xs, 0), std::min(xs + g.kw, g.W), 0};
  if (g.count_include_pad) {
    // PyTorch: the window clipped to the padded extent, so padding counts but overhang does not.
    const int64_t py = std::min(ys + g.kh, g.H + g.pb) - ys, px = std::min(xs + g.kw, g.W + g.pr) - xs;
    w.divisor = py * px;
  } else {
    w.divisor = (w.y1 - w.y0) * (w.x1 - w.x0);
  }
  return w;
}

// Calls f(plane, out_index, window) for every output of every (n, c) plane, planes in parallel.
template <class F>
void for_each_window(const PoolGeom& g, F&& f) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) f(nc, oy * g.Wo + ox, window(g, oy, ox));
}

}  // namespace

template <class T>
void maxpool_forward(const PoolGeom& g, const T* x, T* y) {
  for_each_window(g, [&](int64_t nc, int64_t o, const Window& w) {
    const T* xp = x + nc * g.H * g.W;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t iy = w.y0; iy < w.y1; ++iy)
      for (int64_t ix = w.x0; ix < w.x1; ++ix) m = std::max(m, xp[iy * g.W + ix]);
    y[nc * g.Ho * g.Wo + o] = m;
  });
}

template <class T>
void maxpool_backward(const PoolGeom& g, const T* x, const T* dy, T* dx) {
  std::fill(dx, dx + g.N * g.C * g.H * g.W, T(0));
  for_each_window(g, [&](int64_t nc, int64_t o, const Window& w) {
    const T* xp = x + nc * g.H * g.W;
    int64_t best = -1;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t iy = w.y0; iy < w.y1; ++iy)
      for (int64_t ix = w.x0; ix < w.x1; ++ix)
        if (best < 0 || xp[iy * g.W + ix] > m) {
          m = xp[iy * g.W + ix];
          best = iy * g.W + ix;
        }
    if (best >= 0) dx[nc * g.H * g.W + best] += dy[nc * g.Ho * g.Wo + o];
  });
}

template <class T>
void avgpool_forward(const PoolGeom& g, const T* x, T* y) {
  for_each_window(g, [&](int64_t nc, int64_t o, const Window& w) {
    const T* xp = x + nc * g.H * g.W;
    T s = 0;
    for (int64_t iy = w.y0; iy < w.y1; ++iy)
      for (int64_t ix = w.x0; ix < w.x1; ++ix) s += xp[iy * g.W + ix];
    y[nc * g.Ho * g.Wo + o] = w.divisor > 0 ? s / T(w.divisor) : T(0);
  });
}

template <class T>
void avgpool_backward(const PoolGeom& g, const T* dy, T* dx) {
  std::fill(dx, dx + g.N * g.C * g.H * g.W, T(0));
  for_each_window(g, [&](int64_t nc, int64_t o, const Window& w) {
    if (w.divisor == 0) return;
    T* dxp = dx + nc * g.H * g.W;
    const T d = dy[nc * g.Ho * g.Wo + o] / T(w.divisor);
    for (int64_t iy = w.y0; iy < w.y1; ++iy)
      for (int64_t ix = w.x0; ix < w.x1; ++ix) dxp[iy * g.W + ix] += d;
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
