// LIME and KernelSHAP: attributions that need no gradient. The image is cut into S superpixels
// (xai/superpixels.h); a coalition z in {0,1}^S keeps segment s where z_s = 1 and shows the
// baseline there where z_s = 0:
//   h_x(z) = z . x + (1 - z) . baseline        (z taken at each pixel's segment)
// and a linear model of the network's score on these images,
//   g(z) = phi_0 + sum_s phi_s z_s  ~  f(h_x(z)),
// is fit by weighted least squares over sampled coalitions. phi_s is segment s's attribution.
//
//   LIME (Ribeiro, Singh, Guestrin 2016, as lime_image does it): z_s ~ Bernoulli(1/2), the first
//     sample z = 1; weight pi(z) = sqrt(exp(-d(z)^2 / w^2)), d the cosine distance from z to 1,
//     d = 1 - sqrt(|z| / S), w = 0.25; ridge penalty lambda sum_s phi_s^2 (not on phi_0), lambda = 1.
//   KernelSHAP (Lundberg & Lee 2017): pi(z) = (S - 1) / (C(S, |z|) |z| (S - |z|)), with
//     phi_0 = f(baseline) and sum_s phi_s = f(x) - f(baseline) imposed (the last phi is eliminated).
//     With every coalition (when 2^S - 2 <= samples) the phi are exactly the Shapley values of the
//     game v(T) = f(h_x(1_T)). Otherwise coalitions are drawn with probability proportional to
//     pi(z) (a size k with probability ~ 1 / (k (S - k)), then k segments at random), each with
//     its complement, and fit with equal weights.
// The score is the target's logit, as for the gradient methods (lime_image fits probabilities).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "xai/saliency.h"
#include "xai/superpixels.h"

namespace gt::xai {

struct SurrogateOptions {
  int samples = 1000;          // coalitions evaluated (KernelSHAP: besides z = 1 and z = 0)
  int batch = 16;              // images per forward pass
  uint64_t seed = 0;           // the coalitions' draws
  double kernel_width = 0.25;  // LIME's w
  double ridge = 1;            // LIME's lambda
  Progress progress;           // optional: images evaluated of the total
};

struct SurrogateResult {
  Tensor attribution;       // (1,C,H,W): phi of each pixel's segment, in every channel
  std::vector<double> phi;  // one per segment
  double phi0 = 0;          // LIME: the intercept; KernelSHAP: f(baseline)
  double f_x = 0, f_baseline = 0;
  double r2 = 0;            // the fit's weighted R^2 over the samples: how linear the score is in z
  int64_t evaluations = 0;  // images the model saw
  bool exact = false;       // KernelSHAP took every coalition: phi are the exact Shapley values
};

// x and baseline (1,C,H,W) in model-input space; seg at x's height and width.
SurrogateResult lime(const Model& model, const Tensor& x, const Tensor& baseline, const Segments& seg, const Target& t,
                     const SurrogateOptions& o);
SurrogateResult kernel_shap(const Model& model, const Tensor& x, const Tensor& baseline, const Segments& seg,
                            const Target& t, const SurrogateOptions& o);

// KernelSHAP of any game of S players (image segments, table features): value(zs) returns v(z) for
// each coalition row z, of which zs[0] is all ones (the input) and zs[1] all zeros (the baseline);
// the coalitions, weights and constrained fit are as above. attribution is left undefined.
using Coalitions = std::vector<std::vector<uint8_t>>;  // rows z in {0,1}^S
SurrogateResult kernel_shap_game(int64_t S, const std::function<std::vector<double>(const Coalitions&)>& value,
                                 const SurrogateOptions& o);

// LIME's fit alone, from coalitions z (rows of S zeros and ones, the first the image's z = 1) and their
// scores y: phi0, phi and r2 of the result are set.
enum class LimeDistance { cosine, euclidean };  // lime_image's, lime_tabular's
SurrogateResult lime_fit(const std::vector<std::vector<uint8_t>>& z, const std::vector<double>& y, double kernel_width,
                         double ridge, LimeDistance distance = LimeDistance::cosine);

// The baseline that lime_image uses by default: every segment filled with its own mean, per channel.
Tensor segment_means(const Tensor& x, const Segments& seg);

}  // namespace gt::xai
