// TF Lite flatbuffer models, read without TensorFlow (schema: tensorflow/lite/schema/schema.fbs).
// Weights are dequantized to float32: q -> (q - zero_point) * scale, per tensor or per channel.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autodiff/tensor.h"
#include "nn/model.h"

namespace gt::fb {
class Buffer;
}

namespace gt::tflite {

enum Builtin : int {
  AVERAGE_POOL_2D = 1,
  CONV_2D = 3,
  DEPTHWISE_CONV_2D = 4,
  DEQUANTIZE = 6,
  RESHAPE = 22,
  SOFTMAX = 25,
  SQUEEZE = 43,
  QUANTIZE = 114
};
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
  int activation = NONE;
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

 private:
  void parse(const fb::Buffer& buf);
  std::string path_;
  std::vector<std::vector<uint8_t>> buffers_;
};

// Recognises the graph (MobileNet V1 today), builds the zoo model and fills its weights.
std::unique_ptr<nn::Model> load(const std::string& path);
std::unique_ptr<nn::Model> load(const File& f);

}  // namespace gt::tflite
