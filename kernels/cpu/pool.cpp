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

}  // namespace

template <class T>
void maxpool_forward(const PoolGeom& g, const T* x, T* y) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
    const T* xp = x + nc * g.H * g.W;
    T* yp = y + nc * g.Ho * g.Wo;
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const Window w = window(g, oy, ox);
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t iy = w.y0; iy < w.y1; ++iy)
          for (int64_t ix = w.x0; ix < w.x1; ++ix) m = std::max(m, xp[iy * g.W + ix]);
        yp[oy * g.Wo + ox] = m;
      }
  }
}

template <class T>
void maxpool_backward(const PoolGeom& g, const T* x, const T* dy, T* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
    const T* xp = x + nc * g.H * g.W;
    const T* dyp = dy + nc * g.Ho * g.Wo;
    T* dxp = dx + nc * g.H * g.W;
    std::fill(dxp, dxp + g.H * g.W, T(0));
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const Window w = window(g, oy, ox);
        int64_t best = -1;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t iy = w.y0; iy < w.y1; ++iy)
          for (int64_t ix = w.x0; ix < w.x1; ++ix)
            if (best < 0 || xp[iy * g.W + ix] > m) {
              m = xp[iy * g.W + ix];
              best = iy * g.W + ix;
            }
        if (best >= 0) dxp[best] += dyp[oy * g.Wo + ox];
      }
  }
}

template <class T>
void avgpool_forward(const PoolGeom& g, const T* x, T* y) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
    const T* xp = x + nc * g.H * g.W;
    T* yp = y + nc * g.Ho * g.Wo;
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const Window w = window(g, oy, ox);
        T s = 0;
        for (int64_t iy = w.y0; iy < w.y1; ++iy)
          for (int64_t ix = w.x0; ix < w.x1; ++ix) s += xp[iy * g.W + ix];
        yp[oy * g.Wo + ox] = w.divisor > 0 ? s / T(w.divisor) : T(0);
      }
  }
}

template <class T>
void avgpool_backward(const PoolGeom& g, const T* dy, T* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
    const T* dyp = dy + nc * g.Ho * g.Wo;
    T* dxp = dx + nc * g.H * g.W;
    std::fill(dxp, dxp + g.H * g.W, T(0));
    for (int64_t oy = 0; oy < g.Ho; ++oy)
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const Window w = window(g, oy, ox);
        if (w.divisor == 0) continue;
        const T d = dyp[oy * g.Wo + ox] / T(w.divisor);
        for (int64_t iy = w.y0; iy < w.y1; ++iy)
          for (int64_t ix = w.x0; ix < w.x1; ++ix) dxp[iy * g.W + ix] += d;
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
