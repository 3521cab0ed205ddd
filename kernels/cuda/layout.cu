#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/layout.h"

namespace gt::cuda {

template <class T>
cudaError_t pad(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr, T value,
                const T* x, T* y, cudaStream_t s) {
  const int64_t Hp = H + pt + pb, Wp = W + pl + pr;
  return for_each(planes * Hp * Wp, s, [=] __device__(int64_t i) {
    const int64_t c = i % Wp - pl, r = i / Wp % Hp - pt, p = i / (Wp * Hp);
    y[i] = r >= 0 && r < H && c >= 0 && c < W ? x[(p * H + r) * W + c] : value;
  });
}

template <class T>
cudaError_t pad_backward(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr,
                         const T* dy, T* dx, cudaStream_t s) {
  const int64_t Hp = H + pt + pb, Wp = W + pl + pr;
  return for_each(planes * H * W, s, [=] __device__(int64_t i) {
    const int64_t c = i % W, r = i / W % H, p = i / (W * H);
    dx[i] = dy[(p * Hp + r + pt) * Wp + c + pl];
  });
}

template <class T>
cudaError_t insert_channels(int64_t N, int64_t Cs, int64_t S, const T* src, int64_t Cd, int64_t off, T* dst,
                            cudaStream_t s) {
  return for_each(N * Cs * S, s,
                  [=] __device__(int64_t i) { dst[(i / (Cs * S) * Cd + off) * S + i % (Cs * S)] = src[i]; });
}

template <class T>
cudaError_t extract_channels(int64_t N, int64_t Cs, int64_t S, const T* dst_grad, int64_t Cd, int64_t off, T* src_grad,
                             cudaStream_t s) {
  return for_each(N * Cs * S, s,
                  [=] __device__(int64_t i) { src_grad[i] = dst_grad[(i / (Cs * S) * Cd + off) * S + i % (Cs * S)]; });
}

template <class T>
cudaError_t gather_strided(const Broadcast4& g, const T* x, T* y, cudaStream_t s) {
  return for_each(g.dims[0] * g.dims[1] * g.dims[2] * g.dims[3], s, [=] __device__(int64_t i) {
    int64_t r = i, ix = 0;
    for (int d = 3; d >= 0; --d) {  // i's coordinates, last axis first
      ix += r % g.dims[d] * g.sa[d];
      r /= g.dims[d];
    }
    y[i] = x[ix];
  });
}

namespace {
// Output o of an axis of `out` reads inputs i0 and i1 with weights 1 - w1 and w1 (in double, as on the CPU).
struct Lerp {
  int64_t i0, i1;
  double w1;
};
__device__ Lerp lerp(int64_t o, int64_t in, int64_t out) {
  const double src = fmax(0.0, (double(o) + 0.5) * double(in) / double(out) - 0.5);
  const int64_t i0 = min(int64_t(src), in - 1);
  return {i0, min(i0 + 1, in - 1), src - double(i0)};
}
// The weight with which output o reads input i (0, or the sum of both taps when they coincide).
__device__ double weight(const Lerp& l, int64_t i) { return (l.i0 == i ? 1 - l.w1 : 0.0) + (l.i1 == i ? l.w1 : 0.0); }
// The outputs that may read input i: src(o) lies in [i - 1, i + 1), widened by one on each side.
__device__ void readers(int64_t i, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
  const double scale = double(in) / double(out);
  lo = max(int64_t(0), int64_t(floor((double(i) - 0.5) / scale - 0.5)) - 1);
  hi = min(out, int64_t(ceil((double(i) + 1.5) / scale - 0.5)) + 1);
  if (i <= 1) lo = 0;  // src is clamped at 0: the first outputs all read input 0 (and 1)
}
}  // namespace

template <class T>
cudaError_t resize_bilinear(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* x, T* y,
                            cudaStream_t s) {
  return for_each(planes * Ho * Wo, s, [=] __device__(int64_t i) {
    const Lerp a = lerp(i / Wo % Ho, H, Ho), b = lerp(i % Wo, W, Wo);
    const T* xp = x + i / (Wo * Ho) * H * W;
    const double top = (1 - b.w1) * xp[a.i0 * W + b.i0] + b.w1 * xp[a.i0 * W + b.i1];
    const double bot = (1 - b.w1) * xp[a.i1 * W + b.i0] + b.w1 * xp[a.i1 * W + b.i1];
    y[i] = T((1 - a.w1) * top + a.w1 * bot);
  });
}

// dx[h, w] = sum_{oy, ox} wy(oy, h) wx(ox, w) dy[oy, ox], gathered over the outputs that read (h, w).
template <class T>
cudaError_t resize_bilinear_backward(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* dy, T* dx,
                                     cudaStream_t s) {
  return for_each(planes * H * W, s, [=] __device__(int64_t i) {
    const int64_t h = i / W % H, w = i % W;
    const T* dyp = dy + i / (W * H) * Ho * Wo;
    int64_t y0, y1, x0, x1;
    readers(h, H, Ho, y0, y1);
    readers(w, W, Wo, x0, x1);
    double sum = 0;
    for (int64_t oy = y0; oy < y1; ++oy) {
      const double wy = weight(lerp(oy, H, Ho), h);
      if (wy == 0) continue;
      for (int64_t ox = x0; ox < x1; ++ox) {
        const double wx = weight(lerp(ox, W, Wo), w);
        if (wx != 0) sum += double(dyp[oy * Wo + ox]) * wy * wx;
      }
    }
    dx[i] = T(sum);
  });
}

#define GT_INSTANTIATE(T)                                                                                            \
  template cudaError_t pad<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, T, const T*, T*,        \
                              cudaStream_t);                                                                         \
  template cudaError_t pad_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*,  \
                                       cudaStream_t);                                                                \
  template cudaError_t insert_channels<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t, T*, cudaStream_t);  \
  template cudaError_t gather_strided<T>(const Broadcast4&, const T*, T*, cudaStream_t);                             \
  template cudaError_t extract_channels<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t, T*, cudaStream_t); \
  template cudaError_t resize_bilinear<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*, cudaStream_t);  \
  template cudaError_t resize_bilinear_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*,        \
                                                   cudaStream_t);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cuda
