// Any weights file gradtrace reads, by its name: the one entry point the CLI, the report and the
// Python module use to get a model.
#pragma once
#include <memory>
#include <string>

#include "nn/model.h"
#include "weights/import.h"

namespace gt {

// `weights` is one of:
//   ""  or "fashion_cnn"   the embedded fashion_cnn;
//   random:ARCH[:SEED]     the architecture with fresh weights (nn::init_parameters, seed 0 by
//                          default): the model-randomisation sanity check of Adebayo et al. (2018);
//   FILE.tflite            a TF Lite MobileNet V1;
//   FILE.h5                a Keras applications file or gradtrace's own format;
//   FILE.onnx              any image classifier in ONNX (weights/onnx.h), with `import` saying
//                          what the file does not (preprocessing, input size, labels).
// When `arch` is not empty the file must hold that architecture. The model is moved to `device`, its
// parameters in `dtype` (float64: read as such where the file holds more, else converted exactly).
// A bad name or seed is an InvalidArgument; an unreadable file an Error naming it.
std::unique_ptr<nn::Model> load_model(const std::string& weights, const std::string& arch = "",
                                      Device device = Device::cpu, DType dtype = DType::f32,
                                      const ImportOptions& import = {});

}  // namespace gt
