// The differentiable ops. Each records a node on Tape::current() when a gradient may be needed.
// Shapes are NCHW. Every op checks its inputs and throws gt::Error naming the op, the layer (the
// current NameScope) and the shapes involved.
#pragma once
#include <cstdint>
#include <vector>

#include "autodiff/backend.h"
#include "autodiff/tensor.h"

namespace gt::ops {

// ---- convolution and dense ----
// Per spatial axis: stride and dilation; padding in pixels per side; groups split C and O alike.
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  Pads pad;  // asymmetric: TF 'SAME' at stride 2 pads bottom/right more
  int64_t groups = 1;
};
// TensorFlow's 'SAME' padding for one spatial size: total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0),
// with the odd pixel at the end. Returns {before, after}.
std::pair<int64_t, int64_t> same_padding(int64_t in, int64_t k, int64_t stride, int64_t dilation);
// x (N,C,H,W), w (O,C/g,kh,kw), optional bias b (O), added inside the kernel (one pass over y).
Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dOptions& o = {}, const Tensor& b = Tensor());
// y = act(scale * conv(x, w) + shift) per output channel, one node; w, scale, shift frozen (nn::Model
// fuses conv -> batch norm -> ReLU into it when nothing needs the intermediate outputs). With a
// residual (shaped as y; act none or relu): act(scale * conv(x, w) + shift + residual), a residual
// block's conv -> batch norm -> add -> ReLU, op "conv2d_affine_add".
Tensor conv2d_affine(const Tensor& x, const Tensor& w, const Tensor& scale, const Tensor& shift, Act act,
                     const Conv2dOptions& o = {}, const Tensor& residual = Tensor());
// x (N,I), w (O,I), optional bias b (O) -> (N,O)   (PyTorch layout)
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());
Tensor matmul(const Tensor& a, const Tensor& b);    // (M,K) x (K,N) -> (M,N)
Tensor bias_add(const Tensor& x, const Tensor& b);  // x (N,C,...) + b (C)

// ---- element-wise ----
// a + b, a - b, a * b, a / b with NumPy broadcasting: a: A, b: B -> broadcast_shape(A, B); each
// input's gradient is summed over the axes along which it was repeated. mul: da = dy * b,
// db = dy * a; div: da = dy / b, db = -dy * a / b^2.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add_relu(const Tensor& a, const Tensor& b);  // relu(a + b), one node; same shapes
// The common shape of A and B, aligned at the last axis (each axis equal, or 1 in one of them);
// throws naming `op` when they do not broadcast.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op = "broadcast");
// x repeated along its size-1 (or missing leading) axes to shape s; the gradient is sum_to(dy, x's shape).
Tensor expand(const Tensor& x, const Shape& s);
// x summed over the axes where s is 1 (or missing), down to shape s; the gradient is expand(dy, x's shape).
Tensor sum_to(const Tensor& x, const Shape& s);
// A constant (1,K) row, 1 at `index` and 0 elsewhere, made on device d: the selector [k = c].
Tensor one_hot(int64_t index, int64_t classes, DType t = DType::f32, Device d = Device::cpu);
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
// Element-wise: max(x, 0), min(max(x, 0), 6), 1 / (1 + e^-x), tanh x, 1 / sqrt(x). Each saves only
// its output y and takes the derivative from it (relu: y > 0, sigmoid: y (1 - y), tanh: 1 - y^2,
// rsqrt: -y^3 / 2).
Tensor relu(const Tensor& x);
Tensor relu6(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);   // |x|; dx = dy * sign(x), 0 at 0
Tensor exp(const Tensor& x);   // e^x; dx = dy * y
Tensor step(const Tensor& x);  // [x > 0] (1 or 0); dx = 0
// min(max(x, lo), hi); the gradient passes where lo <= x <= hi (ends included). Throws if lo > hi.
Tensor clamp(const Tensor& x, double lo, double hi);
// fallback where |x - x_ref| < eps, else a (y - y_ref) / (x - x_ref), in one pass; a undefined: 1,
// y_ref undefined: 0. All other tensors of one shape. Not recorded (a backward rule's arithmetic:
// DeepLIFT's multipliers, with the gradient as the fallback where the input does not change).
Tensor secant(const Tensor& a, const Tensor& y, const Tensor& y_ref, const Tensor& x, const Tensor& x_ref,
              const Tensor& fallback, double eps);
// Inverted dropout: y = x * mask / (1-p) with mask ~ Bernoulli(1-p) from `seed`; identity when !training.
Tensor dropout(const Tensor& x, double p, uint64_t seed, bool training);

// ---- softmax and loss (x: (N,K)) ----
// Per row, with the row maximum subtracted for stability: (N,K) -> (N,K).
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
// Mean over the batch of -log softmax(logits)[n, labels[n]] -> shape [1]
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels);

// ---- pooling ----
// Window, stride and padding in pixels; each padding must be smaller than the window.
struct PoolOptions {
  int64_t kernel_h = 2, kernel_w = 2;
  int64_t stride_h = 2, stride_w = 2;
  Pads pad;
  bool count_include_pad = false;  // average only: true = PyTorch's default, false = Keras/TF
};
// (N,C,H,W) -> (N,C,Ho,Wo), Ho = (H + pad.top + pad.bottom - kernel_h) / stride_h + 1. Max: padding
// never wins and dy goes to the first maximum of each window. Average: see count_include_pad.
Tensor max_pool2d(const Tensor& x, const PoolOptions& o);
Tensor avg_pool2d(const Tensor& x, const PoolOptions& o);
Tensor global_avg_pool(const Tensor& x);  // (N,C,H,W) -> (N,C)

// ---- normalisation ----
// y = (x - mean) / sqrt(var + eps) * gamma + beta per channel of x (N,C,...).
// Inference uses running_mean/var. Training uses the batch statistics and updates the running ones:
// r = (1-momentum) r + momentum * batch (unbiased variance, as PyTorch).
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, double eps, bool training, double momentum = 0.1);

// ---- layout ----
Tensor concat_channels(const std::vector<Tensor>& xs);  // along dim 1
// Along any axis: each x viewed as (outer, len_i * inner) is a row block of y (outer, sum len_i * inner),
// so the channel concatenation does it. Shapes must agree off the axis.
Tensor concat(const std::vector<Tensor>& xs, int axis);
// y's axis k is x's axis perm[k] (NumPy's transpose); dx = transpose(dy, perm^-1).
Tensor transpose(const Tensor& x, const std::vector<int>& perm);
Tensor pad(const Tensor& x, const Pads& p, double value = 0.0);  // spatial padding of (N,C,H,W)
// A view of the same storage with a new shape of the same numel; the gradient is reshaped back.
Tensor reshape(const Tensor& x, const Shape& s);
Tensor flatten(const Tensor& x);                                        // (N, ...) -> (N, rest)
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w);  // half-pixel centres
// The same values on device d (x itself when it is there); the gradient travels back to x's device.
Tensor to_device(const Tensor& x, Device d);

// ---- reductions ----
Tensor sum(const Tensor& x);               // -> [1]
Tensor mean(const Tensor& x);              // -> [1]
Tensor sum_dim(const Tensor& x, int dim);  // removes dim
// sum_dim divided by the length of dim.
Tensor mean_dim(const Tensor& x, int dim);

}  // namespace gt::ops
