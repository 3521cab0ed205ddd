// Keras model files, the network a student trained: tf-keras `model.save('m.h5')` (a model_config
// JSON attribute beside the model_weights group) and Keras 3 `model.save('m.keras')` (a zip holding
// config.json and model.weights.h5). Sequential and Functional models, nested ones inlined (the
// transfer-learning layout: a pretrained base inside a Sequential), become an nn::GraphModel whose
// nodes carry the Keras layer names. Keras computes channels-last; the graph runs channels-first,
// so kernels are transposed once at load and Flatten and Reshape see the NHWC order they expect.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/graph.h"
#include "weights/import.h"

namespace gt {
namespace h5 {
class File;
}

namespace keras_import {

// Where a layer's variables are: the legacy .h5 layout (model_weights/<top>/<layer>/<name>) or
// Keras 3's (layers/<object path>/vars/<k>).
struct WeightFile {
  const h5::File* file = nullptr;  // none: every layer's variables are missing
  bool numbered = false;           // a .keras archive's layers/<object path>/vars/<k>
  bool keras3 = false;             // written by Keras 3 (its hard_sigmoid differs from tf-keras')
};

// A model_config / config.json text and its weights as a graph. `name` is for messages.
nn::GraphSpec read_graph(const std::string& config_json, const WeightFile& weights, const std::string& name);
// True for an .h5 that `model.save` wrote (it has a model_config).
bool is_model_file(const h5::File& f);
// The members of a .keras zip that matter, checked against size limits (a zip bomb is refused).
struct Archive {
  std::string config, weights_h5;
};
Archive read_archive(const std::vector<uint8_t>& zip, const std::string& name);

// An image classifier (or any model with one input) from a .h5 or .keras model file. Keras models
// carry their preprocessing inside (Rescaling, Normalization layers) or nowhere: `o.preprocess`
// defaults to "none" (the pixels in 0..255 go in as they are) unless given.
std::unique_ptr<nn::Model> load(const std::string& path, const ImportOptions& o = {}, DType dtype = DType::f32);

}  // namespace keras_import
}  // namespace gt
