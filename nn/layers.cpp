#include "nn/layers.h"

#include <cmath>

namespace gt::nn {

void init_he_uniform(Tensor& w, int64_t fan_in, uint64_t seed) {
  const double a = std::sqrt(6.0 / double(std::max<int64_t>(1, fan_in)));
  w = Tensor::uniform(w.shape(), -a, a, seed, w.dtype());
}

Conv2d::Conv2d(std::string name, int64_t in, int64_t out, int64_t k, const ops::Conv2dOptions& o, bool with_bias)
    : Layer(std::move(name)), options(o) {
  weight = Tensor::zeros({out, in / o.groups, k, k});
  if (with_bias) bias = Tensor::zeros({out});
}

std::vector<Tensor> Conv2d::parameters() { return bias.defined() ? std::vector{weight, bias} : std::vector{weight}; }

Tensor Conv2d::forward(const Tensor& x) {
  Tensor y = ops::conv2d(x, weight, options);
  return bias.defined() ? ops::bias_add(y, bias) : y;
}

Dense::Dense(std::string name, int64_t in, int64_t out)
    : Layer(std::move(name)), weight(Tensor::zeros({out, in})), bias(Tensor::zeros({out})) {}

std::vector<Tensor> Dense::parameters() { return {weight, bias}; }

Tensor Dense::forward(const Tensor& x) { return ops::bias_add(ops::linear(ops::flatten(x), weight), bias); }

std::vector<Tensor> Sequential::parameters() {
  std::vector<Tensor> p;
  for (auto& l : layers_)
    for (Tensor& t : l->parameters()) p.push_back(t);
  return p;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& l : layers_) h = (*l)(h);
  return h;
}

}  // namespace gt::nn
