// DeepLIFT (Shrikumar, Greenside, Kundaje 2017, "Learning Important Features Through Propagating
// Activation Differences") and DeepLiftShap (Lundberg and Lee 2017, as Captum has it).
//
// DeepLIFT explains f(x) - f(x') by the differences x - x' from a reference x'. Each op gets a
// multiplier m = dy/dx of differences, m_{dx dy} = (y - y') / (x - x'), and multipliers chain like
// derivatives: m_{x f} = sum_y m_{x y} m_{y f}. The contributions C_i = (x_i - x'_i) m_{x_i f} then sum
// to f(x) - f(x') exactly (summation-to-delta), whatever the network. The backward pass is the
// model's own on the tape, with three ops changed (a backward override):
//   - linear ops (conv, dense, pooling, sums, batch norm, reshapes): the gradient, which is their
//     multiplier;
//   - an elementwise nonlinearity y = g(z) (ReLU, sigmoid, tanh, ...), the Rescale rule:
//       m = (g(z) - g(z')) / (z - z'), or g'(z) where |z - z'| < eps;
//   - max pooling, Captum's rule: the output difference max(o, o') - o' goes to the input's
//     argmax, o - max(o, o') to the reference's, each divided by that element's x - x';
//   - a product a b of two variables: the Shapley split of a bilinear map, m_a = (b + b') / 2,
//     m_b = (a + a') / 2, exact (Captum takes the gradient there).
// RevealCancel (section 3.5.3) splits the difference at a nonlinearity's input into its positive and
// negative contributions dz+ and dz- (from the linear op before it: sum_i w_i dx_i by the sign of
// each term) and gives each its own multiplier, the average of its effect with and without the
// other:
//   dy+ = 1/2 (g(z' + dz+) - g(z')) + 1/2 (g(z' + dz- + dz+) - g(z' + dz-)),   m+ = dy+ / dz+
//   dy- = 1/2 (g(z' + dz-) - g(z')) + 1/2 (g(z' + dz+ + dz-) - g(z' + dz+)),   m- = dy- / dz-
// and the linear op hands m+ back along the terms that made dz+, m- along those that made dz-
// (the reference implementation's, kundajelab/deeplift). Where the input is not a linear op's
// output, dz+ and dz- are the parts of dz by sign, and RevealCancel is Rescale.
//
// The reference runs first, on a tape of its own that keeps every node's values; the input runs on
// another, and their nodes pair up by position (the same model on the same shape records the same
// ops). Activations stay unfused from their conv, so each keeps its own input.
#pragma once
#include <string>

#include "xai/saliency.h"

namespace gt::xai {

struct DeepLiftOptions {
  enum class Rule { rescale, reveal_cancel };
  Rule rule = Rule::rescale;
  // |x - x'| below which a nonlinearity's gradient stands in for its secant (Captum's eps).
  double eps = 1e-10;
  int batch = 4;  // baselines per pass
  Progress progress;
  // Optional: sees each node's contributions m (y - y') at its output and inputs (one baseline at a
  // time: batch 1), as inspect --rule shows them.
  RelevanceObserver observe;
};

struct DeepLiftResult {
  Tensor attribution;  // (1,...) like x: the mean over the baselines of (x - x'_i) m_i
  double f_x = 0;
  double f_baseline = 0;  // the mean of f(x'_i)
  double delta = 0;       // sum(attribution) - (f_x - f_baseline): 0 up to rounding
};

// x: one model input (1,C,H,W) or (1,F); baselines: B of them, (B,C,H,W) or (B,F), already
// preprocessed. B = 1 is DeepLIFT, B > 1 DeepLiftShap (the mean over the baselines).
DeepLiftResult deeplift(const Model& model, const Tensor& x, const Tensor& baselines, const Target& t,
                        const DeepLiftOptions& o = {});

// "rescale" or "reveal-cancel"; InvalidArgument naming both otherwise.
DeepLiftOptions::Rule deeplift_rule(const std::string& name);

}  // namespace gt::xai
