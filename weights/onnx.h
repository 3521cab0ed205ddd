// ONNX models (`torch.onnx.export`, tf2onnx, ...), parsed by Debian's libonnx protobuf classes and
// turned into an nn::GraphSpec, then an nn::GraphModel. Weights come as initializers or as external
// data files next to the model. ONNX stores no preprocessing: the caller says it (ImportOptions).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/graph.h"
#include "weights/import.h"

namespace gt {

namespace onnx_import {

// The graph of an ONNX file held in memory; `dir` is where external data files are looked up
// (empty: refused). Throws gt::Error naming `name` for anything that is not a valid ONNX model.
nn::GraphSpec read_graph(const std::vector<uint8_t>& bytes, const std::string& name, const std::string& dir);
nn::GraphSpec read_graph(const std::string& path);
// A TensorProto's values (the conformance test's input_k.pb / output_k.pb files).
nn::HostValue read_tensor(const std::vector<uint8_t>& bytes, const std::string& name);

// An image classifier from an ONNX file: one 4-D input (N, C, H, W) and logits out (weights/import.h).
std::unique_ptr<nn::Model> load(const std::string& path, const ImportOptions& o = {}, DType dtype = DType::f32);

}  // namespace onnx_import
}  // namespace gt
