#include "weights/tflite.h"

#include <cmath>

#include "io/limits.h"
#include "weights/flatbuffer.h"
#include "weights/half.h"

namespace gt::tflite {

namespace {
// Bytes per element of a TensorType we read (0 for the others).
int element_size(int type) { return type == 0 || type == 2 ? 4 : type == 1 ? 2 : type == 3 || type == 9 ? 1 : 0; }
}  // namespace

std::string builtin_name(int code) {
  static const std::pair<int, const char*> names[] = {{0, "ADD"},
                                                      {1, "AVERAGE_POOL_2D"},
                                                      {2, "CONCATENATION"},
                                                      {3, "CONV_2D"},
                                                      {4, "DEPTHWISE_CONV_2D"},
                                                      {6, "DEQUANTIZE"},
                                                      {9, "FULLY_CONNECTED"},
                                                      {14, "LOGISTIC"},
                                                      {17, "MAX_POOL_2D"},
                                                      {18, "MUL"},
                                                      {19, "RELU"},
                                                      {21, "RELU6"},
                                                      {22, "RESHAPE"},
                                                      {23, "RESIZE_BILINEAR"},
                                                      {25, "SOFTMAX"},
                                                      {34, "PAD"},
                                                      {40, "MEAN"},
                                                      {41, "SUB"},
                                                      {43, "SQUEEZE"},
                                                      {114, "QUANTIZE"},
                                                      {117, "HARD_SWISH"}};
  for (auto& [c, n] : names)
    if (c == code) return n;
  return "builtin op " + std::to_string(code);
}

File::File(const std::string& path) : path_(path) {
  // A flatbuffer addresses its contents with 32-bit offsets: it cannot be larger than 2 GiB.
  std::vector<uint8_t> bytes = read_file(path, uint64_t(1) << 31, "TF Lite file " + path);
  parse(fb::Buffer(std::move(bytes), "TF Lite file " + path));
}

File::File(const std::vector<uint8_t>& bytes, const std::string& name) : path_(name) {
  parse(fb::Buffer(bytes, "TF Lite file " + name));
}

void File::parse(const fb::Buffer& buf) {
  const std::string& path = path_;
  if (buf.size() < 8 || std::memcmp(buf.data(4, 4), "TFL3", 4) != 0)
    throw Error("TF Lite file " + path + ": not a TF Lite model (no 'TFL3' identifier)");
  const fb::Table model(&buf, buf.read<uint32_t>(0));
  // Model: 1 operator_codes, 2 subgraphs, 4 buffers
  const fb::Vector codes = model.vector(1), subgraphs = model.vector(2), buffers = model.vector(4);
  if (subgraphs.size() != 1)
    throw Error("TF Lite file " + path + ": expected one subgraph, found " + std::to_string(subgraphs.size()));
  for (size_t i = 0; i < buffers.size(); ++i) {
    const fb::Vector data = buffers.table(i).vector(0);  // Buffer: 0 data
    const uint8_t* p = data.size() ? data.bytes(1) : nullptr;
    buffers_.emplace_back(p, p + data.size());
  }
  std::vector<int> opcodes;
  for (size_t i = 0; i < codes.size(); ++i) {  // OperatorCode: 0 deprecated_builtin_code, 3 builtin_code
    const fb::Table c = codes.table(i);
    opcodes.push_back(std::max<int>(c.scalar<int8_t>(0, 0), c.scalar<int32_t>(3, 0)));
  }
  const fb::Table g = subgraphs.table(0);  // SubGraph: 0 tensors, 1 inputs, 2 outputs, 3 operators
  const fb::Vector ts = g.vector(0), ins = g.vector(1), outs = g.vector(2), os = g.vector(3);
  for (size_t i = 0; i < ts.size(); ++i) {  // Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization
    const fb::Table t = ts.table(i);
    TensorInfo info;
    const fb::Vector shape = t.vector(0);
    for (size_t k = 0; k < shape.size(); ++k) info.shape.push_back(shape.at<int32_t>(k));
    info.type = t.scalar<int8_t>(1, 0);
    info.buffer = static_cast<int>(t.scalar<uint32_t>(2, 0));
    info.name = t.string(3);
    const fb::Table q = t.table(4);  // QuantizationParameters: 2 scale, 3 zero_point, 6 quantized_dimension
    if (q.valid()) {
      const fb::Vector s = q.vector(2), z = q.vector(3);
      for (size_t k = 0; k < s.size(); ++k) info.scale.push_back(s.at<float>(k));
      for (size_t k = 0; k < z.size(); ++k) info.zero_point.push_back(z.at<int64_t>(k));
      info.quantized_dimension = q.scalar<int32_t>(6, 0);
    }
    if (info.buffer < 0 || size_t(info.buffer) >= std::max<size_t>(1, buffers_.size()))
      throw Error("TF Lite file " + path + ": tensor " + info.name + " refers to a missing buffer");
    claimed_bytes("TF Lite file " + path, info.name, info.shape, std::max(1, element_size(info.type)));
    tensors.push_back(std::move(info));
  }
  auto indices = [&](const fb::Vector& v) {  // -1: an optional input left out
    std::vector<int> r;
    for (size_t k = 0; k < v.size(); ++k) {
      const int idx = v.at<int32_t>(k);
      if (idx < -1 || idx >= int(tensors.size()))
        throw Error("TF Lite file " + path + ": tensor index " + std::to_string(idx) + " out of range");
      r.push_back(idx);
    }
    return r;
  };
  inputs = indices(ins);
  outputs = indices(outs);
  for (size_t i = 0; i < os.size(); ++i) {  // Operator: 0 opcode_index, 1 inputs, 2 outputs, 4 builtin_options
    const fb::Table o = os.table(i);
    Operator op;
    const uint32_t oc = o.scalar<uint32_t>(0, 0);
    if (oc >= opcodes.size()) throw Error("TF Lite file " + path + ": operator code index out of range");
    op.code = opcodes[oc];
    op.inputs = indices(o.vector(1));
    op.outputs = indices(o.vector(2));
    const fb::Table opt = o.table(4);
    if (op.code == CONV_2D) {  // Conv2DOptions: padding, stride_w, stride_h, activation, dilation_w, dilation_h
      op.padding = opt.scalar<int8_t>(0, 0), op.stride_w = opt.scalar<int32_t>(1, 1);
      op.stride_h = opt.scalar<int32_t>(2, 1), op.activation = opt.scalar<int8_t>(3, 0);
      op.dilation_w = opt.scalar<int32_t>(4, 1), op.dilation_h = opt.scalar<int32_t>(5, 1);
    } else if (op.code == DEPTHWISE_CONV_2D) {  // + depth_multiplier before the activation
      op.padding = opt.scalar<int8_t>(0, 0), op.stride_w = opt.scalar<int32_t>(1, 1);
      op.stride_h = opt.scalar<int32_t>(2, 1), op.depth_multiplier = opt.scalar<int32_t>(3, 1);
      op.activation = opt.scalar<int8_t>(4, 0);
      op.dilation_w = opt.scalar<int32_t>(5, 1), op.dilation_h = opt.scalar<int32_t>(6, 1);
    } else if (op.code == AVERAGE_POOL_2D || op.code == MAX_POOL_2D) {  // Pool2DOptions: padding, stride_w,
      op.padding = opt.scalar<int8_t>(0, 0), op.stride_w = opt.scalar<int32_t>(1, 1);    // stride_h, filter_w,
      op.stride_h = opt.scalar<int32_t>(2, 1), op.filter_w = opt.scalar<int32_t>(3, 1);  // filter_h, activation
      op.filter_h = opt.scalar<int32_t>(4, 1), op.activation = opt.scalar<int8_t>(5, 0);
    } else if (op.code == ADD || op.code == MUL || op.code == SUB) {  // 0 fused_activation_function
      op.activation = opt.scalar<int8_t>(0, 0);
    } else if (op.code == CONCATENATION) {  // 0 axis, 1 fused_activation_function
      op.axis = opt.scalar<int32_t>(0, 0), op.activation = opt.scalar<int8_t>(1, 0);
    } else if (op.code == FULLY_CONNECTED) {  // 0 fused_activation_function, 1 weights_format, 2 keep_num_dims
      op.activation = opt.scalar<int8_t>(0, 0), op.keep_dims = opt.scalar<uint8_t>(2, 0) != 0;
    } else if (op.code == MEAN) {  // ReducerOptions: 0 keep_dims
      op.keep_dims = opt.scalar<uint8_t>(0, 0) != 0;
    } else if (op.code == RESHAPE || op.code == SQUEEZE) {  // 0 new_shape / squeeze_dims
      const fb::Vector d = opt.valid() ? opt.vector(0) : fb::Vector();
      for (size_t k = 0; k < d.size() && k < 8; ++k) op.dims.push_back(d.at<int32_t>(k));
    }
    ops.push_back(std::move(op));
  }
}

Tensor File::constant(int index) const {
  if (index < 0 || size_t(index) >= tensors.size())
    throw Error("TF Lite file " + path_ + ": an operator lacks a constant input (tensor index " +
                std::to_string(index) + ")");
  const TensorInfo& t = tensors[size_t(index)];
  const std::vector<uint8_t>& data = buffers_.at(size_t(t.buffer));
  // TensorType: 0 float32, 1 float16, 2 int32, 3 uint8, 9 int8 are read; anything else is refused.
  const int elem = element_size(t.type);
  if (elem == 0)
    throw Error("TF Lite file " + path_ + ": tensor " + t.name + " has an unsupported type " + std::to_string(t.type));
  if (t.shape.size() > 4) throw Error("TF Lite file " + path_ + ": tensor " + t.name + " has more than 4 dimensions");
  const int64_t n = int64_t(claimed_bytes("TF Lite file " + path_, t.name, t.shape, 1));  // the parse checked the bytes
  if (int64_t(data.size()) != n * elem)
    throw Error("TF Lite file " + path_ + ": tensor " + t.name + " holds " + std::to_string(data.size()) +
                " bytes, its shape needs " + std::to_string(n * elem));
  std::vector<int64_t> shape = t.shape;
  if (shape.empty()) shape.push_back(1);
  Tensor out = Tensor::empty(Shape(shape), DType::f32);  // filled in place
  float* v = out.data<float>();
  // Integer tensors with a scale are quantized; without one they are plain integers (axes, shapes).
  const bool quantized = (t.type == 2 || t.type == 3 || t.type == 9) && !t.scale.empty();
  // Per-channel parameters vary along quantized_dimension; the stride of that axis in the flat data:
  int64_t inner = 1;
  const int qd = t.quantized_dimension;
  for (size_t d = size_t(qd) + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
  const int64_t channels = t.scale.size() > 1 ? int64_t(t.scale.size()) : 1;
  if (channels > 1 && (qd < 0 || size_t(qd) >= t.shape.size() || t.shape[size_t(qd)] != channels))
    throw Error("TF Lite file " + path_ + ": tensor " + t.name + " has per-channel scales that do not fit its shape");
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = data.data() + i * elem;
    double q = 0;
    switch (t.type) {
      case 0: {
        float f;
        std::memcpy(&f, p, 4);
        v[i] = f;
        continue;
      }
      case 1: {
        uint16_t h;
        std::memcpy(&h, p, 2);
        v[i] = half_to_float(h);
        continue;
      }
      case 2: {
        int32_t k;
        std::memcpy(&k, p, 4);
        q = k;
        break;
      }
      case 3:
        q = *p;
        break;
      case 9:
        q = int8_t(*p);
        break;
    }
    if (!quantized) {
      v[i] = float(q);
      continue;
    }
    const size_t c = channels > 1 ? size_t((i / inner) % channels) : 0;
    const double zp = t.zero_point.empty() ? 0.0 : double(t.zero_point[std::min(c, t.zero_point.size() - 1)]);
    v[i] = static_cast<float>((q - zp) * t.scale[c]);
  }
  return out;
}

Tensor to_oihw(const Tensor& w, bool depthwise) {
  const int64_t O = depthwise ? w.dim(3) : w.dim(0), kh = w.dim(1), kw = w.dim(2), I = depthwise ? 1 : w.dim(3);
  Tensor result = Tensor::empty({O, I, kh, kw}, DType::f32);
  if (result.numel() == 0) return result;  // (its loops would run O, perhaps 2^31, for nothing)
  const float* v = w.data<float>();
  float* out = result.data<float>();
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t c = 0; c < I; ++c) {
          const int64_t src = depthwise ? (i * kw + j) * O + o : ((o * kh + i) * kw + j) * I + c;
          out[((o * I + c) * kh + i) * kw + j] = v[src];
        }
  return result;
}

namespace {

void assign(const std::string& file, nn::Layer& layer, const std::string& what, Tensor* dst, const Tensor& src) {
  if (dst->shape() != src.shape())
    throw Error("TF Lite file " + file + ", layer " + layer.name() + ": " + what + " expected " + dst->shape().str() +
                ", found " + src.shape().str());
  *dst = src;
}

}  // namespace

std::unique_ptr<nn::Model> load(const std::string& path, const ImportOptions& o, DType dtype) {
  return load(File(path), o, dtype);
}

std::unique_ptr<nn::Model> load(const File& f, const ImportOptions& import, DType dtype) {
  const std::string& path = f.path();
  bool v1_ops = true;
  std::vector<const Operator*> convs;
  for (size_t i = 0; i < f.ops.size(); ++i) {
    const Operator& op = f.ops[i];
    switch (op.code) {
      case CONV_2D:
      case DEPTHWISE_CONV_2D:
        convs.push_back(&op);
        break;
      case AVERAGE_POOL_2D:
      case RESHAPE:
      case SOFTMAX:
      case SQUEEZE:
      case QUANTIZE:
      case DEQUANTIZE:
        break;
      default:
        v1_ops = false;
    }
  }
  // MobileNet V1: conv, 13 x (depthwise, pointwise), and the 1x1 classifier conv.
  bool v1 = convs.size() == 28 && convs[0]->code == CONV_2D && convs[27]->code == CONV_2D;
  for (size_t i = 1; v1 && i < 27; ++i) v1 = convs[i]->code == (i % 2 ? DEPTHWISE_CONV_2D : CONV_2D);
  if (!v1 || !v1_ops) return load_graph(f, import, dtype);  // any other graph (weights/tflite_graph.cpp)
  if (f.inputs.size() != 1 || f.inputs[0] < 0 || f.tensors[size_t(f.inputs[0])].shape.size() != 4)
    throw Error("TF Lite file " + path + ": expected one NHWC image input");
  const TensorInfo& in = f.tensors[size_t(f.inputs[0])];
  // Every kernel and bias first: reading them checks their sizes against the file, and the model's
  // sizes are then taken from what the file really holds.
  std::vector<std::pair<Tensor, Tensor>> kernels;
  for (size_t i = 0; i < convs.size(); ++i) {
    if (convs[i]->inputs.size() < 3)
      throw Error("TF Lite file " + path + ": convolution " + std::to_string(i) + " has no bias");
    kernels.emplace_back(f.constant(convs[i]->inputs[1]), f.constant(convs[i]->inputs[2]));
    if (kernels.back().first.ndim() != 4)
      throw Error("TF Lite file " + path + ": the kernel of convolution " + std::to_string(i) +
                  " is not 4-dimensional");
  }
  nn::ModelOptions o;
  o.variant = "tflite";
  o.alpha = double(kernels[0].first.dim(0)) / 32.0;
  o.classes = kernels[27].first.dim(0);
  o.input_size = in.shape[1];
  std::unique_ptr<nn::Model> model;
  try {
    model = nn::make_model("mobilenet_v1", o);
  } catch (const Error& e) {
    throw Error("TF Lite file " + path + ": " + e.what());
  }
  std::vector<nn::Conv2d*> layers;
  for (auto& l : model->layers())
    if (auto* c = dynamic_cast<nn::Conv2d*>(l.get())) layers.push_back(c);
  for (size_t i = 0; i < convs.size(); ++i) {
    const Operator& op = *convs[i];
    nn::Conv2d& c = *layers[i];
    const int want_act = i + 1 < convs.size() ? RELU6 : NONE;
    // padding 0 = SAME, 1 = VALID; the two agree for a 1x1 kernel (a Keras export writes VALID there).
    const bool pointwise = c.weight.dim(2) == 1 && c.weight.dim(3) == 1;
    if ((op.padding != 0 && !pointwise) || op.activation != want_act || op.stride_h != c.options.stride_h ||
        op.stride_w != c.options.stride_w || op.dilation_h != 1 || op.dilation_w != 1 || op.depth_multiplier != 1)
      throw Error("TF Lite file " + path + ", layer " + c.name() +
                  ": padding/stride/activation differ from MobileNet V1");
    assign(path, c, "weight", &c.weight, to_oihw(kernels[i].first, op.code == DEPTHWISE_CONV_2D));
    assign(path, c, "bias", &c.bias, kernels[i].second);
  }
  return model;
}

}  // namespace gt::tflite
