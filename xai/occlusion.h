// Occlusion (Zeiler & Fergus 2014): slide a window over the image, replace what it covers by the
// baseline image there, and credit each pixel with the drop of the score, averaged over the windows
// that covered it:
//   A(p) = mean over windows W containing p of [ F(x) - F(x with W taken from the baseline) ]
// Windows cover every channel, start at 0 and step by `stride`; floor((H - window) / stride) + 1
// positions per axis, as Captum's Occlusion places them (pixels no window covers get 0).
#pragma once
#include "xai/saliency.h"

namespace gt::xai {

struct OcclusionOptions {
  // the square window's side and its step, in pixels; 1 <= window <= min(H, W)
  int window = 16;
  int stride = 8;
  int batch = 16;     // occluded copies per forward pass
  Progress progress;  // optional: windows done of the total
};

// x and baseline (1,C,H,W) in model-input space (the CLI makes the baseline from a pixel value, so a
// gray fill stays gray after preprocessing). Returns (1,C,H,W): the same value in every channel of a
// pixel, as windows span all channels.
Tensor occlusion(const Model& model, const Tensor& x, const Tensor& baseline, const Target& t,
                 const OcclusionOptions& o);

}  // namespace gt::xai
