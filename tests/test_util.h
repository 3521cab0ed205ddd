// Helpers shared by the Catch2 test files.
#pragma once
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "autodiff/tensor.h"

namespace gt::test {

// The larger of a running worst difference and d, where a NaN d (an element never written, or
// garbage) counts as infinitely wrong: std::max(worst, NaN) would return worst and hide it.
inline double worse(double worst, double d) { return std::isnan(d) ? INFINITY : std::max(worst, d); }

// max |a - b| over two tensors of one shape (compared in double); infinite if either holds a NaN.
inline double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector_f64(), y = b.to_vector_f64();
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = worse(d, std::abs(x[i] - y[i]));
  return d;
}

#ifdef GT_SHARED_DIR
// The real weights and photos in ../shared/data (read in place, never copied into the project).
inline const std::string kSharedData = std::string(GT_SHARED_DIR) + "/data";
inline const std::string kMobileNet = kSharedData + "/weights/mobilenet_v1_0.25_224.tflite";
inline const std::string kChelsea = kSharedData + "/images/chelsea.png";
// False, with a one-line warning, when ../shared/data is absent: the test then skips.
inline bool have_shared_data() {
  if (std::filesystem::exists(kMobileNet)) return true;
  WARN("skipped: ../shared/data is absent");
  return false;
}
#endif

}  // namespace gt::test
