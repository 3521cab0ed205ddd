// Parameters of the kernels, shared by the CPU and CUDA backends. Plain data, no logic beyond sizes.
#pragma once
#include <cstdint>

namespace gt {

// conv2d: x (N,C,H,W), w (O, C/groups, kh, kw) -> y (N,O,Ho,Wo).
// Padding is asymmetric (top, bottom, left, right) because TensorFlow's 'SAME' at stride 2 pads
// more at the bottom/right than at the top/left.
struct ConvGeom {
  int64_t N = 1, C = 1, H = 1, W = 1;
  int64_t O = 1, kh = 1, kw = 1;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;
  int64_t groups = 1;
  int64_t Ho = 1, Wo = 1;
  void finish() {  // derives the output size
    Ho = (H + pt + pb - dh * (kh - 1) - 1) / sh + 1;
    Wo = (W + pl + pr - dw * (kw - 1) - 1) / sw + 1;
  }
  bool depthwise() const { return groups > 1 && groups == C && O % C == 0; }
  double flops() const { return 2.0 * N * O * Ho * Wo * (C / groups) * kh * kw; }
};

// What a convolution does to each output channel o before it stores it:
//   y = act(scale[o] * sum_k w[o, k] x_k + bias[o] + residual)   (scale, bias, residual may be null)
// A frozen batch norm after the conv folds into scale = gamma / sqrt(var + eps) and
// bias = beta - mean * scale (+ the conv's own bias * scale), so conv -> BN -> ReLU is one pass.
// residual, laid out as y, is a residual block's shortcut: conv -> BN -> add -> ReLU in one pass.
enum class Act { none, relu, relu6 };
template <class T>
struct Epilogue {
  Epilogue(const T* b = nullptr, const T* s = nullptr, Act a = Act::none, const T* r = nullptr)
      : bias(b), scale(s), act(a), residual(r) {}
  const T* bias;
  const T* scale;
  Act act;
  const T* residual;
  bool only_bias() const { return !scale && act == Act::none && !residual; }
  // Channels from o on (a group of a grouped conv). The residual is passed on as it is: it goes
  // with one group only (conv2d_forward adds it after a grouped conv).
  Epilogue from(int64_t o) const {
    return {bias ? bias + o : nullptr, scale ? scale + o : nullptr, act, o == 0 ? residual : nullptr};
  }
  // Without a scale the bias starts the accumulator (kernels that accumulate in place), and the rest
  // is applied after: a fused conv -> ReLU then gives the same bits as the conv and the ReLU apart.
  const T* initial_bias() const { return scale ? nullptr : bias; }
  Epilogue after_initial_bias() const { return {scale ? bias : nullptr, scale, act, residual}; }
};

// Pooling: x (N,C,H,W) -> y (N,C,Ho,Wo). Padded positions never win a max. For the average,
// count_include_pad chooses PyTorch's divisor (window clipped to the padded extent) or
// Keras/TF's (only the real pixels under the window).
struct PoolGeom {
  int64_t N = 1, C = 1, H = 1, W = 1;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1;
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;
  int64_t Ho = 1, Wo = 1;
  bool count_include_pad = false;
  void finish() {
    Ho = (H + pt + pb - kh) / sh + 1;
    Wo = (W + pl + pr - kw) / sw + 1;
  }
};

// One optimiser update (nn/optim.h), element by element, computed in double:
//   sgd:  d = g + wd p,  m = momentum m + d,  p -= lr m
//   adam: d = g + wd p,  m = b1 m + (1 - b1) d,  v = b2 v + (1 - b2) d^2,  p -= lr (m / c1) / (sqrt(v / c2) + eps)
//         with the bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t at step t
struct OptimStep {
  bool adam = false;
  double lr = 0.01, momentum = 0, weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, c1 = 1, c2 = 1;
};

// y (4-D, dims) = a op b with NumPy broadcasting: a and b are read with their own strides, 0 along
// the axes they are repeated on (shapes padded with leading 1s to 4 axes).
struct Broadcast4 {
  int64_t dims[4];
  int64_t sa[4], sb[4];
};

// rsqrt: 1 / sqrt(x); exp: e^x (its derivative is its output). abs's backward reads sign(x) from its first argument,
// which is x, not y.
enum class Unary { relu, relu6, sigmoid, tanh, rsqrt, abs, exp, step };  // step: [x > 0]
enum class Binary { add, sub, mul, div, add_relu };                      // add_relu: max(a + b, 0)

}  // namespace gt
