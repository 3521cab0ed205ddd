// Our weights format (weights/FORMAT.md): one HDF5 group per layer, PyTorch layouts, root attributes
// that name the architecture, variant, preprocessing, input size and label set.
#pragma once
#include <memory>
#include <string>

#include "nn/model.h"

namespace gt {

void save_weights(nn::Model& m, const std::string& path);
// dtype float64 keeps double-precision files exact (the peer tests compare in double).
std::unique_ptr<nn::Model> load_weights(const std::string& path, DType dtype = DType::f32);
// Fills an existing model's parameters from a file in our format (its architecture must match).
void load_parameters(nn::Model& m, const std::string& path, DType dtype = DType::f32);

}  // namespace gt
