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

// eps: the central-difference step. An element fails when |num - ana| > atol + rtol |num|;
// seed draws R.
struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;
  std::vector<bool> check;  // which inputs to check (default: all)
};

// The outcome over every checked input; ok is false when any element fails.
struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0;  // over all checked elements
  int64_t checked = 0, skipped = 0;
  std::string report;  // one line per input, and the first failures
};

// The op under test: the inputs -> one output tensor of any shape.
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
// Checks f at float64 copies of the inputs (the originals are untouched), so f must accept float64.
GradcheckResult gradcheck(const OpFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o = {});

// The same check for a real layer: in the inputs' own dtype (float32), at `samples` randomly chosen
// elements of each input, with a step of eps times the input's RMS (at least 1e-3 of the output's RMS).
// Only the outputs that element touches change between L(x + h) and L(x - h), and L is summed in
// double, so the rounding of the rest cancels exactly. The error of element k is
// |num - ana| / max(|num|, |ana|, 1e-3 max_k |ana_k|).
class Tape;
// The result for one input: `points` lists every checked element (flat index, both derivatives, error).
struct SampledCheck {
  Shape shape;
  int64_t checked = 0, skipped = 0;  // skipped: on a kink
  double max_rel = 0, median_rel = 0;
  struct Point {
    int64_t index;
    double numerical, analytic, rel;
  };
  std::vector<Point> points;
};
struct SampledOptions {
  // Elements drawn per input, with replacement; those on a kink are skipped, not redrawn.
  int samples = 20;
  // Conv, dense and batch-norm layers are affine in each single element, so central differences have
  // no truncation error and a large step keeps float32 rounding small against the difference.
  double eps = 0.1;
  uint64_t seed = 1234;
  std::function<void(Tape&)> setup;  // hooks for the analytic pass (a test breaks a rule with one)
  // Where f runs: the inputs are perturbed on the host and f gets copies on this device, so the
  // GPU's backward is checked against the GPU's own forward.
  Device device = Device::cpu;
};
// One SampledCheck per input (every input is checked, on host clones in its own dtype).
std::vector<SampledCheck> gradcheck_sampled(const OpFn& f, const std::vector<Tensor>& inputs,
                                            const SampledOptions& o = {});

}  // namespace gt
