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
