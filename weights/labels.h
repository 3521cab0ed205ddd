// ImageNet class names, shipped inside gradtrace (weights/imagenet_labels.inc).
#pragma once
#include <string>
#include <vector>

#include "nn/model.h"

namespace gt {

// set: "imagenet1000" (Keras/torchvision order), "imagenet1001" (TF Lite: 0 = background) or "none".
const std::vector<std::string>& class_labels(const std::string& set);
// A model's class names: its own (labels "custom") or its label set's.
const std::vector<std::string>& class_names(const nn::ModelInfo& info);
// The name of class k, or "class k" when the model has no names or k is outside them.
std::string class_name(const nn::ModelInfo& info, int64_t k);

}  // namespace gt
