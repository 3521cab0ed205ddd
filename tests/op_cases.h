// One table of op cases for every test that checks ops one at a time: the finite-difference
// gradchecks (autodiff/test_gradcheck.cpp, in double), CUDA against the CPU (cuda/test_cuda.cpp, on
// the real or the simulated GPU, in double and float) and, for conv and pooling, the PyTorch fixtures
// (autodiff/test_torch_fixtures.cpp). A case is the op as a function of its inputs, the input shapes,
// and the range the inputs are drawn from (away from an op's kinks and poles). The conv and pooling
// cases live in tests/op_cases.json, which tests/fixture_gen/make_fixtures.py reads as well.
#pragma once
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
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
  bool sums = false;  // long float32 sums: the device comparison allows their rounding
};

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
      {"exp", [](const V& v) { return ops::exp(v[0]); }, {s}, -2, 2},
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

// Dense layers, matrix products and biases; the long ones for the GPU's GEMM tiles.
inline std::vector<OpCase> dense_cases() {
  using V = std::vector<Tensor>;
  const auto linear = [](const V& v) { return ops::linear(v[0], v[1]); };
  const auto matmul = [](const V& v) { return ops::matmul(v[0], v[1]); };
  const auto bias = [](const V& v) { return ops::bias_add(v[0], v[1]); };
  return {{"linear", linear, {{3, 5}, {4, 5}}},
          {"linear, K 300", linear, {{3, 300}, {150, 300}}, -1, 1, true, true},
          {"matmul", matmul, {{3, 5}, {5, 2}}},
          {"matmul, 37 x 140 x 29", matmul, {{37, 140}, {140, 29}}, -1, 1, true, true},
          {"bias_add 4-D", bias, {{2, 3, 4, 5}, {3}}},
          {"bias_add 2-D", bias, {{4, 7}, {7}}}};
}

// Softmax over rows, its log, and the cross-entropy loss.
inline std::vector<OpCase> softmax_cases() {
  using V = std::vector<Tensor>;
  return {{"softmax", [](const V& v) { return ops::softmax(v[0]); }, {{3, 5}}, -3, 3},
          {"log_softmax", [](const V& v) { return ops::log_softmax(v[0]); }, {{3, 5}}, -3, 3},
          {"softmax, 1000 classes", [](const V& v) { return ops::softmax(v[0]); }, {{3, 1000}}, -5, 5, true},
          {"log_softmax, 1000 classes", [](const V& v) { return ops::log_softmax(v[0]); }, {{3, 1000}}, -5, 5, true},
          {"cross_entropy",
           [](const V& v) {
             return ops::cross_entropy(v[0], {3, 0, 9, 9});
           },
           {{4, 10}},
           -3,
           3}};
}

// Batch norm with x, gamma and beta as inputs (or gamma frozen), in inference and in training; the
// running statistics are made fresh on the input's device in each call (training updates them).
inline std::vector<OpCase> batch_norm_cases() {
  using V = std::vector<Tensor>;
  const auto stats = [](const Tensor& x, double v) { return Tensor::full({x.dim(1)}, v, x.dtype(), x.device()); };
  const Shape x{3, 4, 3, 2};
  return {
      {"batch_norm inference",
       [stats](const V& v) {
         return ops::batch_norm(v[0], v[1], v[2], stats(v[0], 0.1), stats(v[0], 1.5), 1e-3, false);
       },
       {x, {4}, {4}}},
      {"batch_norm inference, frozen gamma",
       [stats](const V& v) {
         return ops::batch_norm(v[0], stats(v[0], 0.7), v[1], stats(v[0], 0.1), stats(v[0], 1.5), 1e-3, false);
       },
       {x, {4}}},
      {"batch_norm training",
       [stats](const V& v) { return ops::batch_norm(v[0], v[1], v[2], stats(v[0], 0), stats(v[0], 1), 1e-5, true); },
       {x, {4}, {4}}},
      {"batch_norm training, 3x4x5x6",
       [stats](const V& v) { return ops::batch_norm(v[0], v[1], v[2], stats(v[0], 0), stats(v[0], 1), 1e-3, true); },
       {{3, 4, 5, 6}, {4}, {4}}}};
}

// Concatenation, padding, reshapes, bilinear resizing and the reductions.
inline std::vector<OpCase> layout_cases() {
  using V = std::vector<Tensor>;
  std::vector<OpCase> v = {
      {"concat_channels",
       [](const V& x) {
         return ops::concat_channels({x[0], x[1], x[2]});
       },
       {{2, 1, 3, 4}, {2, 3, 3, 4}, {2, 2, 3, 4}}},
      {"concat along axis 0",
       [](const V& x) {
         return ops::concat({x[0], x[1]}, 0);
       },
       {{1, 3, 2}, {2, 3, 2}}},
      {"concat along the last axis",
       [](const V& x) {
         return ops::concat({x[0], x[1], x[2]}, 3);
       },
       {{2, 2, 3, 1}, {2, 2, 3, 4}, {2, 2, 3, 2}}},
      {"transpose NCHW -> NHWC",
       [](const V& x) {
         return ops::transpose(x[0], {0, 2, 3, 1});
       },
       {{2, 3, 4, 5}}},
      {"transpose 3-D (2,0,1)",
       [](const V& x) {
         return ops::transpose(x[0], {2, 0, 1});
       },
       {{3, 4, 5}}},
      {"transpose 2-D",
       [](const V& x) {
         return ops::transpose(x[0], {1, 0});
       },
       {{7, 3}}},
      {"pad",
       [](const V& x) {
         return ops::pad(x[0], {1, 2, 0, 3}, 0.5);
       },
       {{1, 2, 3, 4}}},
      {"reshape",
       [](const V& x) {
         return ops::reshape(x[0], {6, 20});
       },
       {{2, 3, 4, 5}}},
      {"flatten", [](const V& x) { return ops::flatten(x[0]); }, {{2, 3, 2, 2}}},
      {"resize_bilinear up 7 -> 224",
       [](const V& x) { return ops::resize_bilinear(x[0], 224, 224); },
       {{1, 2, 7, 7}},
       -1,
       1,
       true},
      {"resize_bilinear up 4x5 -> 7x9", [](const V& x) { return ops::resize_bilinear(x[0], 7, 9); }, {{1, 2, 4, 5}}},
      {"resize_bilinear down 13x11 -> 5x4",
       [](const V& x) { return ops::resize_bilinear(x[0], 5, 4); },
       {{2, 2, 13, 11}}},
      {"resize_bilinear mixed 6x9 -> 10x4",
       [](const V& x) { return ops::resize_bilinear(x[0], 10, 4); },
       {{1, 3, 6, 9}}},
      {"sum", [](const V& x) { return ops::sum(x[0]); }, {{2, 3, 4, 5}}, -1, 1, false, true},
      {"mean", [](const V& x) { return ops::mean(x[0]); }, {{2, 3, 4, 5}}},
  };
  for (int d = 0; d < 4; ++d) {
    v.push_back({"sum_dim " + std::to_string(d), [d](const V& x) { return ops::sum_dim(x[0], d); }, {{2, 3, 4, 5}}});
    v.push_back({"mean_dim " + std::to_string(d), [d](const V& x) { return ops::mean_dim(x[0], d); }, {{2, 3, 4, 5}}});
  }
  return v;
}

// The conv2d and pooling cases of tests/op_cases.json, which the PyTorch fixtures are made from too.
struct ConvSpec {
  std::string name;
  Shape x, w;
  ops::Conv2dOptions o;
  bool device_only = false;
};
struct PoolSpec {
  std::string name;
  Shape x;
  ops::PoolOptions o;  // count_include_pad off; each case runs with it on as well
};

inline const nlohmann::json& op_table() {
  static const nlohmann::json j = [] {
    std::ifstream in(GT_OP_CASES);
    if (!in) throw Error(std::string("cannot open ") + GT_OP_CASES);
    return nlohmann::json::parse(in);
  }();
  return j;
}

inline Shape shape_of(const nlohmann::json& a) { return Shape(a.get<std::vector<int64_t>>()); }
inline Pads pads_of(const nlohmann::json& a) { return Pads{a[0], a[1], a[2], a[3]}; }

inline std::vector<ConvSpec> conv_specs() {
  std::vector<ConvSpec> v;
  for (const auto& c : op_table()["conv2d"]) {
    ConvSpec s{c["name"], shape_of(c["x"]), shape_of(c["w"]), {}, c.value("device_only", false)};
    s.o.stride_h = c["stride"][0], s.o.stride_w = c["stride"][1], s.o.pad = pads_of(c["pad"]);
    s.o.groups = c.value("groups", 1);
    const std::vector<int64_t> d = c.value("dilation", std::vector<int64_t>{1, 1});
    s.o.dilation_h = d[0], s.o.dilation_w = d[1];
    v.push_back(s);
  }
  return v;
}

inline std::vector<PoolSpec> pool_specs() {
  std::vector<PoolSpec> v;
  for (const auto& c : op_table()["pool"]) {
    PoolSpec s{c["name"], shape_of(c["x"]), {}};
    s.o.kernel_h = c["kernel"][0], s.o.kernel_w = c["kernel"][1];
    s.o.stride_h = c["stride"][0], s.o.stride_w = c["stride"][1], s.o.pad = pads_of(c["pad"]);
    v.push_back(s);
  }
  return v;
}

// Conv options: per-axis stride, padding (top, bottom, left, right), groups, per-axis dilation.
inline ops::Conv2dOptions conv_options(int64_t sh, int64_t sw, Pads p, int64_t groups = 1, int64_t dh = 1,
                                       int64_t dw = 1) {
  ops::Conv2dOptions o;
  o.stride_h = sh, o.stride_w = sw, o.pad = p, o.groups = groups, o.dilation_h = dh, o.dilation_w = dw;
  return o;
}

// conv2d of every table case, without and with a bias.
inline std::vector<OpCase> conv_cases() {
  using V = std::vector<Tensor>;
  std::vector<OpCase> v;
  for (const ConvSpec& c : conv_specs()) {
    const auto o = c.o;
    v.push_back({"conv2d " + c.name,
                 [o](const V& in) { return ops::conv2d(in[0], in[1], o); },
                 {c.x, c.w},
                 -1,
                 1,
                 c.device_only});
    v.push_back({"conv2d+bias " + c.name,
                 [o](const V& in) { return ops::conv2d(in[0], in[1], o, in[2]); },
                 {c.x, c.w, {c.w[0]}},
                 -1,
                 1,
                 c.device_only});
  }
  return v;
}

// Every table pool case as max, average and average with the padding counted, and the global average.
inline std::vector<OpCase> pool_cases() {
  using V = std::vector<Tensor>;
  std::vector<OpCase> v;
  for (const PoolSpec& c : pool_specs()) {
    auto inc = c.o;
    inc.count_include_pad = true;
    v.push_back({"max_pool2d " + c.name, [o = c.o](const V& in) { return ops::max_pool2d(in[0], o); }, {c.x}});
    v.push_back({"avg_pool2d " + c.name, [o = c.o](const V& in) { return ops::avg_pool2d(in[0], o); }, {c.x}});
    v.push_back(
        {"avg_pool2d count_include_pad " + c.name, [inc](const V& in) { return ops::avg_pool2d(in[0], inc); }, {c.x}});
  }
  for (const auto& c : op_table()["global_avg_pool"])
    v.push_back({c["name"], [](const V& in) { return ops::global_avg_pool(in[0]); }, {shape_of(c["x"])}});
  return v;
}

}  // namespace gt::test
