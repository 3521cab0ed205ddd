// What the importers of other frameworks' model files (ONNX, Keras model files) share: the options a
// file does not answer, and turning a built nn::GraphModel into an explainable classifier.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/graph.h"

namespace gt {

// What a model file does not say about its input, from the command line (--preprocess, --size,
// --labels). Empty or 0: the defaults (see finish_import).
struct ImportOptions {
  std::string preprocess;  // torch | tf | caffe | unit | gray | none
  int64_t size = 0;        // the input's height and width where the file leaves them open
  std::string labels;      // a file with one class name per line
};

// A final Softmax (Keras' Dense(..., activation='softmax'), an exported probability output) is cut
// off: gradtrace explains logits, as tf-keras-vis' ReplaceToLinear does. Returns whether it was.
bool strip_final_softmax(nn::GraphSpec& s);

// Fills g's ModelInfo: the input's (C, H, W) from the file or o.size (one 4-D input required), a dry
// run for the class count and Grad-CAM's default layer (the last node with a 4-D output wider than
// 1x1), and the preprocessing: o.preprocess; else `preset`, what the file itself implies ("none" for
// a model that scales its pixels itself: Keras Rescaling, a quantized TF Lite input); else
// `imagenet` (the framework's convention: torch for ONNX, tf for TF Lite) for a 3-channel model with
// 1000 or 1001 classes; else an error asking for --preprocess.
std::unique_ptr<nn::Model> finish_import(std::unique_ptr<nn::GraphModel> g, const std::string& path,
                                         const std::string& arch, const ImportOptions& o, const std::string& preset,
                                         const std::string& imagenet);

}  // namespace gt
