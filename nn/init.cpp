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
    if (!l->frozen)
      for (auto& [name, t] : trainable_parameters(*l)) p.push_back({l->name() + "/" + name, t});
  return p;
}

namespace {
// PyTorch's reset_parameters of a conv or linear layer: kaiming_uniform(a = sqrt 5) for the weight,
// which is U(+-1/sqrt(fan_in)), then the bias U(+-1/sqrt(fan_in)), one stream of draws for both (as
// torch's generator gives them: two layers reset from one seed share their first values, scaled).
void torch_reset(Tensor& w, Tensor& b, uint64_t seed) {
  const double a = 1.0 / std::sqrt(double(w.numel() / w.dim(0)));
  const int64_t nw = w.numel(), nb = b.defined() ? b.numel() : 0;
  const std::vector<double> u = Tensor::uniform({nw + nb}, -a, a, seed, DType::f64).to_vector_f64();
  w = Tensor::from_vector(w.shape(), std::vector<double>(u.begin(), u.begin() + nw), DType::f64)
          .to(w.dtype())
          .to(w.device());
  if (nb)
    b = Tensor::from_vector(b.shape(), std::vector<double>(u.begin() + nw, u.end()), DType::f64)
            .to(b.dtype())
            .to(b.device());
}
}  // namespace

bool init_layer(Layer& l, uint64_t seed, Init scheme) {
  auto* c = dynamic_cast<Conv2d*>(&l);
  auto* dl = dynamic_cast<Dense*>(&l);
  if (scheme == Init::torch_reset && (c || dl)) {
    torch_reset(c ? c->weight : dl->weight, c ? c->bias : dl->bias, seed);
  } else if (c) {
    const Device d = c->weight.device();
    init_he_uniform(c->weight, c->weight.numel() / c->weight.dim(0), seed);
    c->weight = c->weight.to(d);
    if (c->bias.defined()) c->bias = Tensor::zeros_like(c->bias);
  } else if (dl) {
    const double a = 1.0 / std::sqrt(double(dl->weight.dim(1)));
    dl->weight = Tensor::uniform(dl->weight.shape(), -a, a, seed, dl->weight.dtype()).to(dl->weight.device());
    dl->bias = Tensor::zeros_like(dl->bias);
  } else if (auto* b = dynamic_cast<BatchNorm*>(&l)) {
    const Device d = b->weight.device();
    b->weight = Tensor::full(b->weight.shape(), 1.0, b->weight.dtype(), d);
    b->bias = Tensor::zeros_like(b->bias);
    b->running_mean = Tensor::zeros_like(b->running_mean);
    b->running_var = Tensor::full(b->running_var.shape(), 1.0, b->running_var.dtype(), d);
  } else {
    return false;
  }
  return true;
}

void init_parameters(Model& m, uint64_t seed) {
  uint64_t k = 0;
  for (auto& l : m.layers()) init_layer(*l, mix(seed, 1, ++k));
  m.parameters_changed();
}

void replace_classifier(Model& m, int64_t classes, uint64_t seed) {
  if (classes < 1 || classes > 100000) throw InvalidArgument("a new head needs 1 to 100000 classes");
  Layer* last = nullptr;
  for (auto& l : m.layers())
    if (!l->named_parameters().empty()) last = l.get();
  const uint64_t s = mix(seed, 5, uint64_t(classes));
  if (auto* d = dynamic_cast<Dense*>(last)) {
    const int64_t in = d->weight.dim(1);
    const double a = 1.0 / std::sqrt(double(in));
    d->weight = Tensor::uniform({classes, in}, -a, a, s, d->weight.dtype()).to(d->weight.device());
    d->bias = Tensor::zeros({classes}, d->weight.dtype(), d->weight.device());
  } else if (auto* c = dynamic_cast<Conv2d*>(last); c && c->options.groups == 1) {
    const Shape w = c->weight.shape();
    Tensor k = Tensor::zeros({classes, w[1], w[2], w[3]}, c->weight.dtype());
    init_he_uniform(k, w[1] * w[2] * w[3], s);
    c->weight = k.to(c->weight.device());
    if (c->bias.defined()) c->bias = Tensor::zeros({classes}, c->weight.dtype(), c->weight.device());
  } else {
    throw Error(m.info.arch + ": no classifier to replace (its last layer with parameters, " +
                (last ? last->name() : std::string("none")) + ", is not a dense layer or a convolution)");
  }
  m.info.classes = classes;
  m.to(m.device());  // drops what was folded from the old parameters
}

int freeze_until(Model& m, const std::string& layer) {
  if (!m.find(layer)) {
    std::vector<std::string> names;
    for (auto& l : m.layers()) names.push_back(l->name());
    std::string near;
    for (const auto& n : closest_names(layer, names, 5)) near += (near.empty() ? "" : ", ") + n;
    throw InvalidArgument("--freeze-until: no layer with parameters named '" + layer + "'; closest: " + near);
  }
  int n = 0;
  for (auto& l : m.layers()) {
    l->frozen = true;
    ++n;
    if (l->name() == layer) break;
  }
  return n;
}

}  // namespace gt::nn
