// Finite-difference gradient checks in double precision.
//
// For an op y = f(x_1..x_k) the check uses the scalar L = sum(y * R) with a fixed random R, so that
// every output element contributes with its own weight. The analytic dL/dx_i comes from the tape; the
// numerical one from central differences (L(x + eps e_j) - L(x - eps e_j)) / 2 eps for every element j.
// A point where the two one-sided slopes disagree sits on a kink (ReLU at 0, a max-pool tie) and is
// skipped, as ggml's test-backend-ops does; the count of skipped points is reported.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autodiff/tensor.h"

namespace gt {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;
  std::vector<bool> check;  // which inputs to check (default: all)
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0;   // over all checked elements
  int64_t checked = 0, skipped = 0;
  std::string report;       // one line per input, and the first failures
};

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
GradcheckResult gradcheck(const OpFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o = {});

}  // namespace gt
