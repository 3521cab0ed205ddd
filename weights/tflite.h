// TF Lite flatbuffer models, read without TensorFlow (schema: tensorflow/lite/schema/schema.fbs).
// Weights are dequantized to float32: q -> (q - zero_point) * scale, per tensor or per channel.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/tensor.h"
#include "nn/graph.h"
#include "weights/import.h"

namespace gt::fb {
class Buffer;
}

namespace gt::tflite {

enum Builtin : int {
  ADD = 0,
  AVERAGE_POOL_2D = 1,
  CONCATENATION = 2,
  CONV_2D = 3,
  DEPTHWISE_CONV_2D = 4,
  DEQUANTIZE = 6,
  FULLY_CONNECTED = 9,
  LOGISTIC = 14,
  MAX_POOL_2D = 17,
  MUL = 18,
  RELU_OP = 19,
  RELU6_OP = 21,
  RESHAPE = 22,
  SOFTMAX = 25,
  PAD = 34,
  MEAN = 40,
  SUB = 41,
  SQUEEZE = 43,
  QUANTIZE = 114,
  HARD_SWISH = 117
};
// "CONV_2D", or "builtin op 42" for a code without a name here.
std::string builtin_name(int code);
enum Activation : int { NONE = 0, RELU = 1, RELU_N1_TO_1 = 2, RELU6 = 3 };

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  int type = 0;  // TensorType: 0 float32, 1 float16, 2 int32, 3 uint8, 9 int8
  int buffer = 0;
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int quantized_dimension = 0;
};

struct Operator {
  int code = 0;
  std::vector<int> inputs, outputs;
  // The options our importer reads (conv, depthwise conv, pooling); defaults as in the schema.
  int padding = 0;  // 0 SAME, 1 VALID
  int stride_w = 1, stride_h = 1, dilation_w = 1, dilation_h = 1, depth_multiplier = 1;
  int filter_w = 1, filter_h = 1;
  int activation = NONE;   // fused after the op
  int axis = 0;            // CONCATENATION
  bool keep_dims = false;  // MEAN (ReducerOptions); FULLY_CONNECTED keep_num_dims
  std::vector<int> dims;   // RESHAPE new_shape, SQUEEZE squeeze_dims
};

class File {
 public:
  explicit File(const std::string& path);
  File(const std::vector<uint8_t>& bytes, const std::string& name);  // a file held in memory (the fuzzer)
  const std::string& path() const { return path_; }
  std::vector<TensorInfo> tensors;
  std::vector<Operator> ops;
  std::vector<int> inputs, outputs;
  // The constant data of a tensor as float32, dequantized, in TF Lite's layout (shape as stored).
  Tensor constant(int tensor) const;
  // Whether the tensor has data in the file (a constant), not only a buffer slot.
  bool has_data(int tensor) const {
    const int b = tensors.at(size_t(tensor)).buffer;
    return b > 0 && size_t(b) < buffers_.size() && !buffers_[size_t(b)].empty();
  }

 private:
  void parse(const fb::Buffer& buf);
  std::string path_;
  std::vector<std::vector<uint8_t>> buffers_;
};

// A MobileNet V1 graph becomes the zoo's mobilenet_v1 (its layer names and fused kernels); any other
// graph of the ops above becomes an nn::GraphModel (weights/tflite_graph.cpp), quantized ones
// dequantized to float.
std::unique_ptr<nn::Model> load(const std::string& path, const ImportOptions& o = {}, DType dtype = DType::f32);
std::unique_ptr<nn::Model> load(const File& f, const ImportOptions& o = {}, DType dtype = DType::f32);
// OHWI (a TF Lite conv filter) -> OIHW;  [1, kh, kw, C*m] (depthwise) -> (C*m, 1, kh, kw).
Tensor to_oihw(const Tensor& w, bool depthwise);
// The graph path of load() for any graph.
std::unique_ptr<nn::Model> load_graph(const File& f, const ImportOptions& o, DType dtype);
// The graph of f, and per layer the quantization of its output ("uint8 scale 0.0235 zero point 0").
nn::GraphSpec read_graph(const File& f, std::map<std::string, std::string>* notes = nullptr);

}  // namespace gt::tflite
