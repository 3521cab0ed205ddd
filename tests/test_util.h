// Helpers shared by the Catch2 test files.
#pragma once
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>

#include "autodiff/tensor.h"

namespace gt::test {

// max |a - b| over two tensors of one shape (compared in double).
inline double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector_f64(), y = b.to_vector_f64();
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, std::abs(x[i] - y[i]));
  return d;
}

}  // namespace gt::test
