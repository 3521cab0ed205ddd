// ONNX models (`torch.onnx.export`, tf2onnx, ...), parsed by Debian's libonnx protobuf classes and
// turned into an nn::GraphSpec, then an nn::GraphModel. Weights come as initializers or as external
// data files next to the model. ONNX stores no preprocessing: the caller says it (ImportOptions).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/graph.h"

namespace gt {

// What a model file does not say about its input, from the command line (--preprocess, --size,
// --labels). Empty or 0: the defaults (see onnx::load).
struct ImportOptions {
  std::string preprocess;  // torch | tf | caffe | unit | none
  int64_t size = 0;        // the input's height and width where the file leaves them open
  std::string labels;      // a file with one class name per line
};

namespace onnx_import {

// The graph of an ONNX file held in memory; `dir` is where external data files are looked up
// (empty: refused). Throws gt::Error naming `name` for anything that is not a valid ONNX model.
nn::GraphSpec read_graph(const std::vector<uint8_t>& bytes, const std::string& name, const std::string& dir);
nn::GraphSpec read_graph(const std::string& path);
// A TensorProto's values (the conformance test's input_k.pb / output_k.pb files).
nn::HostValue read_tensor(const std::vector<uint8_t>& bytes, const std::string& name);

// An image classifier from an ONNX file: one 4-D input (N, C, H, W) and logits out. Dynamic height
// and width need o.size. Preprocessing and labels default to the torchvision convention (torch
// normalisation, crop resizing, the ImageNet names) for a 3 x 224 x 224-ish input with 1000 outputs;
// any other model must state its preprocessing.
std::unique_ptr<nn::Model> load(const std::string& path, const ImportOptions& o = {}, DType dtype = DType::f32);

}  // namespace onnx_import
}  // namespace gt
