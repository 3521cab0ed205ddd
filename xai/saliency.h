// Gradient attributions of a class score with respect to the input image.
//
//   saliency     S(x) = d y_c / d x                               (Simonyan, Vedaldi, Zisserman 2014)
//   gradxinput   x . d y_c / d x                                  (Shrikumar et al. 2016)
//   smoothgrad   1/n sum_i d y_c / d x |_{x + e_i},  e_i ~ N(0, sigma^2)   (Smilkov et al. 2017)
//                (squared: 1/n sum_i (d y_c / d x)^2)
// A map for display reduces the channels of an attribution (1,C,H,W) at each pixel.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "autodiff/tape.h"
#include "autodiff/tensor.h"

namespace gt::xai {

using Model = std::function<Tensor(const Tensor&)>;  // x (N,C,H,W) -> logits (N,K)
// Progress of a long method: called after each batch with the work done and the total.
using Progress = std::function<void(int64_t done, int64_t total)>;

// Sees each tape node of a relevance method (LRP, DeepLIFT) as its backward runs: the relevance at
// the node's output and what it handed to each input (undefined where an input takes none).
using RelevanceObserver =
    std::function<void(size_t index, const Node& node, const Tensor& out, const std::vector<Tensor>& in)>;

// What to explain: one class's logit, or (all = true) the sum of every class's logit.
struct Target {
  int64_t index = 0;
  bool all = false;
};

// The scalar to differentiate: sum over the batch rows n of logits[n, c] (or of sum_k logits[n, k]).
Tensor target_score(const Tensor& logits, const Target& t);
// The score of each batch row separately, as numbers (no tape).
std::vector<double> row_scores(const Tensor& logits, const Target& t);

// The model's logits on `count` copies of one image x (1,C,H,W) made on the host, `batch` at a time,
// with no tape: make(i, img) writes copy i (C*H*W values, x's layout) to img, and take(i0, logits)
// receives the logits (n,K) of copies i0 .. i0+n-1. Occlusion, LIME, KernelSHAP and the
// deletion/insertion curves all score perturbed copies this way.
void score_copies(const Model& model, const Tensor& x, int64_t count, int64_t batch,
                  const std::function<void(int64_t i, double* img)>& make,
                  const std::function<void(int64_t i0, const Tensor& logits)>& take);

// d score / d x for a batch x (N,C,H,W): row n is the gradient of row n's score. Only the input
// gradient is computed, never a weight gradient. `setup` may add hooks to the tape first.
Tensor input_gradient(const Model& model, const Tensor& x, const Target& t,
                      const std::function<void(Tape&)>& setup = {});

// Raw attributions the shape of x: saliency for class `target`, gradxinput = x * input_gradient.
Tensor saliency(const Model& model, const Tensor& x, int64_t target);
Tensor gradxinput(const Model& model, const Tensor& x, const Target& t);

// n = samples noisy copies of x, their noise drawn from `seed`.
struct SmoothGradOptions {
  int samples = 25;
  double sigma = 0.15;   // noise standard deviation as a fraction of (max(x) - min(x))
  bool squared = false;  // average the squared gradients (SmoothGrad-Squared)
  uint64_t seed = 0;
  int batch = 5;                // noisy copies per forward pass
  Progress progress;            // optional
  Device device = Device::cpu;  // where the copies are made and the gradients summed: the model's
};
// x: one image (1,C,H,W) -> the mean of the n gradients (or of their squares), (1,C,H,W).
Tensor smoothgrad(const Model& model, const Tensor& x, const Target& t, const SmoothGradOptions& o);

// (1,C,H,W) -> H*W values. max_abs: max_k |a_k| (the course's map); mean_abs; l2: sqrt(sum_k a_k^2).
// signed_map keeps the sign: max_abs gives the a_k of largest magnitude, mean_abs the mean of a_k.
enum class ChannelReduce { max_abs, mean_abs, l2 };
std::vector<float> channel_map(const Tensor& attribution, ChannelReduce r = ChannelReduce::max_abs,
                               bool signed_map = false);

}  // namespace gt::xai
