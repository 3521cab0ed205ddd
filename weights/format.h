// Our weights format (weights/FORMAT.md): one HDF5 group per layer, PyTorch layouts, root attributes
// that name the architecture, variant, preprocessing, input size and label set.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "nn/model.h"

namespace gt {

namespace h5 {
class File;
}
// extra: writes more into the file before it is moved into place (a training checkpoint's state).
void save_weights(nn::Model& m, const std::string& path, const std::function<void(h5::File&)>& extra = {});
// dtype float64 keeps double-precision files exact (the peer tests compare in double).
std::unique_ptr<nn::Model> load_weights(const std::string& path, DType dtype = DType::f32);
std::unique_ptr<nn::Model> load_weights(const h5::File& f, DType dtype = DType::f32);  // an open file (or image)
std::unique_ptr<nn::Model> load_embedded_weights();
// Its bytes (a file that CMake generates from weights/fashion_cnn.h5; empty when that was missing).
extern const unsigned char embedded_fashion_cnn[];
extern const size_t embedded_fashion_cnn_size;
// Fills an existing model's parameters from a file in our format (its architecture must match).
void load_parameters(nn::Model& m, const std::string& path, DType dtype = DType::f32);

}  // namespace gt
