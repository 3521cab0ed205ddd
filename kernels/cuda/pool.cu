#include "kernels/cuda/fastdiv.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pool.h"

namespace gt::cuda {
namespace {

// One axis of the geometry: output o's window starts at o*s - pad_before; [lo, hi) is its part
// inside the image, count the length its average divides by (PyTorch: clipped to the padded extent;
// Keras/TF: the real pixels only).
struct Axis {
  int in, out, k, s, pad_before, pad_after;
  FastDiv by_s;
  __device__ int start(int o) const { return o * s - pad_before; }
  __device__ int lo(int o) const { return max(start(o), 0); }
  __device__ int hi(int o) const { return min(start(o) + k, in); }
  __device__ int count(int o, bool include_pad) const {
    return include_pad ? min(start(o) + k, in + pad_after) - start(o) : hi(o) - lo(o);
  }
  // The outputs whose windows hold input i: start(o) <= i < start(o) + k.
  __device__ int first(int i) const {
    const int t = i + pad_before - k + 1;
    return t <= 0 ? 0 : by_s.div(t + s - 1);
  }
  __device__ int last(int i) const { return min(out - 1, by_s.div(i + pad_before)); }
};

struct Geom {
  int planes;
  Axis y, x;
  bool include_pad;
  PlaneSplit<int64_t> inputs, outputs;  // i over (plane, row, column) of x, of y
  explicit Geom(const PoolGeom& g)
      : planes(int(g.N * g.C)),
        y{int(g.H), int(g.Ho), int(g.kh), int(g.sh), int(g.pt), int(g.pb), FastDiv(int(g.sh))},
        x{int(g.W), int(g.Wo), int(g.kw), int(g.sw), int(g.pl), int(g.pr), FastDiv(int(g.sw))},
        include_pad(g.count_include_pad),
        inputs(int(g.H), int(g.W)),
        outputs(int(g.Ho), int(g.Wo)) {}
};

// The row-major index (within the plane) of the first maximum of window (oy, ox), or -1 when the
// window holds no pixel. Strict > keeps the earlier of equal values, as on the CPU.
template <class T>
__device__ int first_max(const Geom& g, const T* xp, int oy, int ox) {
  int at = -1;
  T m = 0;
  for (int iy = g.y.lo(oy); iy < g.y.hi(oy); ++iy)
    for (int ix = g.x.lo(ox); ix < g.x.hi(ox); ++ix) {
      const T v = xp[iy * g.x.in + ix];
      if (at < 0 || v > m) m = v, at = iy * g.x.in + ix;
    }
  return at;
}

}  // namespace

template <class T>
cudaError_t maxpool_forward(const PoolGeom& pg, const T* x, T* y, cudaStream_t s) {
  const Geom g(pg);
  return for_each(int64_t(g.planes) * g.y.out * g.x.out, s, [=] __device__(int64_t i) {
    int oy, ox;
    const T* xp = x + g.outputs.split(i, oy, ox) * g.y.in * g.x.in;
    T m = -INFINITY;
    for (int iy = g.y.lo(oy); iy < g.y.hi(oy); ++iy)
      for (int ix = g.x.lo(ox); ix < g.x.hi(ox); ++ix) {
        const T v = xp[iy * g.x.in + ix];
        m = m < v ? v : m;
      }
    y[i] = m;
  });
}

template <class T>
cudaError_t maxpool_backward(const PoolGeom& pg, const T* x, const T* dy, T* dx, cudaStream_t s) {
  const Geom g(pg);
  return for_each(int64_t(g.planes) * g.y.in * g.x.in, s, [=] __device__(int64_t i) {
    int iy, ix;
    const int64_t plane = g.inputs.split(i, iy, ix);
    const T* xp = x + plane * g.y.in * g.x.in;
    const T* dyp = dy + plane * g.y.out * g.x.out;
    T sum = 0;
    for (int oy = g.y.first(iy); oy <= g.y.last(iy); ++oy)
      for (int ox = g.x.first(ix); ox <= g.x.last(ix); ++ox)
        if (first_max(g, xp, oy, ox) == iy * g.x.in + ix) sum += dyp[oy * g.x.out + ox];
    dx[i] = sum;
  });
}

template <class T>
cudaError_t avgpool_forward(const PoolGeom& pg, const T* x, T* y, cudaStream_t s) {
  const Geom g(pg);
  return for_each(int64_t(g.planes) * g.y.out * g.x.out, s, [=] __device__(int64_t i) {
    int oy, ox;
    const T* xp = x + g.outputs.split(i, oy, ox) * g.y.in * g.x.in;
    T sum = 0;
    for (int iy = g.y.lo(oy); iy < g.y.hi(oy); ++iy)
      for (int ix = g.x.lo(ox); ix < g.x.hi(ox); ++ix) sum += xp[iy * g.x.in + ix];
    const int n = g.y.count(oy, g.include_pad) * g.x.count(ox, g.include_pad);
    y[i] = n > 0 ? sum / T(n) : T(0);
  });
}

// dx[iy, ix] = sum over the windows that hold it of dy / count.
template <class T>
cudaError_t avgpool_backward(const PoolGeom& pg, const T* dy, T* dx, cudaStream_t s) {
  const Geom g(pg);
  return for_each(int64_t(g.planes) * g.y.in * g.x.in, s, [=] __device__(int64_t i) {
    int iy, ix;
    const T* dyp = dy + g.inputs.split(i, iy, ix) * g.y.out * g.x.out;
    T sum = 0;
    for (int oy = g.y.first(iy); oy <= g.y.last(iy); ++oy)
      for (int ox = g.x.first(ix); ox <= g.x.last(ix); ++ox) {
        const int n = g.y.count(oy, g.include_pad) * g.x.count(ox, g.include_pad);
        if (n > 0) sum += dyp[oy * g.x.out + ox] / T(n);
      }
    dx[i] = sum;
  });
}

#define GT_INSTANTIATE(T)                                                                          \
  template cudaError_t maxpool_forward<T>(const PoolGeom&, const T*, T*, cudaStream_t);            \
  template cudaError_t maxpool_backward<T>(const PoolGeom&, const T*, const T*, T*, cudaStream_t); \
  template cudaError_t avgpool_forward<T>(const PoolGeom&, const T*, T*, cudaStream_t);            \
  template cudaError_t avgpool_backward<T>(const PoolGeom&, const T*, T*, cudaStream_t);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cuda
