#include "nn/layers.h"

#include <cmath>

namespace gt::nn {

std::vector<Tensor> Layer::parameters() {
  std::vector<Tensor> p;
  for (auto& [name, t] : named_parameters()) p.push_back(*t);
  return p;
}

void init_he_uniform(Tensor& w, int64_t fan_in, uint64_t seed) {
  const double a = std::sqrt(6.0 / double(std::max<int64_t>(1, fan_in)));
  w = Tensor::uniform(w.shape(), -a, a, seed, w.dtype());
}

Conv2d::Conv2d(std::string name, int64_t in, int64_t out, int64_t k, const ops::Conv2dOptions& o, bool with_bias,
               bool same)
    : Layer(std::move(name)), options(o), tf_same(same) {
  weight = Tensor::zeros({out, in / o.groups, k, k});
  if (with_bias) bias = Tensor::zeros({out});
}

std::vector<NamedTensor> Conv2d::named_parameters() {
  std::vector<NamedTensor> p{{"weight", &weight}};
  if (bias.defined()) p.push_back({"bias", &bias});
  return p;
}

ops::Conv2dOptions Conv2d::options_for(const Tensor& x) const {
  ops::Conv2dOptions o = options;
  if (tf_same && x.ndim() == 4) {
    const auto [t, b] = ops::same_padding(x.dim(2), weight.dim(2), o.stride_h, o.dilation_h);
    const auto [l, r] = ops::same_padding(x.dim(3), weight.dim(3), o.stride_w, o.dilation_w);
    o.pad = {t, b, l, r};
  }
  return o;
}

Tensor Conv2d::forward(const Tensor& x) { return ops::conv2d(x, weight, options_for(x), bias); }

BatchNorm::BatchNorm(std::string name, int64_t c, double e)
    : Layer(std::move(name)),
      weight(Tensor::full({c}, 1.0)),
      bias(Tensor::zeros({c})),
      running_mean(Tensor::zeros({c})),
      running_var(Tensor::full({c}, 1.0)),
      eps(e) {}

std::vector<NamedTensor> BatchNorm::named_parameters() {
  return {{"weight", &weight}, {"bias", &bias}, {"running_mean", &running_mean}, {"running_var", &running_var}};
}

Tensor BatchNorm::forward(const Tensor& x) {
  return ops::batch_norm(x, weight, bias, running_mean, running_var, eps, training);
}

Dense::Dense(std::string name, int64_t in, int64_t out)
    : Layer(std::move(name)), weight(Tensor::zeros({out, in})), bias(Tensor::zeros({out})) {}

std::vector<NamedTensor> Dense::named_parameters() { return {{"weight", &weight}, {"bias", &bias}}; }

Tensor Dense::forward(const Tensor& x) { return ops::linear(ops::flatten(x), weight, bias); }

std::vector<NamedTensor> Sequential::named_parameters() {
  std::vector<NamedTensor> p;
  for (auto& l : layers_)
    for (auto& [n, t] : l->named_parameters()) p.push_back({l->name() + "/" + n, t});
  return p;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& l : layers_) h = (*l)(h);
  return h;
}

}  // namespace gt::nn
