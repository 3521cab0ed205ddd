// Integrated Gradients (Sundararajan, Taly, Yan 2017):
//   IG(x) = (x - x') . integral_0^1 d F(x' + a (x - x')) / d x  da
//         ~ (x - x') . sum_k w_k  d F(x' + a_k (x - x')) / d x
// with nodes a_k and weights w_k from a quadrature rule over [0, 1]. Completeness says
// sum(IG) = F(x) - F(x'); the gap left by the quadrature is reported as delta.
//
// `steps` counts points (model evaluations), as Captum's n_steps does:
//   riemann_left       a_k = k/n,        k = 0..n-1,  w_k = 1/n
//   riemann_right      a_k = k/n,        k = 1..n,    w_k = 1/n
//   riemann_middle     a_k = (k+1/2)/n,  k = 0..n-1,  w_k = 1/n
//   riemann_trapezoid  a_k = k/(n-1),    k = 0..n-1,  w_k = 1/(n-1), halved at both ends
//   gausslegendre      Gauss-Legendre nodes and weights on [0, 1]
// The course's TF recipe (alphas = linspace(0, 1, m_steps + 1), trapezoid rule) is
// riemann_trapezoid with steps = m_steps + 1.
#pragma once
#include <string>
#include <vector>

#include "xai/saliency.h"

namespace gt::xai {

// The nodes a_k in [0, 1], ascending, and their weights w_k.
struct Quadrature {
  std::vector<double> alphas, weights;
};
// Throws for an unknown method or too few steps (trapezoid needs 2).
Quadrature quadrature(const std::string& method, int steps);
// The method names quadrature() accepts.
std::vector<std::string> ig_methods();

// steps: quadrature points (one input gradient each); method: one of ig_methods().
struct IgOptions {
  int steps = 50;
  std::string method = "gausslegendre";
  int batch = 10;     // interpolation points per forward pass
  Progress progress;  // optional
  // Where the points are made and the gradients summed: the model's device (a GPU then holds the
  // whole computation; only the (1,C,H,W) result comes back to x's device).
  Device device = Device::cpu;
};

struct IgResult {
  Tensor attribution;  // (1,C,H,W)
  // F(x) and F(x'): the target's score at the input and at the baseline
  double f_x = 0, f_baseline = 0;
  double delta = 0;  // sum(attribution) - (f_x - f_baseline)
};

// x and baseline: (1,C,H,W) model inputs (the baseline is already preprocessed), or (1,F) table rows.
IgResult integrated_gradients(const Model& model, const Tensor& x, const Tensor& baseline, const Target& t,
                              const IgOptions& o);

}  // namespace gt::xai
