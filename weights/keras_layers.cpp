// Keras layers -> graph nodes. Keras layouts and formulas (keras/src/layers/*): conv kernels
// (kh, kw, in/groups, out), depthwise (kh, kw, C, multiplier), dense (in, out); 'same' padding puts
// the odd pixel at the end (ONNX's SAME_UPPER); average pooling divides by the real pixels only.
#include "weights/keras_layers.h"

#include <algorithm>
#include <cmath>

#include "io/hdf5.h"

namespace gt::keras_import {

using json = nlohmann::json;
using nn::Attr;
using nn::HostValue;

HostValue read_var(const h5::File& f, const std::string& dataset) {
  const Tensor t = f.read(dataset, DType::f64);
  HostValue h;
  for (int i = 0; i < t.ndim(); ++i) h.dims.push_back(t.dim(i));
  h.data = t.to_vector_f64();
  return h;
}

int64_t int_of(const json& j) {
  const double lim = double(int64_t(1) << 40);
  if (j.is_number_integer() && !j.is_number_unsigned()) {
    const int64_t v = j.get<int64_t>();
    if (v >= -(int64_t(1) << 40) && v <= (int64_t(1) << 40)) return v;
  } else if (j.is_number()) {
    const double d = j.get<double>();
    if (d >= -lim && d <= lim && d == std::floor(d)) return int64_t(d);
  }
  throw Error("the model config holds " + j.dump().substr(0, 40) + " where an integer is needed");
}

int64_t int_at(const json& cfg, const char* key, int64_t def) {
  return cfg.contains(key) && !cfg.at(key).is_null() ? int_of(cfg.at(key)) : def;
}

std::vector<std::string> var_order(const std::string& cls, const json& cfg) {
  const bool bias = cfg.value("use_bias", true);
  std::vector<std::string> v;
  if (cls == "Conv2D" || cls == "Dense") v = {"kernel"};
  if (cls == "DepthwiseConv2D") v = {"depthwise_kernel"};
  if (cls == "SeparableConv2D") v = {"depthwise_kernel", "pointwise_kernel"};
  if (!v.empty() && bias) v.push_back("bias");
  if (cls == "BatchNormalization") {
    if (cfg.value("scale", true)) v.push_back("gamma");
    if (cfg.value("center", true)) v.push_back("beta");
    v.insert(v.end(), {"moving_mean", "moving_variance"});
  }
  if (cls == "Normalization") v = {"mean", "variance", "count"};
  return v;
}

std::vector<std::string> supported_layers() {
  return {"InputLayer",
          "Conv2D",
          "DepthwiseConv2D",
          "SeparableConv2D",
          "Dense",
          "BatchNormalization",
          "Activation",
          "ReLU",
          "LeakyReLU",
          "ELU",
          "Softmax",
          "MaxPooling2D",
          "AveragePooling2D",
          "GlobalAveragePooling2D",
          "GlobalMaxPooling2D",
          "Flatten",
          "Dropout",
          "SpatialDropout2D",
          "GaussianNoise",
          "GaussianDropout",
          "ZeroPadding2D",
          "Add",
          "Subtract",
          "Multiply",
          "Average",
          "Concatenate",
          "Rescaling",
          "Normalization",
          "Reshape"};
}

const HostValue& LayerEmitter::Ctx::var(const LayerEmitter& e, const std::string& n) const {
  const auto it = vars.find(n);
  if (it == vars.end()) e.fail(*this, "its variable '" + n + "' is not in the weights");
  return it->second;
}

void LayerEmitter::fail(const Ctx& c, const std::string& why) const {
  throw Error(source_ + ": layer '" + c.name + "' (" + c.cls + "): " + why);
}

int LayerEmitter::value(const std::string& name, int rank) {
  std::string n = name;
  for (int k = 1; names_.count(n); ++k) n = name + "_" + std::to_string(k);
  names_[n] = int(spec_.values.size());
  spec_.values.push_back(n);
  rank_.push_back(rank);
  return names_[n];
}

int LayerEmitter::constant(const std::string& name, HostValue h) {
  const int id = value(name, int(h.dims.size()));
  spec_.constants[id] = std::move(h);
  return id;
}

int LayerEmitter::node(const std::string& op, const std::string& name, const std::vector<int>& in,
                       std::map<std::string, Attr> attrs, int rank) {
  nn::GraphNode n;
  n.op = op, n.name = name, n.inputs = in, n.attrs = std::move(attrs);
  n.outputs = {value(name, rank)};
  spec_.nodes.push_back(std::move(n));
  return spec_.nodes.back().outputs[0];
}

int LayerEmitter::input(const json& cfg) {
  const json& shape = cfg.contains("batch_shape") ? cfg.at("batch_shape") : cfg.at("batch_input_shape");
  std::vector<int64_t> d;
  for (const json& v : shape) d.push_back(v.is_null() ? -1 : int_of(v));
  if (d.size() == 4) d = {d[0], d[3], d[1], d[2]};  // NHWC -> NCHW
  const int id = value(cfg.value("name", "input"), int(d.size()));
  spec_.inputs.push_back(id);
  spec_.input_dims.push_back(d);
  return id;
}

int LayerEmitter::axis(const Ctx& c, int a, int rank) const {
  if (a < 0) a += rank;
  if (a <= 0 || a >= rank) fail(c, "axis " + std::to_string(a) + " of a rank-" + std::to_string(rank) + " input");
  if (rank != 4) return a;
  return a == 3 ? 1 : a + 1;  // NHWC axis -> NCHW axis
}

nn::GraphSpec LayerEmitter::finish() {
  spec_.opset = 13;
  return std::move(spec_);
}

}  // namespace gt::keras_import
