// Vanilla gradient saliency (Simonyan, Vedaldi, Zisserman 2014):
//   S(x) = d y_c / d x,   map(i,j) = max_k |S(x)[k,i,j]|
#pragma once
#include <functional>
#include <vector>

#include "autodiff/tensor.h"

namespace gt::xai {

using Model = std::function<Tensor(const Tensor&)>;  // x (N,C,H,W) -> logits (N,K)

// y_c as a one-value tensor: sum_k logits[0,k] * [k == c]
Tensor class_score(const Tensor& logits, int64_t target);
// d y_c / d x for one image x (1,C,H,W); only input gradients are computed.
Tensor saliency(const Model& model, const Tensor& x, int64_t target);

enum class ChannelReduce { max_abs, mean_abs, l2 };
// (1,C,H,W) -> H*W values
std::vector<float> channel_map(const Tensor& attribution, ChannelReduce r = ChannelReduce::max_abs);

}  // namespace gt::xai
