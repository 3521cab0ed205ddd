#include "kernels/cuda/conv.h"
#include "kernels/cuda/epilogue.cuh"
#include "kernels/cuda/fastdiv.cuh"
#include "kernels/cuda/tiled_gemm.cuh"

namespace gt::cuda {
namespace {

// The geometry as ints for the device (the backend checks that every size fits), with the divisors
// the gathers use prepared for FastDiv.
struct Geom {
  int N, C, H, W, O, kh, kw, sh, sw, dh, dw, pt, pl, Ho, Wo, Cg, Og;
  int HW, P, taps;                  // a plane of x, of y (P output pixels); kh * kw
  int64_t CHW, OP;                  // one image of x, of y
  PlaneSplit<int> inputs, outputs;  // n over (image, row, column) of x's pixels, of y's
  FastDiv fkw, fTaps, fsh, fsw;
  explicit Geom(const ConvGeom& g)
      : N(int(g.N)),
        C(int(g.C)),
        H(int(g.H)),
        W(int(g.W)),
        O(int(g.O)),
        kh(int(g.kh)),
        kw(int(g.kw)),
        sh(int(g.sh)),
        sw(int(g.sw)),
        dh(int(g.dh)),
        dw(int(g.dw)),
        pt(int(g.pt)),
        pl(int(g.pl)),
        Ho(int(g.Ho)),
        Wo(int(g.Wo)),
        Cg(int(g.C / g.groups)),
        Og(int(g.O / g.groups)),
        HW(H * W),
        P(Ho * Wo),
        taps(kh * kw),
        CHW(g.C * g.H * g.W),
        OP(g.O * g.Ho * g.Wo),
        inputs(H, W),
        outputs(Ho, Wo),
        fkw(kw),
        fTaps(taps),
        fsh(sh),
        fsw(sw) {}
  // x[img, c, ih, iw] for output pixel (oh, ow) under tap (i, j), or 0 in the padding.
  template <class T>
  __device__ T input(const T* x, int img, int c, int oh, int ow, int i, int j) const {
    const int ih = oh * sh - pt + i * dh, iw = ow * sw - pl + j * dw;
    if (unsigned(ih) >= unsigned(H) || unsigned(iw) >= unsigned(W)) return T(0);
    return x[((int64_t(img) * C + c) * H + ih) * W + iw];
  }
};

// t / s for a stride s >= 1, or -1 where t < 0 or s does not divide t: in a data gradient, the
// output pixel whose tap lands t rows (columns) after the padded start, if there is one.
__device__ inline int over_stride(const FastDiv& s, int t) {
  const int q = s.div(t);  // meaningless for t < 0, and then not used
  return t >= 0 && q * s.d == t ? q : -1;
}

// f(i, j, oh, ow) for every tap (i, j) under which an output pixel (oh, ow) read input pixel (h, w):
// the terms of that pixel's data gradient, for the kernels that gather it directly.
template <class F>
__device__ void for_each_reader(const Geom& g, int h, int w, F&& f) {
  for (int i = 0; i < g.kh; ++i) {
    const int oh = over_stride(g.fsh, h + g.pt - i * g.dh);
    if (unsigned(oh) >= unsigned(g.Ho)) continue;
    for (int j = 0; j < g.kw; ++j) {
      const int ow = over_stride(g.fsw, w + g.pl - j * g.dw);
      if (unsigned(ow) < unsigned(g.Wo)) f(i, j, oh, ow);
    }
  }
}

// The kernel size, and for the backward pass a unit stride, as compile-time constants where they
// are common (KH, KW > 0; S1: stride 1 both ways): the gathers split a GEMM index k into a channel
// and a tap at every element they fetch, and a division by a constant is a multiply and a shift.
template <int KH, int KW, bool S1>
struct Fixed {
  // k = (c * kh + i) * kw + j  ->  c, i, j
  __device__ static void split(const Geom& g, int k, int& c, int& i, int& j) {
    if constexpr (KH > 0) {
      c = k / (KH * KW), i = (k - c * KH * KW) / KW, j = k - c * KH * KW - i * KW;
    } else {
      c = g.fTaps.div(k);
      const int t = k - c * g.taps;
      i = g.fkw.div(t), j = t - i * g.kw;
    }
  }
  __device__ static int over(const FastDiv& s, int t) { return S1 ? t : over_stride(s, t); }
};

// f(Fixed<...>{}) for g: 1x1 and 3x3 kernels fixed, and with Stride, a unit stride too (a 1x1 data
// gradient always has one here: a strided one is StridedPointwiseData's).
template <bool Stride, class F>
cudaError_t with_fixed(const ConvGeom& g, F&& f) {
  const bool s1 = Stride && g.sh == 1 && g.sw == 1;
  if (g.kh == 1 && g.kw == 1) return f(Fixed<1, 1, Stride>{});
  if (g.kh == 3 && g.kw == 3) return s1 ? f(Fixed<3, 3, Stride>{}) : f(Fixed<3, 3, false>{});
  return f(Fixed<0, 0, false>{});
}

// Where a column of B lies: the start of its image's plane for the group, and the row and column
// there that tap (0, 0) reads (or, backward, that tap (0, 0) was read from).
template <class T>
struct Col {
  const T* plane;
  int h, w;
};

// Forward, per group z:  y[img, o, p] = sum_{c, i, j} w[o, c, i, j] x[img, c, p under (i, j)]
//   M = output channels of the group, N = images x output pixels, K = group channels x taps.
template <class T, class F>
struct ConvForward {
  int M, N, K;
  Geom g;
  const T *x, *w;
  Finish<T> finish;
  T* y;
  __device__ T a(int z, int m, int k) const { return w[int64_t(z * g.Og + m) * K + k]; }
  __device__ Col<T> col(int z, int n) const {
    int oh, ow;
    const int img = g.outputs.split(n, oh, ow);
    return {x + img * g.CHW + int64_t(z) * g.Cg * g.HW, oh * g.sh - g.pt, ow * g.sw - g.pl};
  }
  __device__ T b(const Col<T>& col, int k) const {
    int c, i, j;
    F::split(g, k, c, i, j);
    const int ih = col.h + i * g.dh, iw = col.w + j * g.dw;
    if (unsigned(ih) >= unsigned(g.H) || unsigned(iw) >= unsigned(g.W)) return T(0);
    return col.plane[int64_t(c) * g.HW + ih * g.W + iw];
  }
  __device__ void store(int z, int m, int n, T v) const {
    const int o = z * g.Og + m, img = g.outputs.plane(n);
    y[img * g.OP + int64_t(o) * g.P + n - img * g.P] = finish(o, v);
  }
};

// Backward data, per group z:  dx[img, c, h, w] = sum_{o, i, j} w[o, c, i, j] dy[img, o, oh, ow]
// over the outputs whose tap (i, j) lands on (h, w): oh = (h + pt - i*dh) / sh when that divides.
//   M = group channels, N = images x input pixels, K = group outputs x taps.
template <class T, class F>
struct ConvBackwardData {
  int M, N, K;
  Geom g;
  const T *dy, *w;
  T* dx;
  __device__ T a(int z, int m, int k) const {
    int o, i, j;
    F::split(g, k, o, i, j);
    return w[(int64_t(z * g.Og + o) * g.Cg + m) * g.taps + i * g.kw + j];
  }
  __device__ Col<T> col(int z, int n) const {
    int h, wc;
    const int img = g.inputs.split(n, h, wc);
    return {dy + img * g.OP + int64_t(z) * g.Og * g.P, h + g.pt, wc + g.pl};
  }
  __device__ T b(const Col<T>& col, int k) const {
    int o, i, j;
    F::split(g, k, o, i, j);
    const int oh = F::over(g.fsh, col.h - i * g.dh), ow = F::over(g.fsw, col.w - j * g.dw);
    if (unsigned(oh) >= unsigned(g.Ho) || unsigned(ow) >= unsigned(g.Wo)) return T(0);  // also oh, ow < 0
    return col.plane[int64_t(o) * g.P + oh * g.Wo + ow];
  }
  __device__ void store(int z, int m, int n, T v) const {
    const int img = g.inputs.plane(n);
    dx[img * g.CHW + int64_t(z * g.Cg + m) * g.HW + n - img * g.HW] = v;
  }
};

// Backward data of a 1x1 convolution with a stride (ResNet's downsampling), per group z: the stride
// samples one input pixel in sh*sw, and only those receive a gradient,
//   dx[img, c, oh*sh - pt, ow*sw - pl] = sum_o w[o, c] dy[img, o, oh, ow],   the rest 0 (set before).
// So the product runs over the output pixels, not over the input's.
//   M = group channels, N = images x output pixels, K = group outputs.
template <class T>
struct StridedPointwiseData {
  int M, N, K;
  Geom g;
  const T *dy, *w;
  T* dx;
  __device__ T a(int z, int m, int k) const { return w[int64_t(z * g.Og + k) * g.Cg + m]; }
  __device__ const T* col(int z, int n) const {
    const int img = g.outputs.plane(n);
    return dy + img * g.OP + int64_t(z) * g.Og * g.P + n - img * g.P;
  }
  __device__ T b(const T* col, int k) const { return col[int64_t(k) * g.P]; }
  __device__ void store(int z, int m, int n, T v) const {
    int oh, ow;
    const int img = g.outputs.split(n, oh, ow), h = oh * g.sh - g.pt, wc = ow * g.sw - g.pl;
    if (unsigned(h) < unsigned(g.H) && unsigned(wc) < unsigned(g.W))
      dx[img * g.CHW + int64_t(z * g.Cg + m) * g.HW + h * g.W + wc] = v;
  }
};

// Backward weights, per group z:  dw[o, c, i, j] = sum_{img, p} dy[img, o, p] x[img, c, p under (i, j)]
//   M = group outputs, N = group channels x taps, K = images x output pixels (long: split-K).
template <class T>
struct ConvBackwardWeight {
  int M, N, K;
  Geom g;
  const T *x, *dy;
  T* dw;
  __device__ T a(int z, int m, int k) const {
    const int img = g.outputs.plane(k);
    return dy[img * g.OP + int64_t(z * g.Og + m) * g.P + k - img * g.P];
  }
  // column n = (c, i, j): the channel's plane in image 0, and the offset of tap (i, j)
  __device__ Col<T> col(int z, int n) const {
    const int c = g.fTaps.div(n), t = n - c * g.taps, i = g.fkw.div(t), j = t - i * g.kw;
    return {x + int64_t(z * g.Cg + c) * g.HW, i * g.dh - g.pt, j * g.dw - g.pl};
  }
  __device__ T b(const Col<T>& col, int k) const {
    int oh, ow;
    const int img = g.outputs.split(k, oh, ow), ih = oh * g.sh + col.h, iw = ow * g.sw + col.w;
    if (unsigned(ih) >= unsigned(g.H) || unsigned(iw) >= unsigned(g.W)) return T(0);
    return col.plane[img * g.CHW + ih * g.W + iw];
  }
  __device__ void store(int z, int m, int n, T v) const { dw[int64_t(z * g.Og + m) * N + n] = v; }
};

// The data gradient of a layer with at most 4 input channels: the first layer, on the image, whose
// data gradient is the saliency map. As a GEMM its M is C, and a 128-row tile would be 97% padding
// (ResNet50's 7x7 conv1: 43 times the work). Here one thread per input pixel (h, w) sums
//   dx[img, c, h, w] = sum_{i, j} sum_o w[o, c, i, j] dy[img, o, (h + pt - i*dh) / sh, (w + pl - j*dw) / sw]
// for all C channels at once, so each dy value it loads serves C products. The filters are first
// repacked into the workspace as one aligned group of 4 per (o, tap): one load, the same for the whole warp.
constexpr int kNarrow = 4;
template <class T>
struct alignas(kNarrow * sizeof(T)) Quad {
  T v[kNarrow];
};

template <class T>
bool narrow_applicable(const ConvGeom& cg, size_t ws_bytes) {
  return cg.groups == 1 && cg.C <= kNarrow && size_t(cg.O * cg.kh * cg.kw + 1) * sizeof(Quad<T>) <= ws_bytes;
}

template <class T>
cudaError_t backward_data_narrow(const Geom g, const T* dy, const T* w, T* dx, void* ws, cudaStream_t s) {
  // wq[o * taps + t] = (w[o, 0, t], ..., w[o, C - 1, t], 0, ...), at the workspace's first aligned Quad
  const uintptr_t at = (reinterpret_cast<uintptr_t>(ws) + alignof(Quad<T>) - 1) / alignof(Quad<T>) * alignof(Quad<T>);
  Quad<T>* wq = reinterpret_cast<Quad<T>*>(at);
  if (cudaError_t e = for_each(int64_t(g.O) * g.taps, s,
                               [=] __device__(int64_t idx) {
                                 const int o = int(idx / g.taps), t = int(idx % g.taps);
                                 Quad<T> q;
                                 for (int c = 0; c < kNarrow; ++c)
                                   q.v[c] = c < g.C ? w[(int64_t(o) * g.C + c) * g.taps + t] : T(0);
                                 wq[idx] = q;
                               });
      e != cudaSuccess)
    return e;
  return for_each(int64_t(g.N) * g.HW, s, [=] __device__(int64_t idx) {  // N * HW fits an int (the backend checks)
    int h, wc;
    const int img = g.inputs.split(int(idx), h, wc);
    const T* dyi = dy + img * g.OP;
    T sum[kNarrow] = {};
    for_each_reader(g, h, wc, [&](int i, int j, int oh, int ow) {
      const T* d = dyi + oh * g.Wo + ow;
      const Quad<T>* f = wq + i * g.kw + j;
      for (int o = 0; o < g.O; ++o, d += g.P, f += g.taps) {
        const T v = *d;
        const Quad<T> q = *f;
#pragma unroll
        for (int c = 0; c < kNarrow; ++c) sum[c] = fma(q.v[c], v, sum[c]);
      }
    });
    for (int c = 0; c < g.C; ++c) dx[(int64_t(img) * g.C + c) * g.HW + h * g.W + wc] = sum[c];
  });
}

}  // namespace

template <class T>
cudaError_t conv2d_forward(const ConvGeom& cg, const T* x, const T* w, const Epilogue<T>& e, T* y, void* ws,
                           size_t ws_bytes, cudaStream_t s) {
  const Geom g(cg);
  if (cg.depthwise()) {  // groups == C, O = C * mult: output channel o reads input channel o / mult only
    const Finish<T> finish = device_epilogue(e);
    const PlaneSplit<int64_t> pixels(g.Ho, g.Wo);  // idx = ((img * O + o) * Ho + oh) * Wo + ow
    const FastDiv64 channels(g.O);
    const FastDiv per_input(g.O / g.C);
    return for_each(cg.N * cg.O * cg.Ho * cg.Wo, s, [=] __device__(int64_t idx) {
      int oh, ow;
      const int64_t plane = pixels.split(idx, oh, ow), img = channels.div(plane);
      const int o = int(plane - img * g.O);
      const T *wo = w + int64_t(o) * g.taps, *xc = x + (img * g.C + per_input.div(o)) * g.HW;
      const int h0 = oh * g.sh - g.pt, w0 = ow * g.sw - g.pl;
      T sum = 0;
      for (int i = 0; i < g.kh; ++i) {
        const int ih = h0 + i * g.dh;
        if (unsigned(ih) >= unsigned(g.H)) continue;
        for (int j = 0; j < g.kw; ++j) {
          const int iw = w0 + j * g.dw;
          if (unsigned(iw) < unsigned(g.W)) sum = fma(wo[i * g.kw + j], xc[ih * g.W + iw], sum);
        }
      }
      y[idx] = finish(o, sum);
    });
  }
  return with_fixed<false>(cg, [&](auto f) {
    const ConvForward<T, decltype(f)> op{g.Og, g.N * g.P, g.Cg * g.kh * g.kw, g, x, w, device_epilogue(e), y};
    return tiled_gemm<T>(op, int(cg.groups), ws, ws_bytes, s);
  });
}

template <class T>
cudaError_t conv2d_backward_data(const ConvGeom& cg, const T* dy, const T* w, T* dx, void* ws, size_t ws_bytes,
                                 cudaStream_t s) {
  const Geom g(cg);
  if (cg.depthwise()) {  // dx[img, c, h, w] = sum_{o of c, i, j} w[o, i, j] dy[img, o, oh, ow], gathered
    const PlaneSplit<int64_t> pixels(g.H, g.W);  // idx = ((img * C + c) * H + h) * W + w
    const FastDiv64 channels(g.C);
    return for_each(cg.N * cg.C * cg.H * cg.W, s, [=] __device__(int64_t idx) {
      int h, wc;
      const int64_t plane = pixels.split(idx, h, wc), img = channels.div(plane);
      const int c = int(plane - img * g.C), mult = g.O / g.C;
      T sum = 0;
      for_each_reader(g, h, wc, [&](int i, int j, int oh, int ow) {
        for (int m = 0; m < mult; ++m) {
          const int o = c * mult + m;
          sum = fma(w[int64_t(o) * g.taps + i * g.kw + j], dy[(img * g.O + o) * g.P + oh * g.Wo + ow], sum);
        }
      });
      dx[idx] = sum;
    });
  }
  if (narrow_applicable<T>(cg, ws_bytes)) return backward_data_narrow(g, dy, w, dx, ws, s);
  if (cg.kh == 1 && cg.kw == 1 && (cg.sh > 1 || cg.sw > 1)) {
    if (cudaError_t e = cudaMemsetAsync(dx, 0, size_t(cg.N * cg.C * cg.H * cg.W) * sizeof(T), s); e != cudaSuccess)
      return e;
    const StridedPointwiseData<T> op{g.Cg, g.N * g.P, g.Og, g, dy, w, dx};
    return tiled_gemm<T>(op, int(cg.groups), ws, ws_bytes, s);
  }
  return with_fixed<true>(cg, [&](auto f) {
    const ConvBackwardData<T, decltype(f)> op{g.Cg, g.N * g.HW, g.Og * g.kh * g.kw, g, dy, w, dx};
    return tiled_gemm<T>(op, int(cg.groups), ws, ws_bytes, s);
  });
}

template <class T>
cudaError_t conv2d_backward_weight(const ConvGeom& cg, const T* x, const T* dy, T* dw, void* ws, size_t ws_bytes,
                                   cudaStream_t s) {
  const Geom g(cg);
  if (cg.depthwise()) {  // one block per weight (o, i, j): the sum over images and output pixels
    return reduce_each<T>(
        cg.O * cg.kh * cg.kw, s,
        [=] __device__(int64_t wi, int64_t from, int64_t step) {
          const int o = int(wi / g.taps), t = int(wi % g.taps), i = t / g.kw, j = t % g.kw, mult = g.O / g.C;
          T acc = 0;
          for (int64_t k = from; k < int64_t(g.N) * g.P; k += step) {  // N * P fits an int (the backend checks)
            int oh, ow;
            const int img = g.outputs.split(int(k), oh, ow);
            acc =
                fma(dy[(int64_t(img) * g.O + o) * g.P + oh * g.Wo + ow], g.input(x, img, o / mult, oh, ow, i, j), acc);
          }
          return acc;
        },
        [=] __device__(int64_t wi, T sum) { dw[wi] = sum; });
  }
  const ConvBackwardWeight<T> op{g.Og, g.Cg * g.kh * g.kw, g.N * g.P, g, x, dy, dw};
  return tiled_gemm<T>(op, int(cg.groups), ws, ws_bytes, s);
}

template <class T>
cudaError_t epilogue_backward(const Epilogue<T>& e, int64_t N, int64_t O, int64_t P, const T* dy, const T* y, T* dz,
                              cudaStream_t s) {
  const T* scale = e.scale;
  const Act act = e.act;
  const FastDiv64 planes(P), channels(O);  // i = (img * O + o) * P + p
  return for_each(N * O * P, s, [=] __device__(int64_t i) {
    const T v = y[i];
    const bool pass = act == Act::none || (act == Act::relu ? v > T(0) : v > T(0) && v < T(6));
    if (!pass) {
      dz[i] = T(0);
    } else if (!scale) {
      dz[i] = dy[i];
    } else {
      const int64_t plane = planes.div(i);
      dz[i] = dy[i] * scale[plane - channels.div(plane) * O];
    }
  });
}

#define GT_INSTANTIATE(T)                                                                                             \
  template cudaError_t conv2d_forward<T>(const ConvGeom&, const T*, const T*, const Epilogue<T>&, T*, void*, size_t,  \
                                         cudaStream_t);                                                               \
  template cudaError_t conv2d_backward_data<T>(const ConvGeom&, const T*, const T*, T*, void*, size_t, cudaStream_t); \
  template cudaError_t conv2d_backward_weight<T>(const ConvGeom&, const T*, const T*, T*, void*, size_t,              \
                                                 cudaStream_t);                                                       \
  template cudaError_t epilogue_backward<T>(const Epilogue<T>&, int64_t, int64_t, int64_t, const T*, const T*, T*,    \
                                            cudaStream_t);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cuda
