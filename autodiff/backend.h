// The one dispatch point between tensors and kernels. Each device implements this interface by
// calling its plain kernel functions (kernels/cpu, later kernels/cuda); ops only ever talk to
// backend(device). Tensors passed in are already checked by the op: same dtype, same device, and
// sizes that fit the parameters.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "autodiff/stream.h"
#include "autodiff/tensor.h"
#include "kernels/params.h"

namespace gt {

// Padding of an (H, W) plane in pixels, per side (asymmetric: TF 'SAME' at stride 2 pads bottom/right more).
struct Pads {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
};

// The kernels of one device. The caller allocates every output and the kernel overwrites it (axpby
// and gemm with beta != 0 read it first; insert_channels writes only its slice).
// The strides that read a (its shape broadcast to y's) for each of y's 4 axes, leading 1s added.
Broadcast4 broadcast_geometry(const Shape& a, const Shape& b, const Shape& y);

class Backend {
 public:
  virtual ~Backend() = default;
  // Uninitialised memory of at least `bytes` (64-byte aligned on the CPU); throws std::bad_alloc.
  virtual void* allocate(size_t bytes) = 0;
  // Zero-filled memory; on the CPU large blocks come as fresh zero pages, untouched until written,
  // so a model's zero-initialised parameters cost no memory before its weights are loaded.
  virtual void* allocate_zeroed(size_t bytes) = 0;
  virtual void deallocate(void* p) = 0;
  // Transfers between the host and this device: host holds numel values of the tensor's dtype.
  virtual void write(const Tensor& dst, const void* host) = 0;
  virtual void read(const Tensor& src, void* host) = 0;  // waits for the work queued before it
  virtual void synchronize() {}  // returns when every kernel queued so far has finished (timing)
  // A new stream for one model's work; nullptr where the device has none (the CPU).
  virtual StreamPtr make_stream() { return nullptr; }
  virtual void fill(const Tensor& y, double v) = 0;
  // No NaN and no Inf in x; waits for the work queued before it (on a GPU only the answer comes back).
  virtual bool all_finite(const Tensor& x) = 0;
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;  // same numel; converts the dtype

  // y = op(x) element-wise. The backward takes the output y, as each derivative is a function of it:
  // dx = dy * op'(y) with relu [y > 0], relu6 [0 < y < 6], sigmoid y (1 - y), tanh 1 - y^2.
  virtual void unary_forward(Unary op, const Tensor& x, const Tensor& y) = 0;
  virtual void unary_backward(Unary op, const Tensor& y, const Tensor& dy, const Tensor& dx) = 0;
  // y = a op b element-wise over equal sizes (add_relu: max(a + b, 0)).
  virtual void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& y) = 0;
  // y = a op b with NumPy broadcasting: y has the broadcast shape of a and b (kernels/params.h).
  virtual void binary_broadcast(Binary op, const Tensor& a, const Tensor& b, const Tensor& y) = 0;
  virtual void axpby(double a, const Tensor& x, double b, const Tensor& y) = 0;   // y = a*x + b*y
  virtual void affine(const Tensor& x, double a, double b, const Tensor& y) = 0;  // y = a*x + b
  // y = min(max(x, lo), hi); clamp_backward: dx = dy where lo <= x <= hi, else 0.
  virtual void clamp_forward(const Tensor& x, double lo, double hi, const Tensor& y) = 0;
  virtual void clamp_backward(const Tensor& x, double lo, double hi, const Tensor& dy, const Tensor& dx) = 0;
  // out = fallback where |x - x_ref| < eps, else a (y - y_ref) / (x - x_ref); an undefined a counts
  // as 1, an undefined y_ref as 0 (DeepLIFT's multipliers).
  virtual void secant(const Tensor& a, const Tensor& y, const Tensor& y_ref, const Tensor& x, const Tensor& x_ref,
                      const Tensor& fallback, double eps, const Tensor& out) = 0;
  virtual void bias_add(const Tensor& x, const Tensor& b, const Tensor& y) = 0;  // x (N, C, ...), b (C)
  // db[c] = sum of dy (N, C, ...) over every axis but the channel axis 1.
  virtual void bias_grad(const Tensor& dy, const Tensor& db) = 0;
  // x viewed as (outer, len, inner): y[o, i] = scale * sum_l x[o, l, i]. broadcast_axis is its
  // backward: dx[o, l, i] = scale * dy[o, i].
  virtual void reduce_axis(const Tensor& x, int64_t outer, int64_t len, int64_t inner, double scale,
                           const Tensor& y) = 0;
  virtual void broadcast_axis(const Tensor& dy, int64_t outer, int64_t len, int64_t inner, double scale,
                              const Tensor& dx) = 0;
  // One optimiser update of p, m (and v) from g, in place (kernels/params.h: OptimStep).
  virtual void optim_step(const OptimStep& s, const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v) = 0;
  // C (M x N) = alpha op(A) op(B) + beta C
  virtual void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const Tensor& A, const Tensor& B,
                    double beta, const Tensor& C) = 0;

  // y = act(scale * conv(x, w) + b + residual) per output channel (kernels/params.h: Epilogue); b,
  // scale and residual (shaped as y) may be undefined (0, 1 and 0).
  virtual void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                              const Tensor& scale = Tensor(), Act act = Act::none,
                              const Tensor& residual = Tensor()) = 0;
  // dz = dy * act'(y) * scale[channel] for y (N, O, ...): back through the epilogue to the conv's sum.
  virtual void conv2d_epilogue_backward(const Tensor& dy, const Tensor& y, const Tensor& scale, Act act,
                                        const Tensor& dz) = 0;
  // Gradients of the convolution's sum (after a scale or activation, dy is conv2d_epilogue_backward's
  // dz): dx from dy and w, dw from x and dy.
  virtual void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, const Tensor& dx) = 0;
  virtual void conv2d_backward_weight(const ConvGeom& g, const Tensor& x, const Tensor& dy, const Tensor& dw) = 0;
  // x (N,C,H,W) -> y (N,C,Ho,Wo), geometry in kernels/params.h: PoolGeom. maxpool_backward routes dy
  // to the first maximum of each window (recomputed from x); avgpool_backward spreads dy / divisor
  // over the window's real pixels.
  virtual void maxpool_forward(const PoolGeom& g, const Tensor& x, const Tensor& y) = 0;
  virtual void maxpool_backward(const PoolGeom& g, const Tensor& x, const Tensor& dy, const Tensor& dx) = 0;
  virtual void avgpool_forward(const PoolGeom& g, const Tensor& x, const Tensor& y) = 0;
  virtual void avgpool_backward(const PoolGeom& g, const Tensor& dy, const Tensor& dx) = 0;

  // x viewed as (N, C, S) with C = mean.numel(); see kernels/cpu/norm.h for the formulas.
  virtual void bn_stats(const Tensor& x, const Tensor& mean, const Tensor& var) = 0;
  virtual void bn_forward(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                          const Tensor& beta, const Tensor& y) = 0;
  virtual void bn_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& invstd,
                           const Tensor& gamma, bool training, const Tensor& dx, const Tensor& dgamma,
                           const Tensor& dbeta) = 0;                             // undefined outputs are skipped
  virtual void softmax_forward(const Tensor& x, bool log, const Tensor& y) = 0;  // rows = dim 0
  // From the output y, per row: softmax dx = y (dy - sum_k dy y); log-softmax dx = dy - exp(y) sum_k dy.
  virtual void softmax_backward(const Tensor& y, const Tensor& dy, bool log, const Tensor& dx) = 0;
  // Returns -1/N sum_n logp[n, labels[n]] for logp (N, K); nll_backward writes dlogp = -dloss/N at
  // each label and 0 elsewhere.
  virtual double nll_forward(const Tensor& logp, const std::vector<int32_t>& labels) = 0;
  virtual void nll_backward(const std::vector<int32_t>& labels, double dloss, const Tensor& dlogp) = 0;

  // x (N, C, H, W) planes
  // y = x with p.top/bottom/left/right rows and columns of `value` around each plane; the backward crops.
  virtual void pad(const Tensor& x, const Pads& p, double value, const Tensor& y) = 0;
  virtual void pad_backward(const Tensor& dy, const Pads& p, const Tensor& dx) = 0;
  // src (N, Cs, ...) is copied into channels [offset, offset + Cs) of dst; extract_channels copies
  // that slice of dst_grad back out into src_grad.
  virtual void insert_channels(const Tensor& src, int64_t offset, const Tensor& dst) = 0;
  virtual void extract_channels(const Tensor& dst_grad, int64_t offset, const Tensor& src_grad) = 0;
  // y (contiguous, g.dims) = x read with the strides g.sa: a permutation of x's axes (ops::transpose).
  virtual void gather_strided(const Tensor& x, const Broadcast4& g, const Tensor& y) = 0;
  // Bilinear with half-pixel centres from x's (H, W) to y's; the backward applies the transposed map.
  virtual void resize_bilinear(const Tensor& x, const Tensor& y) = 0;
  virtual void resize_bilinear_backward(const Tensor& dy, const Tensor& dx) = 0;
};

// The backend of a device. Throws gt::Error for a device that this build does not support, and
// "no CUDA device: ..." where the build has CUDA but the machine has no usable GPU.
Backend& backend(Device d);
Backend& cpu_backend();
Backend& cuda_backend();  // in a build without CUDA: throws

// Helpers for the backends.
// Calls f(float{}) or f(double{}) by t's dtype, and returns what it returns.
template <class F>
auto by_dtype(const Tensor& t, F&& f) {
  if (t.dtype() == DType::f32) return f(float{});
  return f(double{});
}
// (N, C, S) view of a tensor whose dim 1 is the channel axis; (N, C) tensors have S = 1.
struct NCS {
  int64_t N, C, S;
};
inline NCS ncs(const Tensor& x) {
  const Shape& s = x.shape();
  const int64_t N = s[0], C = s.ndim() > 1 ? s[1] : 1;
  return {N, C, s.numel() / std::max<int64_t>(1, N * C)};
}
}  // namespace gt
