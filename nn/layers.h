// Layers: named building blocks that own their parameters and call autodiff ops inside a NameScope,
// so that every node they record carries the layer's name ("block3_conv2", "conv_pw_13_relu").
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::nn {

// A parameter's name and a pointer to the layer's own tensor (a weights loader assigns through it).
using NamedTensor = std::pair<std::string, Tensor*>;

// Subclasses implement forward; operator() runs it inside NameScope(name()).
class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  const std::string& name() const { return name_; }
  Tensor operator()(const Tensor& x) {
    NameScope scope(name_);
    return forward(x);
  }
  // The layer's tensors by their names in our weights format (PyTorch names and layouts):
  // weight, bias, running_mean, running_var.
  virtual std::vector<NamedTensor> named_parameters() { return {}; }
  // Handles to the tensors of named_parameters() (they share storage with the layer's).
  std::vector<Tensor> parameters();
  // Training mode: batch norm normalises with the batch's statistics (and updates the running ones),
  // dropout drops with a mask drawn from `seed`. Off (evaluation): both are deterministic maps.
  bool training = false;
  uint64_t seed = 0;
  // Transfer learning (nn::freeze_until): a frozen layer is not trained (its parameters get no
  // gradient) and stays in evaluation mode (batch norm keeps its running statistics).
  bool frozen = false;

 protected:
  virtual Tensor forward(const Tensor& x) = 0;

 private:
  std::string name_;
};

// weight (O, C/groups, kh, kw), optional bias (O). With tf_same, the padding is TensorFlow's 'SAME'
// for the actual input size (asymmetric at stride 2), computed at each call.
class Conv2d : public Layer {
 public:
  // A k x k kernel from `in` to `out` channels; weight and bias are zeros until loaded or initialised.
  Conv2d(std::string name, int64_t in, int64_t out, int64_t k, const ops::Conv2dOptions& o = {}, bool bias = true,
         bool tf_same = false);
  Tensor weight, bias;
  ops::Conv2dOptions options;
  bool tf_same;
  std::vector<NamedTensor> named_parameters() override;
  // The options for input x: with tf_same, the padding for its size.
  ops::Conv2dOptions options_for(const Tensor& x) const;

 protected:
  Tensor forward(const Tensor& x) override;
};

// Batch norm over channels; weight = gamma, bias = beta. Inference uses the running statistics,
// training the batch's (and updates the running ones with momentum 0.1, as PyTorch).
class BatchNorm : public Layer {
 public:
  // gamma 1, beta 0, running mean 0, running variance 1.
  BatchNorm(std::string name, int64_t channels, double eps);
  Tensor weight, bias, running_mean, running_var;
  double eps;
  std::vector<NamedTensor> named_parameters() override;

 protected:
  Tensor forward(const Tensor& x) override;
};

// weight (O, I), bias (O)
class Dense : public Layer {
 public:
  // x (N, ...) is flattened to (N, in) -> (N, out) = x weight^T + bias; zeros until loaded.
  Dense(std::string name, int64_t in, int64_t out);
  Tensor weight, bias;
  // When the input is a flattened (C,H,W) feature map: its shape, so that importers of Keras kernels
  // (flattened in H,W,C order) can permute the input axis. Empty otherwise.
  std::vector<int64_t> flatten_chw;
  std::vector<NamedTensor> named_parameters() override;

 protected:
  Tensor forward(const Tensor& x) override;
};

// max(x, 0) element-wise.
class ReLU : public Layer {
 public:
  using Layer::Layer;

 protected:
  Tensor forward(const Tensor& x) override { return ops::relu(x); }
};

// min(max(x, 0), 6) element-wise (MobileNet).
class ReLU6 : public Layer {
 public:
  using Layer::Layer;

 protected:
  Tensor forward(const Tensor& x) override { return ops::relu6(x); }
};

// Inverted dropout with probability p in training mode; the identity in evaluation.
class Dropout : public Layer {
 public:
  Dropout(std::string name, double p) : Layer(std::move(name)), p(p) {}
  double p;

 protected:
  Tensor forward(const Tensor& x) override { return ops::dropout(x, p, seed, training); }
};

// ops::max_pool2d with fixed options: (N,C,H,W) -> (N,C,Ho,Wo).
class MaxPool2d : public Layer {
 public:
  MaxPool2d(std::string name, const ops::PoolOptions& o) : Layer(std::move(name)), options(o) {}
  ops::PoolOptions options;

 protected:
  Tensor forward(const Tensor& x) override { return ops::max_pool2d(x, options); }
};

// (N,C,H,W) -> (N,C): the mean over H and W.
class GlobalAvgPool : public Layer {
 public:
  using Layer::Layer;

 protected:
  Tensor forward(const Tensor& x) override { return ops::global_avg_pool(x); }
};

// Runs its layers in order; their parameters are named "layer/name".
class Sequential : public Layer {
 public:
  using Layer::Layer;
  template <class L, class... A>
  // Constructs an L from args, appends it and returns it.
  L& add(A&&... args) {
    layers_.push_back(std::make_unique<L>(std::forward<A>(args)...));
    return static_cast<L&>(*layers_.back());
  }
  std::vector<NamedTensor> named_parameters() override;
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

 protected:
  Tensor forward(const Tensor& x) override;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

// He-uniform initialisation, deterministic from the seed.
void init_he_uniform(Tensor& w, int64_t fan_in, uint64_t seed);

}  // namespace gt::nn
