#include "weights/load.h"

#include "io/hdf5.h"
#include "nn/init.h"
#include "weights/format.h"
#include "weights/keras.h"
#include "weights/keras_model.h"
#include "weights/onnx.h"
#include "weights/tflite.h"

namespace gt {
namespace {

// "ARCH[:SEED]": an untrained network. A map that looks the same on it as on the trained network
// does not explain the training.
std::unique_ptr<nn::Model> random_model(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string arch = spec.substr(0, colon), seed = colon == std::string::npos ? "0" : spec.substr(colon + 1);
  if (seed.empty() || seed.find_first_not_of("0123456789") != std::string::npos || seed.size() > 18)
    throw InvalidArgument("--weights random:" + spec + ": the seed must be a non-negative integer (random:vgg16:7)");
  try {
    nn::check_model_name(arch);
  } catch (const Error& e) {
    throw InvalidArgument("--weights random:" + spec + ": " + e.what());
  }
  auto m = nn::make_model(arch);
  nn::init_parameters(*m, std::stoull(seed));
  m->info.variant = "random";  // only a label from here on: the layout and preprocessing stay keras'
  return m;
}

bool is_keras_model_file(const std::string& path) {
  return keras_import::is_model_file(h5::File(path, h5::File::Mode::read));
}

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

}  // namespace

std::unique_ptr<nn::Model> load_model(const std::string& weights, const std::string& arch, Device device, DType dtype,
                                      const ImportOptions& import) {
  if (!arch.empty()) {
    try {
      nn::check_model_name(arch);
    } catch (const Error& e) {
      throw InvalidArgument(std::string("--model: ") + e.what());
    }
  }
  std::unique_ptr<nn::Model> m;
  if (weights.empty() || weights == "fashion_cnn")
    m = load_embedded_weights();
  else if (weights.rfind("random:", 0) == 0)
    m = random_model(weights.substr(7));
  else if (ends_with(weights, ".onnx"))
    m = onnx_import::load(weights, import, dtype);
  else if (ends_with(weights, ".tflite"))
    m = tflite::load(weights, import, dtype);
  else if (ends_with(weights, ".keras") || (ends_with(weights, ".h5") && is_keras_model_file(weights)))
    m = keras_import::load(weights, import, dtype);
  else if (ends_with(weights, ".h5"))
    m = is_keras_file(weights) ? load_keras(weights, arch, dtype) : load_weights(weights, dtype);
  else
    throw Error("weights file " + weights +
                ": unsupported format (gradtrace reads .onnx, .keras, .tflite, Keras .h5 and its own .h5)");
  if (!arch.empty() && arch != m->info.arch)
    throw Error("weights file " + weights + " holds a " + m->info.arch + ", not a " + arch);
  m->to(dtype);
  m->to(device);
  return m;
}

}  // namespace gt
