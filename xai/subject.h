// A model and one image, loaded once; every method runs on it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/model.h"
#include "weights/load.h"
#include "xai/metrics.h"
#include "xai/saliency.h"

namespace gt::xai {

struct Subject {
  std::unique_ptr<nn::Model> model;
  std::string resize;        // the --resize override ("" = the weights' default), for file baselines
  Tensor pixels;             // (1,3,H,W) in [0, 255]; undefined when the input was an .h5 tensor
  Tensor x;                  // the model input, on the model's device
  std::vector<float> probs;  // softmax of the logits
  int64_t top1 = 0;
  std::string true_label;  // the dataset's label (--image fashion-mnist:test:K), else empty
  Model fn;

  // A picture of one pixel value everywhere, in model-input space (a gray fill stays gray), as x's
  // dtype and device.
  Tensor pixel_fill(double v) const;
  // The picture blurred with sigma 10 px, in model-input space (an .h5 input is blurred as it is).
  Tensor blurred() const;
  // A baseline x' in model-input space, by name: black, white, gray (pixel values 0, 255, 128),
  // noise (uniform pixels from seed), blur, or an image / .h5 file of the input's shape.
  Tensor baseline(const std::string& name, uint64_t seed = 0) const;
};

// weights: as gt::load_model takes it; image: a picture, fashion-mnist:SPLIT:K or an .h5 tensor.
// The model runs in dtype (float64: the model and the tape in double), and x is made in it.
Subject load_subject(const std::string& weights, const std::string& arch, const std::string& image,
                     const std::string& resize, Device device = Device::cpu, DType dtype = DType::f32,
                     const ImportOptions& import = {});

// Points s at another input of its model: pixels (1,3,H,W) in [0,255] at the model's input size,
// preprocessed as the model says, or (pixels undefined) x in model-input space. Runs the model once
// for probs and top1.
void set_input(Subject& s, const Tensor& pixels, const Tensor& x = Tensor(), const std::string& true_label = "");

// Deletion (pixels go black, as RISE does) and insertion (pixels come back into the image blurred
// with sigma 10 px) curves of a map for one class.
struct Faithfulness {
  Curve deletion, insertion;
};
Faithfulness faithfulness(Subject& s, const std::vector<float>& map, int64_t target, int steps);

}  // namespace gt::xai
