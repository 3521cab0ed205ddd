// Superpixels: the "interpretable features" of LIME and KernelSHAP on images (xai/surrogate.h).
//
// SLIC (Achanta et al. 2012, "SLIC Superpixels Compared to State-of-the-Art Superpixel Methods"):
// k-means on (L, a, b, y, x), with each centre searching only a 2S x 2S window, S = sqrt(H W / n):
//   D^2 = d_lab^2 + (d_xy / S)^2 m^2
// where m, the compactness, trades colour against distance (large m: squarer segments). Centres start
// on a regular grid, each moved to the lowest colour gradient of its 3x3 neighbourhood so that none
// sits on an edge; 10 assignment / update rounds follow. A last pass makes every segment one
// 4-connected region: pieces smaller than a quarter of the mean segment join a neighbour.
#pragma once
#include <cstdint>
#include <vector>

namespace gt::xai {

struct Segments {
  int64_t height = 0, width = 0, count = 0;
  std::vector<int32_t> label;  // H*W, row-major, each in [0, count); every label a connected region
};

// rgb: C planes of H*W pixel values in [0, 255] (C = 3: RGB, converted to CIELAB; C = 1: grey,
// L = 100 v / 255). segments: the number wanted (>= 1; the result has about that many);
// compactness > 0 (10 is skimage's default for CIELAB).
Segments slic(const std::vector<float>& rgb, int64_t channels, int64_t height, int64_t width, int64_t segments,
              double compactness = 10, int iterations = 10);

}  // namespace gt::xai
