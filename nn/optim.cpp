#include "nn/optim.h"

#include <cmath>

namespace gt::nn {

Optimizer::Optimizer(ParamList params, const OptimizerOptions& o) : lr(o.lr), params_(std::move(params)), o_(o) {
  if (o.kind != "sgd" && o.kind != "adam") throw Error("optimizer: unknown kind '" + o.kind + "' (known: sgd, adam)");
  if (!(o.lr > 0)) throw Error("optimizer: the learning rate must be > 0");
  for (auto& [name, p] : params_) {
    m_.push_back(Tensor::zeros(p->shape(), p->dtype()));
    v_.push_back(o.kind == "adam" ? Tensor::zeros(p->shape(), p->dtype()) : Tensor());
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

namespace {
template <class T>
void sgd(T* p, const T* g, T* v, int64_t n, double lr, double mu, double wd) {
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(g[i]) + wd * double(p[i]);
    v[i] = T(mu * double(v[i]) + d);
    p[i] = T(double(p[i]) - lr * double(v[i]));
  }
}

template <class T>
void adam(T* p, const T* g, T* m, T* v, int64_t n, double lr, const OptimizerOptions& o, double t) {
  const double c1 = 1.0 - std::pow(o.beta1, t), c2 = 1.0 - std::pow(o.beta2, t);
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(g[i]) + o.weight_decay * double(p[i]);
    m[i] = T(o.beta1 * double(m[i]) + (1 - o.beta1) * d);
    v[i] = T(o.beta2 * double(v[i]) + (1 - o.beta2) * d * d);
    p[i] = T(double(p[i]) - lr * (double(m[i]) / c1) / (std::sqrt(double(v[i]) / c2) + o.eps));
  }
}

template <class T>
void update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, double lr, const OptimizerOptions& o, int64_t t) {
  if (o.kind == "sgd")
    sgd(p.data<T>(), g.data<T>(), m.data<T>(), p.numel(), lr, o.momentum, o.weight_decay);
  else
    adam(p.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(), p.numel(), lr, o, double(t));
}
}  // namespace

void Optimizer::step() {
  ++steps;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = *params_[i].second;
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    if (g.shape() != p.shape())
      throw Error("optimizer: the gradient of " + params_[i].first + " has shape " + g.shape().str() + ", the parameter " +
                  p.shape().str());
    if (p.dtype() == DType::f64) update<double>(p, g.to(DType::f64), m_[i], v_[i], lr, o_, steps);
    else update<float>(p, g.to(DType::f32), m_[i], v_[i], lr, o_, steps);
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
