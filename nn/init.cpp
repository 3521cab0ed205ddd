#include "nn/init.h"

#include <cmath>

#include "nn/layers.h"

namespace gt::nn {

uint64_t mix(uint64_t seed, uint64_t stream, uint64_t i) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull ^ (stream << 56) ^ i;  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

ParamList trainable_parameters(Layer& l) {
  ParamList p;
  for (auto& [name, t] : l.named_parameters())
    if (name != "running_mean" && name != "running_var") p.push_back({name, t});
  return p;
}

ParamList trainable_parameters(Model& m) {
  ParamList p;
  for (auto& l : m.layers())
    for (auto& [name, t] : trainable_parameters(*l)) p.push_back({l->name() + "/" + name, t});
  return p;
}

void init_parameters(Model& m, uint64_t seed) {
  uint64_t k = 0;
  for (auto& l : m.layers()) {
    ++k;
    if (auto* c = dynamic_cast<Conv2d*>(l.get())) {
      init_he_uniform(c->weight, c->weight.numel() / c->weight.dim(0), mix(seed, 1, k));
      if (c->bias.defined()) c->bias = Tensor::zeros_like(c->bias);
    } else if (auto* d = dynamic_cast<Dense*>(l.get())) {
      const double a = 1.0 / std::sqrt(double(d->weight.dim(1)));
      d->weight = Tensor::uniform(d->weight.shape(), -a, a, mix(seed, 1, k), d->weight.dtype());
      d->bias = Tensor::zeros_like(d->bias);
    } else if (auto* b = dynamic_cast<BatchNorm*>(l.get())) {
      b->weight = Tensor::full(b->weight.shape(), 1.0, b->weight.dtype());
      b->bias = Tensor::zeros_like(b->bias);
      b->running_mean = Tensor::zeros_like(b->running_mean);
      b->running_var = Tensor::full(b->running_var.shape(), 1.0, b->running_var.dtype());
    }
  }
}

}  // namespace gt::nn
