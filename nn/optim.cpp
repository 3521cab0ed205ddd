#include "nn/optim.h"

#include <cmath>

#include "autodiff/backend.h"

namespace gt::nn {

Optimizer::Optimizer(ParamList params, const OptimizerOptions& o) : lr(o.lr), params_(std::move(params)), o_(o) {
  if (o.kind != "sgd" && o.kind != "adam") throw Error("optimizer: unknown kind '" + o.kind + "' (known: sgd, adam)");
  if (!(o.lr > 0)) throw Error("optimizer: the learning rate must be > 0");
  for (auto& [name, p] : params_) {
    m_.push_back(Tensor::zeros(p->shape(), p->dtype(), p->device()));
    v_.push_back(o.kind == "adam" ? Tensor::zeros(p->shape(), p->dtype(), p->device()) : Tensor());
  }
}

ParamList Optimizer::state() {
  ParamList s;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].first;
    if (o_.kind == "sgd") {
      s.push_back({n + "/momentum", &m_[i]});
    } else {
      s.push_back({n + "/m", &m_[i]});
      s.push_back({n + "/v", &v_[i]});
    }
  }
  return s;
}

void Optimizer::step() {
  ++steps;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = *params_[i].second;
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    if (g.shape() != p.shape())
      throw Error("optimizer: the gradient of " + params_[i].first + " has shape " + g.shape().str() +
                  ", the parameter " + p.shape().str());
    OptimStep s;
    s.adam = o_.kind == "adam";
    s.lr = lr, s.momentum = o_.momentum, s.weight_decay = o_.weight_decay;
    s.beta1 = o_.beta1, s.beta2 = o_.beta2, s.eps = o_.eps;
    s.c1 = 1.0 - std::pow(o_.beta1, double(steps)), s.c2 = 1.0 - std::pow(o_.beta2, double(steps));
    // on the parameter's device; the moments were made there (a model moved later moves them along)
    for (Tensor* t : {&m_[i], &v_[i]})
      if (t->defined() && t->device() != p.device()) *t = t->to(p.device());
    backend(p.device()).optim_step(s, p, g.to(p.dtype()), m_[i], v_[i]);
    p.set_grad(Tensor());
  }
}

double LrSchedule::at(double lr, int64_t t, int64_t total) const {
  if (kind == "constant") return lr;
  if (kind == "cosine") return 0.5 * lr * (1.0 + std::cos(M_PI * double(t) / double(std::max<int64_t>(1, total))));
  if (kind == "step") return lr * std::pow(gamma, double(t / std::max<int64_t>(1, step_size)));
  throw Error("lr schedule: unknown kind '" + kind + "' (known: constant, cosine, step)");
}

}  // namespace gt::nn
