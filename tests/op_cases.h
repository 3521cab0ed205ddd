// One table of op cases for every test that checks ops one at a time: the finite-difference
// gradchecks (test_gradcheck.cpp, in double) and CUDA against the CPU (test_cuda.cpp, on the real or
// the simulated GPU, in double and float). A case is the op as a function of its inputs, the input
// shapes, and the range the inputs are drawn from (away from an op's kinks and poles).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autodiff/ops.h"

namespace gt::test {

struct OpCase {
  std::string name;
  std::function<Tensor(const std::vector<Tensor>&)> f;
  std::vector<Shape> shapes;
  double lo = -1, hi = 1;
  // Shapes chosen for the GPU's tiling (several tiles, split-K, Winograd's partial tiles): too many
  // elements for finite differences, so only the device comparison runs them.
  bool device_only = false;
};

// Conv options: per-axis stride, padding (top, bottom, left, right), groups, per-axis dilation.
inline ops::Conv2dOptions conv_options(int64_t sh, int64_t sw, Pads p, int64_t groups = 1, int64_t dh = 1,
                                       int64_t dw = 1) {
  ops::Conv2dOptions o;
  o.stride_h = sh, o.stride_w = sw, o.pad = p, o.groups = groups, o.dilation_h = dh, o.dilation_w = dw;
  return o;
}

// conv2d, without and with a bias, in every configuration the zoo and the importers use, and the
// shapes that exercise each code path (im2col GEMM, col2im, depthwise, Winograd, the GPU's tiles).
inline std::vector<OpCase> conv_cases() {
  using V = std::vector<Tensor>;
  struct C {
    const char* name;
    Shape x, w;
    ops::Conv2dOptions o;
    bool device_only = false;
  };
  const C cases[] = {
      {"3x3 stride 1 pad 1 (transposed-conv data gradient)",
       {2, 3, 7, 6},
       {4, 3, 3, 3},
       conv_options(1, 1, {1, 1, 1, 1})},
      {"3x3 stride 1 valid", {1, 2, 6, 6}, {2, 2, 3, 3}, conv_options(1, 1, {})},
      {"3x3 stride 2, TF SAME asymmetric pad (col2im path)",
       {1, 3, 8, 7},
       {5, 3, 3, 3},
       conv_options(2, 2, {0, 1, 0, 1})},
      {"3x3 dilation 2 pad 2", {1, 2, 9, 9}, {3, 2, 3, 3}, conv_options(1, 1, {2, 2, 2, 2}, 1, 2, 2)},
      {"groups 2, stride (2,1)", {2, 4, 6, 5}, {6, 2, 3, 3}, conv_options(2, 1, {1, 1, 1, 1}, 2)},
      {"depthwise stride 2", {2, 3, 7, 7}, {3, 1, 3, 3}, conv_options(2, 2, {1, 1, 1, 1}, 3)},
      {"depthwise multiplier 2, SAME at stride 2", {1, 2, 6, 6}, {4, 1, 3, 3}, conv_options(2, 2, {0, 1, 0, 1}, 2)},
      {"depthwise dilation 2", {1, 2, 7, 6}, {2, 1, 3, 3}, conv_options(1, 1, {2, 2, 2, 2}, 2, 2, 2)},
      {"1x1 pointwise", {1, 4, 5, 5}, {3, 4, 1, 1}, conv_options(1, 1, {})},
      {"1x1 stride 2 (shortcut)", {1, 4, 7, 7}, {6, 4, 1, 1}, conv_options(2, 2, {})},
      {"5x3 kernel, stride (1,2), dilation (2,1), uneven pad",
       {1, 2, 11, 8},
       {3, 2, 5, 3},
       conv_options(1, 2, {3, 1, 0, 2}, 1, 2, 1)},
      {"7x7 stride 2 pad 3 (ResNet stem)", {1, 3, 32, 32}, {8, 3, 7, 7}, conv_options(2, 2, {3, 3, 3, 3}), true},
      // several 128x128 tiles in M and N, and K not a multiple of 8
      {"M 130 x N 289 x K 585", {1, 65, 17, 17}, {130, 65, 3, 3}, conv_options(1, 1, {1, 1, 1, 1}), true},
      // few tiles, long K: split-K
      {"4x4 map, dilation 2, K 2304 (split-K)",
       {1, 256, 4, 4},
       {64, 256, 3, 3},
       conv_options(1, 1, {2, 2, 2, 2}, 1, 2, 2),
       true},
      // 3x3 stride 1 with 16 channels or more: Winograd (odd sizes: partial tiles)
      {"Winograd, pad 1", {2, 16, 9, 7}, {20, 16, 3, 3}, conv_options(1, 1, {1, 1, 1, 1}), true},
      {"Winograd, asymmetric padding", {1, 17, 8, 9}, {16, 17, 3, 3}, conv_options(1, 1, {0, 2, 1, 0}), true},
      {"batch 3, 1x1, N over several tiles", {3, 40, 12, 12}, {24, 40, 1, 1}, conv_options(1, 1, {}), true},
  };
  std::vector<OpCase> v;
  for (const C& c : cases) {
    const auto o = c.o;
    v.push_back({std::string("conv2d ") + c.name,
                 [o](const V& in) { return ops::conv2d(in[0], in[1], o); },
                 {c.x, c.w},
                 -1,
                 1,
                 c.device_only});
    v.push_back({std::string("conv2d+bias ") + c.name,
                 [o](const V& in) { return ops::conv2d(in[0], in[1], o, in[2]); },
                 {c.x, c.w, {c.w[0]}},
                 -1,
                 1,
                 c.device_only});
  }
  return v;
}

// Max and average pooling (average with and without the padding counted), odd sizes and TF's
// asymmetric SAME padding, and the global average.
inline std::vector<OpCase> pool_cases() {
  using V = std::vector<Tensor>;
  const auto pool = [](int64_t k, int64_t s, Pads p, bool include_pad) {
    ops::PoolOptions o;
    o.kernel_h = o.kernel_w = k, o.stride_h = o.stride_w = s, o.pad = p, o.count_include_pad = include_pad;
    return o;
  };
  std::vector<OpCase> v;
  const std::pair<const char*, ops::PoolOptions> kinds[] = {{"2x2/2", pool(2, 2, {}, false)},
                                                            {"3x3/2 pad 1", pool(3, 2, {1, 1, 1, 1}, false)},
                                                            {"3x3/1 SAME", pool(3, 1, {1, 1, 1, 1}, false)},
                                                            {"3x3/2 SAME asymmetric", pool(3, 2, {0, 1, 0, 1}, false)}};
  for (const auto& [name, o] : kinds) {
    auto inc = o;
    inc.count_include_pad = true;
    v.push_back({std::string("max_pool2d ") + name,
                 [o = o](const V& in) { return ops::max_pool2d(in[0], o); },
                 {{2, 3, 9, 8}}});
    v.push_back({std::string("avg_pool2d ") + name,
                 [o = o](const V& in) { return ops::avg_pool2d(in[0], o); },
                 {{2, 3, 9, 8}}});
    v.push_back({std::string("avg_pool2d count_include_pad ") + name,
                 [inc](const V& in) { return ops::avg_pool2d(in[0], inc); },
                 {{2, 3, 9, 8}}});
  }
  v.push_back({"global_avg_pool", [](const V& in) { return ops::global_avg_pool(in[0]); }, {{2, 5, 7, 7}}});
  return v;
}

// Element-wise ops at one shape, and the broadcasting binary ops with every kind of broadcast:
// a trailing sub-shape, size-1 axes on either side, missing leading axes, both inputs repeated.
inline std::vector<OpCase> elementwise_cases() {
  using V = std::vector<Tensor>;
  const Shape s{2, 3, 4, 3};
  return {
      {"add", [](const V& v) { return ops::add(v[0], v[1]); }, {s, s}},
      {"add_relu", [](const V& v) { return ops::add_relu(v[0], v[1]); }, {s, s}},
      {"sub", [](const V& v) { return ops::sub(v[0], v[1]); }, {s, s}},
      {"mul", [](const V& v) { return ops::mul(v[0], v[1]); }, {s, s}},
      {"mul, same input twice", [](const V& v) { return ops::mul(v[0], v[0]); }, {s}},
      {"div", [](const V& v) { return ops::div(v[0], v[1]); }, {s, s}, 0.5, 2},
      {"add_scalar", [](const V& v) { return ops::add_scalar(v[0], 0.7); }, {s}},
      {"mul_scalar", [](const V& v) { return ops::mul_scalar(v[0], -1.3); }, {s}},
      {"relu", [](const V& v) { return ops::relu(v[0]); }, {s}},
      {"relu6", [](const V& v) { return ops::relu6(v[0]); }, {s}, -3, 9},
      {"sigmoid", [](const V& v) { return ops::sigmoid(v[0]); }, {s}, -4, 4},
      {"tanh", [](const V& v) { return ops::tanh(v[0]); }, {s}, -3, 3},
      {"rsqrt", [](const V& v) { return ops::rsqrt(v[0]); }, {s}, 0.2, 3},
      {"abs", [](const V& v) { return ops::abs(v[0]); }, {s}},
      {"clamp", [](const V& v) { return ops::clamp(v[0], -0.5, 0.4); }, {s}},
      {"dropout (fixed seed)", [](const V& v) { return ops::dropout(v[0], 0.3, 99, true); }, {s}},
      {"add, b a trailing sub-shape", [](const V& v) { return ops::add(v[0], v[1]); }, {s, {4, 3}}},
      {"sub, both repeated", [](const V& v) { return ops::sub(v[0], v[1]); }, {{2, 1, 4, 1}, {3, 1, 5}}},
      {"mul, (n,1,1,1) by (1,C,H,W): IG's points",
       [](const V& v) { return ops::mul(v[0], v[1]); },
       {{3, 1, 1, 1}, {1, 2, 4, 3}}},
      {"mul, a row by a column", [](const V& v) { return ops::mul(v[0], v[1]); }, {{1, 5}, {4, 1}}},
      {"div, by a per-channel (C,1,1)", [](const V& v) { return ops::div(v[0], v[1]); }, {s, {3, 1, 1}}, 0.5, 2},
      {"div, a scalar-shaped numerator", [](const V& v) { return ops::div(v[0], v[1]); }, {{1}, s}, 0.5, 2},
      {"expand",
       [](const V& v) {
         return ops::expand(v[0], {2, 3, 4, 2});
       },
       {{3, 1, 2}}},
      {"sum_to",
       [](const V& v) {
         return ops::sum_to(v[0], {3, 1, 2});
       },
       {{2, 3, 4, 2}}},
      {"sum_to a single element", [](const V& v) { return ops::sum_to(v[0], {1}); }, {{2, 3}}},
  };
}

}  // namespace gt::test
