// Layers: named building blocks that own their parameters and call autodiff ops inside a NameScope,
// so that every node they record carries the layer's name. The model zoo (issue 3) builds on these.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::nn {

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  const std::string& name() const { return name_; }
  Tensor operator()(const Tensor& x) {
    NameScope scope(name_);
    return forward(x);
  }
  virtual std::vector<Tensor> parameters() { return {}; }

 protected:
  virtual Tensor forward(const Tensor& x) = 0;

 private:
  std::string name_;
};

// weight (O, C/groups, kh, kw), optional bias (O)
class Conv2d : public Layer {
 public:
  Conv2d(std::string name, int64_t in, int64_t out, int64_t k, const ops::Conv2dOptions& o = {}, bool bias = true);
  Tensor weight, bias;
  ops::Conv2dOptions options;
  std::vector<Tensor> parameters() override;

 protected:
  Tensor forward(const Tensor& x) override;
};

// weight (O, I), bias (O)
class Dense : public Layer {
 public:
  Dense(std::string name, int64_t in, int64_t out);
  Tensor weight, bias;
  std::vector<Tensor> parameters() override;

 protected:
  Tensor forward(const Tensor& x) override;
};

class ReLU : public Layer {
 public:
  using Layer::Layer;

 protected:
  Tensor forward(const Tensor& x) override { return ops::relu(x); }
};

class MaxPool2d : public Layer {
 public:
  MaxPool2d(std::string name, const ops::PoolOptions& o) : Layer(std::move(name)), options(o) {}
  ops::PoolOptions options;

 protected:
  Tensor forward(const Tensor& x) override { return ops::max_pool2d(x, options); }
};

class GlobalAvgPool : public Layer {
 public:
  using Layer::Layer;

 protected:
  Tensor forward(const Tensor& x) override { return ops::global_avg_pool(x); }
};

class Sequential : public Layer {
 public:
  using Layer::Layer;
  template <class L, class... A>
  L& add(A&&... args) {
    layers_.push_back(std::make_unique<L>(std::forward<A>(args)...));
    return static_cast<L&>(*layers_.back());
  }
  std::vector<Tensor> parameters() override;
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

 protected:
  Tensor forward(const Tensor& x) override;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

// He-uniform initialisation, deterministic from the seed.
void init_he_uniform(Tensor& w, int64_t fan_in, uint64_t seed);

}  // namespace gt::nn
