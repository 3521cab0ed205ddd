// Optimisers: they update parameters in place from the gradients that Tape::backward accumulated
// in each parameter's grad(), then clear them. PyTorch's update rules, so that a run can be compared
// step for step:
//   SGD:  v = mu v + (g + wd p);            p -= lr v            (mu = 0: plain gradient descent)
//   Adam: g' = g + wd p;  m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;
//         p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)   (Kingma & Ba 2015)
// The moments live in named state tensors, so that a checkpoint can save and restore them.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/tensor.h"

namespace gt::nn {

// Named pointers to tensors ("conv1/weight"); the tensors must outlive whoever holds the list.
using ParamList = std::vector<std::pair<std::string, Tensor*>>;

// lr: the base learning rate; weight_decay: wd in the rules above (L2, added to the gradient).
struct OptimizerOptions {
  std::string kind = "sgd";  // sgd | adam
  double lr = 0.01;
  double momentum = 0.9;  // sgd
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam (PyTorch's defaults)
};

class Optimizer {
 public:
  // Throws for an unknown kind or lr <= 0. The moments start at zero.
  Optimizer(ParamList params, const OptimizerOptions& o);
  // One update of every parameter that has a gradient; then the gradients are cleared.
  void step();
  double lr;          // the learning rate of the next step (a schedule sets it)
  int64_t steps = 0;  // updates taken (Adam's t)
  const OptimizerOptions& options() const { return o_; }
  // The moments, named "<param>/momentum" (sgd) or "<param>/m", "<param>/v" (adam), for checkpoints.
  ParamList state();

 private:
  ParamList params_;
  OptimizerOptions o_;
  std::vector<Tensor> m_, v_;
};

// The learning rate at step t of `total` (0-based), from the base rate:
//   constant: lr;  cosine: lr/2 (1 + cos(pi t / total));  step: lr * gamma^floor(t / step_size)
struct LrSchedule {
  std::string kind = "cosine";  // constant | cosine | step
  int64_t step_size = 0;        // step: steps between decays
  double gamma = 0.1;           // step: the decay factor
  double at(double lr, int64_t t, int64_t total) const;
};

}  // namespace gt::nn
