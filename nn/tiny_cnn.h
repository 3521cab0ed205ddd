// A tiny CNN for small RGB images, used by the demo and the tests:
//   conv1 3x3 (3->8, pad 1) relu, pool1 max 2x2, conv2 3x3 (8->16, pad 1) relu, gap, fc (16->classes)
#pragma once
#include <memory>

#include "nn/layers.h"

namespace gt::nn {

// He-uniform random weights, deterministic from the seed.
std::unique_ptr<Sequential> tiny_cnn(int64_t classes, uint64_t seed);
// The same network with hand-set weights and 2 classes: conv1 holds Sobel filters (both signs, both
// directions) on the luminance, conv2 passes them on, and class 0 ("edges") scores the mean edge
// strength while class 1 ("flat") scores its negation. Its saliency map outlines the image's edges.
std::unique_ptr<Sequential> tiny_edge_cnn();

}  // namespace gt::nn
