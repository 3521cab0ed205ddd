// A model's input from what the user names with --image: a picture file or an example of a dataset.
#pragma once
#include <string>

#include "autodiff/tensor.h"
#include "nn/model.h"

namespace gt::data {

// --image as pixels (1,3,H,W) in [0,255] at the model's input size: a picture (resized as `resize`
// says, "" = the model's default) or fashion-mnist:SPLIT:K, whose label goes to true_label.
Tensor load_pixels(const std::string& image, const nn::ModelInfo& info, const std::string& resize,
                   std::string* true_label = nullptr);

}  // namespace gt::data
