// Helpers shared by the Catch2 test files.
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

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

// max |t|, NaN if t holds one.
inline double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector_f64()) m = std::isnan(v) ? NAN : std::isnan(m) ? m : std::max(m, std::abs(v));
  return m;
}

// Element by element |ours - ref| <= atol + rtol |ref|; a NaN or Inf in either fails (two NaNs are not
// "equal"). At most `outliers` (a fraction) of the elements may lie outside: whole networks in float32
// flip a ReLU mask here and there. Prints the worst difference and max |ref|, so that a passing test
// shows its margin too.
inline void expect_close(const std::string& what, const Tensor& ours, const Tensor& ref, double rtol, double atol,
                         double outliers = 0) {
  INFO(what);
  REQUIRE(ours.defined());
  REQUIRE(ref.defined());
  REQUIRE(ours.shape() == ref.shape());
  const std::vector<double> a = ours.to_vector_f64(), b = ref.to_vector_f64();
  size_t bad = 0, at = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]);
    if (!(d <= atol + rtol * std::abs(b[i]))) ++bad;             // false for NaN: counted
    if (!std::isnan(worst) && !(d <= worst)) worst = d, at = i;  // a NaN becomes the worst and stays
  }
  std::printf("%-60s max |diff| %.3g (max |ref| %.3g), %zu of %zu outside\n", what.c_str(), worst, max_abs(ref), bad,
              a.size());
  INFO("worst at " << at << ": " << (a.empty() ? 0.0 : a[at]) << " against " << (b.empty() ? 0.0 : b[at]));
  CHECK(double(bad) <= outliers * double(a.size()));
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
