// Faithfulness of an attribution map (Petsiuk, Das, Saenko 2018, "RISE"):
//   deletion   remove pixels from the image, most important first (they take the baseline's
//              values), and follow p(target). A faithful map makes it fall fast: low AUC is good.
//   insertion  start from the baseline and put pixels back in the same order. A faithful map makes
//              p(target) rise fast: high AUC is good.
// The curve has steps+1 points at fractions 0, 1/steps, ..., 1 of the pixels; the AUC is its
// trapezoid-rule area over [0, 1]. Ties in the map keep pixel order (a stable sort).
#pragma once
#include <vector>

#include "xai/saliency.h"

namespace gt::xai {

// p(target) at each fraction of the pixels changed, and the trapezoid area under it.
struct Curve {
  std::vector<double> fraction, prob;
  double auc = 0;
};

struct FaithfulnessOptions {
  // intervals of the curve: steps + 1 images are scored
  int steps = 50;
  int batch = 10;  // images per forward pass
};

// The pixels of a map, most important (highest) first; ties keep pixel order (a stable sort). The
// order deletion and insertion change the pixels in, and compare_maps' top fraction (xai/compare.h).
std::vector<int64_t> importance_order(const std::vector<float>& map);
// The same for double values (gradtrace evaluate's prepared maps): np.argsort(-a) on distinct values.
std::vector<int64_t> importance_order(const std::vector<double>& map);

// x, baseline (1,C,H,W); map H*W (higher = more important); the target's softmax probability.
Curve deletion(const Model& model, const Tensor& x, const Tensor& baseline, const std::vector<float>& map,
               int64_t target, const FaithfulnessOptions& o = {});
Curve insertion(const Model& model, const Tensor& x, const Tensor& baseline, const std::vector<float>& map,
                int64_t target, const FaithfulnessOptions& o = {});

}  // namespace gt::xai
