// The engine behind the attribution commands and the report: load a model and an image once, then
// run any method on them with its options.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/model.h"
#include "xai/integrated_gradients.h"
#include "xai/metrics.h"
#include "xai/occlusion.h"
#include "xai/saliency.h"
#include "xai/surrogate.h"
#include "render/viz.h"

namespace gt::cli {

// A model and one image.
struct Subject {
  std::unique_ptr<nn::Model> model;
  std::string resize;        // the --resize override ("" = the weights' default), for file baselines
  Tensor pixels;             // (1,3,H,W) in [0, 255]; undefined when the input was an .h5 tensor
  Tensor x;                  // the model input, on the model's device
  std::vector<float> probs;  // softmax of the logits
  int64_t top1 = 0;
  std::string true_label;    // the dataset's label (--image fashion-mnist:test:K), else empty
  xai::Model fn;
};
Subject load_subject(const std::string& weights, const std::string& model_name, const std::string& image,
                     const std::string& resize);

// Every method's options; each method reads its own.
struct MethodConfig {
  std::string method;                 // saliency, gradxinput, smoothgrad, ig, gradcam, gradcam++, ...
  std::string layer;                  // the CAM methods ("" = the model's default)
  std::string baseline = "black";     // ig
  uint64_t seed = 0;                  // ig's noise baseline
  double fill = 128;                  // occlusion, a pixel value
  xai::SmoothGradOptions smoothgrad;
  xai::IgOptions ig;
  xai::OcclusionOptions occlusion;
  xai::SurrogateOptions surrogate;  // lime, kernelshap
  int64_t segments = 50;            // superpixels wanted (SLIC)
  double compactness = 10;
  std::string hide = "mean";  // what a hidden superpixel shows: mean, blur, or a pixel value
  xai::ChannelReduce reduce = xai::ChannelReduce::max_abs;
  bool signed_map = false;
};

struct MethodResult {
  Tensor attribution;                               // (1,C,H,W); undefined for gradcam / gradcam++
  Tensor cam;                                       // (h,w) for the CAM methods
  std::vector<float> map;                           // H*W, the picture's values
  std::vector<std::pair<std::string, double>> facts;  // scalars for the raw file (f_x, delta, ...)
  std::vector<std::string> notes;                   // lines for the user (completeness, layer)
  std::string params;                               // the parameters in one line
  std::vector<std::pair<std::string, Tensor>> datasets;  // more for the raw file (lime: segments, phi)
  std::vector<int32_t> segments;                         // H*W superpixel labels, outlined on the image
};

bool is_cam_method(const std::string& method);
bool is_surrogate_method(const std::string& method);  // lime, kernelshap: signed maps of superpixels
// A usage error unless v is a valid --fill for lime and kernelshap: mean, blur or a pixel value.
void check_hide(const std::string& v);
// How a method's map is best normalised for display: Grad-CAM maps are smooth and non-negative, and
// min-max shows them as the paper does; gradient maps have a few extreme pixels, which percentile
// clipping keeps from darkening the rest; signed maps are symmetric around 0.
viz::Norm default_norm(const std::string& method, bool signed_map);
// Throws UsageError for an unknown layer (with the closest names) or a bad baseline name.
// IG, SmoothGrad, occlusion, LIME and KernelSHAP report their progress on stderr (a line that
// updates in place on a terminal, a few lines otherwise).
MethodResult run_method(const MethodConfig& c, Subject& s, const xai::Target& t);

// Deletion (pixels go black, as RISE does) and insertion (pixels come back into the image blurred
// with sigma 10 px) curves of a map for one class.
struct Faithfulness {
  xai::Curve deletion, insertion;
};
Faithfulness faithfulness(Subject& s, const std::vector<float>& map, int64_t target, int steps);

}  // namespace gt::cli
