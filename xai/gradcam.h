// Class activation maps from a layer's activations A (1,K,h,w) and gradients G = d y_c / d A:
//   Grad-CAM    (Selvaraju et al. 2017)  L = ReLU( sum_k a_k A_k ),  a_k = 1/(hw) sum_ij G_k,ij
//   Grad-CAM++  (Chattopadhay et al. 2018)  a_k = sum_ij w_k,ij ReLU(G_k,ij),
//               w_k,ij = G_k,ij^2 / (2 G_k,ij^2 + (sum_ab A_k,ab) G_k,ij^3)   (0 where G = 0)
// The map is L upsampled bilinearly (half-pixel centres) to the input's size.
//   Guided Backprop (Springenberg et al. 2015): d y_c / d x with every ReLU's backward also
//               zeroing negative gradients:  dx = (x > 0) (dy > 0) dy
//   Guided Grad-CAM: Guided Backprop times the upsampled Grad-CAM map, per channel.
#pragma once
#include <functional>
#include <string>
#include <utility>

#include "xai/method.h"
#include "xai/saliency.h"

namespace gt::xai {

// The map L for one image (1,C,H,W), at two resolutions; both are >= 0.
struct Cam {
  Tensor cam;  // (h, w): at the layer's resolution, after the ReLU
  Tensor map;  // (H, W): upsampled to the input
};

// A layer name the model does not have; the message lists the closest names. The caller's to fix: an
// InvalidArgument (a usage error in the CLI).
struct UnknownLayer : InvalidArgument {
  using InvalidArgument::InvalidArgument;
};

// layer: a layer name as `gradtrace layers` lists it; its last op's output is A.
Cam gradcam(const Model& model, const Tensor& x, const Target& t, const std::string& layer, bool plus_plus = false);
// The model run on x with layer's output A (1,K,h,w) kept: A and d score / d A (UnknownLayer when the
// model has no such layer). Without `gradient` (Eigen-, Score-, Ablation-CAM) no backward pass runs
// and the second is undefined.
std::pair<Tensor, Tensor> activation_and_gradient(const Model& model, const Tensor& x, const Target& t,
                                                  const std::string& layer, bool gradient = true);
// A CAM from its map L (1,1,h,w) before the ReLU: ReLU(L), and that upsampled bilinearly to x's size.
Cam cam_from(const Tensor& L, const Tensor& x);
// A CAM method's registry entry (xai/cam_family.cpp uses it too): `make` gives the map at --layer
// (default: the model's last conv block) with the method's options (`options`, beside --layer), and
// guided multiplies Guided Backprop by it.
using CamFn =
    std::function<Cam(const Model&, const Tensor& x, const Target&, const std::string& layer, const Options&)>;
Method cam_entry(const std::string& name, const std::string& summary, const std::string& paper, CamFn make,
                 bool guided = false, const std::vector<OptionSpec>& options = {});
// d score / d x (1,C,H,W) with the Guided Backprop rule above on every relu and relu6 node.
Tensor guided_backprop(const Model& model, const Tensor& x, const Target& t);
// Deconvnet (Zeiler and Fergus 2014; Captum's Deconvolution): d score / d x with every relu and relu6
// node's backward replaced by relu(dy), the ReLU applied to the gradient regardless of its input.
Tensor deconvnet(const Model& model, const Tensor& x, const Target& t);
// Guided Backprop times the upsampled Grad-CAM map of `layer`, in every channel: (1,C,H,W).
Tensor guided_gradcam(const Model& model, const Tensor& x, const Target& t, const std::string& layer);
// The same from a Guided Backprop attribution (1,C,H,W) and an upsampled Grad-CAM map (H,W).
Tensor guided_gradcam(const Tensor& guided, const Tensor& map);

}  // namespace gt::xai
