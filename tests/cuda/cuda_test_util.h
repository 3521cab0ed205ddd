// What the CUDA-against-CPU tests share (test_cuda.cpp: op by op; test_cuda_models.cpp: models,
// streams and the XAI methods): tolerances, random inputs, and compare_op.
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

#include "autodiff/backend.h"
#include "autodiff/gradcheck.h"
#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "image/preprocess.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "tests/op_cases.h"
#include "tests/test_util.h"
#include "train/loop.h"
#include "weights/tflite.h"
#include "xai/counterfactual.h"
#include "xai/gradcam.h"
#include "xai/integrated_gradients.h"
#include "xai/occlusion.h"
#include "xai/saliency.h"
#include "xai/surrogate.h"
#ifdef GT_CUDA_SIM
#include <cuda_runtime.h>  // the simulator's, for its launch counts
#endif

namespace gt::test_cuda {
using V = std::vector<Tensor>;

struct Tol {
  double atol, rtol;
  double outliers = 0;  // the fraction of elements allowed outside (whole networks: ReLU kinks)
};

// A CUDA result against the CPU's (tests/test_util.h: element by element, a NaN fails).
inline void expect_close(const std::string& what, const Tensor& got, const Tensor& ref, const Tol& t) {
  CHECK(got.device() == Device::cuda);
  test::expect_close(what, got, ref, t.rtol, t.atol, t.outliers);
}

inline const Tol kF64{1e-10, 1e-9}, kF32{1e-4, 1e-4}, kF32Sum{2e-3, 1e-3};

inline Tensor rnd(const Shape& s, uint64_t seed, DType t, double lo = -1, double hi = 1) {
  return Tensor::uniform(s, lo, hi, seed, t);
}

// Runs f on the CPU and on the GPU with the same inputs and the same upstream gradient, and compares
// the output and the gradient of every input.
inline void compare_op(const std::string& name, const std::function<Tensor(const V&)>& f,
                       const std::vector<Shape>& shapes, bool sums = false, double lo = -1, double hi = 1) {
  for (DType dt : {DType::f64, DType::f32}) {
    const Tol tol = dt == DType::f64 ? kF64 : sums ? kF32Sum : kF32;
    const std::string label = name + (dt == DType::f64 ? " [f64]" : " [f32]");
    V a, b;
    for (size_t i = 0; i < shapes.size(); ++i) {
      a.push_back(rnd(shapes[i], 11 + i, dt, lo, hi).set_requires_grad(true));
      b.push_back(a.back().detach().to(Device::cuda).set_requires_grad(true));
    }
    Tape ta, tb;
    Tensor ya, yb;
    {
      TapeGuard g(ta);
      ya = f(a);
    }
    {
      TapeGuard g(tb);
      yb = f(b);
    }
    expect_close(label + " forward", yb, ya, tol);
    const Tensor seed = rnd(ya.shape(), 99, dt);
    const V ga = ta.grad(ya, a, seed), gb = tb.grad(yb, b, seed.to(Device::cuda));
    for (size_t i = 0; i < a.size(); ++i) expect_close(label + " d/input" + std::to_string(i), gb[i], ga[i], tol);
  }
}

// Every case of a table (tests/op_cases.h) through compare_op; sums: every case sums long (conv).
inline void compare_cases(const std::vector<test::OpCase>& cases, bool sums = false) {
  for (const test::OpCase& c : cases) compare_op(c.name, c.f, c.shapes, sums || c.sums, c.lo, c.hi);
}

}  // namespace gt::test_cuda
