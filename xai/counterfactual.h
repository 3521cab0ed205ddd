// Counterfactual image: the smallest change to x that makes the model answer `target`.
//   x* = argmin_x'  -log softmax(f(x'))_target + lambda * d(x', x),   lo <= x' <= hi
// with d the mean squared (l2) or mean absolute (l1) difference, minimised by gradient steps on the
// input itself (Adam or SGD), projected back onto the valid input range after every step
// (Wachter, Mittelstadt, Russell 2017). It stops once p(target) >= confidence.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "xai/saliency.h"

namespace gt::xai {

// target, lambda and confidence as above; steps: the most gradient steps taken; lr: the learning rate.
struct CounterfactualOptions {
  int64_t target = 0;
  // sgd is plain gradient descent (no momentum)
  std::string optimizer = "adam";  // adam or sgd
  double lr = 0.01;
  int steps = 200;
  std::string proximity = "l2";  // l2, l1
  double lambda = 0.0;
  double confidence = 0.9;
  Tensor lo, hi;  // (1,C,1,1) or (1,C,H,W): the valid model-input range (optional)
};

// The model's answer at one step; p_original: of the class the original image was given (its top-1).
struct CounterfactualStep {
  int step;  // 1-based; 0 is the original image
  double p_target, p_original;
  int64_t top1;
  double p_top1;
};

struct CounterfactualResult {
  Tensor input;                             // x* (1,C,H,W)
  std::vector<CounterfactualStep> history;  // step 0 (the original) and every step taken
  bool reached = false;                     // p(target) >= confidence
};

// x: one model input (1,C,H,W) on any device, left unchanged; the result's input is on the host. on_step
// sees each history entry as it is made.
// Throws for an unknown optimizer or proximity, or a target outside the model's classes.
CounterfactualResult counterfactual(const Model& model, const Tensor& x, const CounterfactualOptions& o,
                                    const std::function<void(const CounterfactualStep&)>& on_step = {});

}  // namespace gt::xai
