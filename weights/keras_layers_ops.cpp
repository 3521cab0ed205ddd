// LayerEmitter::layer and the nodes of each Keras layer class (keras_layers.h).
#include <algorithm>
#include <cmath>

#include "weights/keras_layers.h"

namespace gt::keras_import {

using json = nlohmann::json;
using nn::Attr;
using nn::HostValue;

namespace {

HostValue host(std::vector<int64_t> dims, std::vector<double> data, bool is_int = false) {
  HostValue h;
  h.dims = std::move(dims), h.data = std::move(data), h.integer = is_int;
  return h;
}
std::vector<int64_t> pair(const json& j, int64_t def) {
  if (j.is_null()) return {def, def};
  if (j.is_number()) return {int_of(j), int_of(j)};
  if (j.size() == 1) return {int_of(j[0]), int_of(j[0])};
  return {int_of(j.at(0)), int_of(j.at(1))};
}
std::string activation_of(const json& cfg) {
  if (!cfg.contains("activation") || cfg.at("activation").is_null()) return "linear";
  const json& a = cfg.at("activation");
  if (a.is_string()) return a.get<std::string>();
  if (a.contains("config") && a.at("config").is_string()) return a.at("config").get<std::string>();
  return a.value("class_name", "unknown");
}
// (kh, kw, I, O) -> (O, I, kh, kw); a depthwise (kh, kw, C, m) is (O = C m, I = 1) after a reshape.
HostValue hwio_to_oihw(const HostValue& k, bool depthwise) {
  const int64_t kh = k.dims[0], kw = k.dims[1], I = depthwise ? 1 : k.dims[2],
                O = depthwise ? k.dims[2] * k.dims[3] : k.dims[3];
  std::vector<double> out(k.data.size());
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j)
      for (int64_t c = 0; c < I; ++c)
        for (int64_t o = 0; o < O; ++o)
          out[size_t(((o * I + c) * kh + i) * kw + j)] = k.data[size_t(((i * kw + j) * I + c) * O + o)];
  return host({O, I, kh, kw}, std::move(out));
}
// A per-channel constant shaped to broadcast against a value of Keras rank r (NCHW: (C, 1, 1)).
HostValue per_channel(std::vector<double> v, int rank) {
  const int64_t n = int64_t(v.size());
  return host(rank == 4 && n > 1 ? std::vector<int64_t>{n, 1, 1} : std::vector<int64_t>{n}, std::move(v));
}
std::vector<double> numbers(const json& j) {
  if (j.is_number()) return {j.get<double>()};
  std::vector<double> v;
  for (const json& e : j) {
    if (e.is_array()) {
      const auto inner = numbers(e);
      v.insert(v.end(), inner.begin(), inner.end());
    } else {
      v.push_back(e.get<double>());
    }
  }
  return v;
}

}  // namespace

int LayerEmitter::layer(const std::string& cls, const std::string& name, const json& cfg, const Vars& vars,
                        const std::vector<int>& in) {
  if (in.empty()) throw Error(source_ + ": layer '" + name + "' (" + cls + ") has no input");
  Ctx c{cls, name, cfg, vars, in, in[0], rank_[size_t(in[0])]};
  if (cfg.value("data_format", "channels_last") != "channels_last") fail(c, "channels_first data is not supported");
  if (cls == "Conv2D" || cls == "DepthwiseConv2D") return conv(c, cls == "DepthwiseConv2D");
  if (cls == "SeparableConv2D") return separable(c);
  if (cls == "Dense") return dense(c);
  if (cls == "BatchNormalization") return batch_norm(c);
  if (cls == "Activation") return activation(activation_of(cfg), name, c.x, cfg);
  if (cls == "ReLU" || cls == "LeakyReLU" || cls == "ELU" || cls == "Softmax") return relu(c, cls);
  if (cls.find("Pooling2D") != std::string::npos) return pool(c, cls);
  if (cls == "Flatten" || cls == "Reshape") return reshape(c, cls);
  if (cls == "Dropout" || cls == "SpatialDropout2D" || cls == "GaussianNoise" || cls == "GaussianDropout")
    return node("Identity", name, {c.x}, {}, c.rank);  // inference
  if (cls == "ZeroPadding2D") return zero_padding(c);
  if (cls == "Add" || cls == "Subtract" || cls == "Multiply" || cls == "Average" || cls == "Concatenate")
    return merge(c, cls);
  if (cls == "Rescaling" || cls == "Normalization") return normalization(c, cls);
  std::string known;
  for (const auto& l : supported_layers()) known += (known.empty() ? "" : " ") + l;
  fail(c, "unknown layer class; gradtrace reads: " + known);
}

int LayerEmitter::activation(const std::string& fn, const std::string& name, int x, const json& cfg) {
  const int r = rank_[size_t(x)];
  auto scalar = [&](const std::string& n, double v) { return constant(name + "/" + n, host({}, {v})); };
  if (fn == "linear") return node("Identity", name, {x}, {}, r);
  if (fn == "relu") return node("Relu", name, {x}, {}, r);
  if (fn == "relu6") return node("Clip", name, {x, scalar("min", 0), scalar("max", 6)}, {}, r);
  if (fn == "sigmoid") return node("Sigmoid", name, {x}, {}, r);
  if (fn == "tanh") return node("Tanh", name, {x}, {}, r);
  if (fn == "elu") return node("Elu", name, {x}, {{"alpha", nn::attr_real(1.0)}}, r);
  if (fn == "exponential") return node("Exp", name, {x}, {}, r);
  if (fn == "softmax") return node("Softmax", name, {x}, {{"axis", nn::attr_int(r == 4 ? 1 : -1)}}, r);
  if (fn == "swish" || fn == "silu")
    return node("Mul", name, {x, node("Sigmoid", name + "/sigmoid", {x}, {}, r)}, {}, r);
  if (fn == "hard_swish" || fn == "hard_silu") return node("HardSwish", name, {x}, {}, r);
  if (fn == "leaky_relu") return node("LeakyRelu", name, {x}, {{"alpha", nn::attr_real(0.2)}}, r);
  if (fn == "hard_sigmoid")  // Keras 3: relu6(x + 3) / 6; tf-keras: clip(0.2 x + 0.5, 0, 1)
    return node("HardSigmoid", name, {x},
                {{"alpha", nn::attr_real(keras3_ ? 1.0 / 6 : 0.2)}, {"beta", nn::attr_real(0.5)}}, r);
  (void)cfg;
  throw Error(source_ + ": layer '" + name + "': activation '" + fn +
              "' is not supported (relu, relu6, sigmoid, tanh, softmax, swish, elu, hard_sigmoid, hard_swish, "
              "leaky_relu, exponential, linear are)");
}

int LayerEmitter::conv(Ctx& c, bool depthwise) {
  const HostValue& k = c.var(*this, depthwise ? "depthwise_kernel" : "kernel");
  if (k.dims.size() != 4) fail(c, "a kernel of rank " + std::to_string(k.dims.size()) + " (2-D convolutions only)");
  const std::string pad = c.cfg.value("padding", "valid"), act = activation_of(c.cfg);
  if (pad != "valid" && pad != "same") fail(c, "padding '" + pad + "'");
  std::vector<int> in = {c.x, constant(c.name + "/kernel", hwio_to_oihw(k, depthwise))};
  if (c.vars.count("bias")) in.push_back(constant(c.name + "/bias", c.vars.at("bias")));
  std::map<std::string, Attr> a = {{"strides", nn::attr_ints(pair(c.cfg.value("strides", json()), 1))},
                                   {"dilations", nn::attr_ints(pair(c.cfg.value("dilation_rate", json()), 1))},
                                   {"auto_pad", nn::attr_text(pad == "same" ? "SAME_UPPER" : "VALID")},
                                   {"group", nn::attr_int(depthwise ? k.dims[2] : int_at(c.cfg, "groups", 1))}};
  const int y = node("Conv", act == "linear" ? c.name : c.name + "/preact", in, a, 4);
  return act == "linear" ? y : activation(act, c.name, y, c.cfg);
}

// A depthwise conv (no bias) followed by a 1x1 pointwise conv with the bias.
int LayerEmitter::separable(Ctx& c) {
  const HostValue& dk = c.var(*this, "depthwise_kernel");
  const HostValue& pk = c.var(*this, "pointwise_kernel");
  if (dk.dims.size() != 4 || pk.dims.size() != 4) fail(c, "kernels of rank 4 expected");
  const std::string pad = c.cfg.value("padding", "valid"), act = activation_of(c.cfg);
  std::map<std::string, Attr> a = {{"strides", nn::attr_ints(pair(c.cfg.value("strides", json()), 1))},
                                   {"dilations", nn::attr_ints(pair(c.cfg.value("dilation_rate", json()), 1))},
                                   {"auto_pad", nn::attr_text(pad == "same" ? "SAME_UPPER" : "VALID")},
                                   {"group", nn::attr_int(dk.dims[2])}};
  const int d =
      node("Conv", c.name + "/depthwise", {c.x, constant(c.name + "/depthwise_kernel", hwio_to_oihw(dk, true))}, a, 4);
  std::vector<int> in = {d, constant(c.name + "/pointwise_kernel", hwio_to_oihw(pk, false))};
  if (c.vars.count("bias")) in.push_back(constant(c.name + "/bias", c.vars.at("bias")));
  const int y = node("Conv", act == "linear" ? c.name : c.name + "/preact", in, {}, 4);
  return act == "linear" ? y : activation(act, c.name, y, c.cfg);
}

// On (N, I): Gemm with B = kernel (I, O). On a 4-D map Keras applies it to the channel axis: a 1x1 conv.
int LayerEmitter::dense(Ctx& c) {
  const HostValue& k = c.var(*this, "kernel");
  const std::string act = activation_of(c.cfg), pre = act == "linear" ? c.name : c.name + "/preact";
  if (k.dims.size() != 2) fail(c, "a kernel of rank " + std::to_string(k.dims.size()));
  int y;
  if (c.rank == 2) {
    std::vector<int> in = {c.x, constant(c.name + "/kernel", k)};
    if (c.vars.count("bias")) in.push_back(constant(c.name + "/bias", c.vars.at("bias")));
    y = node("Gemm", pre, in, {}, 2);
  } else if (c.rank == 4) {
    std::vector<int> in = {
        c.x, constant(c.name + "/kernel", hwio_to_oihw(host({1, 1, k.dims[0], k.dims[1]}, k.data), false))};
    if (c.vars.count("bias")) in.push_back(constant(c.name + "/bias", c.vars.at("bias")));
    y = node("Conv", pre, in, {}, 4);
  } else {
    fail(c, "a rank-" + std::to_string(c.rank) + " input (Dense takes rank 2, or 4 on the channel axis)");
  }
  return act == "linear" ? y : activation(act, c.name, y, c.cfg);
}

int LayerEmitter::batch_norm(Ctx& c) {
  const json& ax = c.cfg.value("axis", json(-1));
  const int64_t a = ax.is_array() ? (ax.size() == 1 ? int_of(ax[0]) : 0) : int_of(ax);
  if (a != -1 && a != c.rank - 1) fail(c, "normalisation over an axis other than the channels");
  const HostValue& mean = c.var(*this, "moving_mean");
  const int64_t C = mean.numel();
  auto or_const = [&](const char* n, double v) {
    return c.vars.count(n) ? c.vars.at(n) : host({C}, std::vector<double>(size_t(C), v));
  };
  const std::vector<int> in = {
      c.x, constant(c.name + "/gamma", or_const("gamma", 1.0)), constant(c.name + "/beta", or_const("beta", 0.0)),
      constant(c.name + "/moving_mean", mean), constant(c.name + "/moving_variance", c.var(*this, "moving_variance"))};
  return node("BatchNormalization", c.name, in, {{"epsilon", nn::attr_real(c.cfg.value("epsilon", 1e-3))}}, c.rank);
}

int LayerEmitter::pool(Ctx& c, const std::string& cls) {
  if (c.rank != 4) fail(c, "a rank-" + std::to_string(c.rank) + " input (2-D pooling takes images)");
  if (cls == "GlobalAveragePooling2D" || cls == "GlobalMaxPooling2D") {
    const bool keep = c.cfg.value("keepdims", false);
    const std::string op = cls == "GlobalAveragePooling2D" ? "GlobalAveragePool" : "GlobalMaxPool";
    const int y = node(op, keep ? c.name : c.name + "/pool", {c.x}, {}, 4);
    return keep ? y : node("Flatten", c.name, {y}, {}, 2);
  }
  if (cls != "MaxPooling2D" && cls != "AveragePooling2D") fail(c, "unknown pooling");
  const std::string pad = c.cfg.value("padding", "valid");
  const std::vector<int64_t> k = pair(c.cfg.value("pool_size", json()), 2);
  const json& s = c.cfg.value("strides", json());
  return node(cls == "MaxPooling2D" ? "MaxPool" : "AveragePool", c.name, {c.x},
              {{"kernel_shape", nn::attr_ints(k)},
               {"strides", nn::attr_ints(s.is_null() ? k : pair(s, 1))},
               {"auto_pad", nn::attr_text(pad == "same" ? "SAME_UPPER" : "VALID")}},
              4);
}

int LayerEmitter::merge(Ctx& c, const std::string& cls) {
  if (c.in.size() < 2) fail(c, "needs two inputs or more");
  if (cls == "Concatenate")
    return node("Concat", c.name, c.in, {{"axis", nn::attr_int(axis(c, int(int_at(c.cfg, "axis", -1)), c.rank))}},
                c.rank);
  if (cls == "Subtract") return node("Sub", c.name, {c.in[0], c.in[1]}, {}, c.rank);
  const std::string op = cls == "Multiply" ? "Mul" : "Add";
  int y = c.in[0];
  for (size_t k = 1; k < c.in.size(); ++k) {
    const bool last = k + 1 == c.in.size() && cls != "Average";
    y = node(op, last ? c.name : c.name + "/" + std::to_string(k), {y, c.in[k]}, {}, c.rank);
  }
  if (cls != "Average") return y;
  return node("Mul", c.name, {y, constant(c.name + "/scale", host({}, {1.0 / double(c.in.size())}))}, {}, c.rank);
}

// Flatten and Reshape see Keras' NHWC order: a 4-D value is transposed to it first (and back after).
int LayerEmitter::reshape(Ctx& c, const std::string& cls) {
  int x = c.x;
  if (c.rank == 4) x = node("Transpose", c.name + "/nhwc", {x}, {{"perm", nn::attr_ints({0, 2, 3, 1})}}, 4);
  if (cls == "Flatten") return node("Flatten", c.name, {x}, {}, 2);
  std::vector<double> shape = {0};
  for (const json& d : c.cfg.at("target_shape")) shape.push_back(double(int_of(d)));
  const int out = int(shape.size());
  if (out > 4) fail(c, "a target of rank " + std::to_string(out));
  const int shape_id = constant(c.name + "/shape", host({int64_t(out)}, shape, true));
  if (out != 4) return node("Reshape", c.name, {x, shape_id}, {}, out);
  const int y = node("Reshape", c.name + "/nhwc", {x, shape_id}, {}, 4);
  return node("Transpose", c.name, {y}, {{"perm", nn::attr_ints({0, 3, 1, 2})}}, 4);
}

// Rescaling: x scale + offset. Normalization: (x - mean) / max(sqrt(variance), 1e-7), per channel.
int LayerEmitter::normalization(Ctx& c, const std::string& cls) {
  if (cls == "Rescaling") {
    const std::vector<double> off = numbers(c.cfg.value("offset", json(0.0)));
    const bool offset = std::any_of(off.begin(), off.end(), [](double v) { return v != 0; });
    const int y = node(
        "Mul", offset ? c.name + "/scale" : c.name,
        {c.x, constant(c.name + "/scale", per_channel(numbers(c.cfg.value("scale", json(1.0))), c.rank))}, {}, c.rank);
    return offset ? node("Add", c.name, {y, constant(c.name + "/offset", per_channel(off, c.rank))}, {}, c.rank) : y;
  }
  if (c.cfg.value("invert", false)) fail(c, "invert=True");
  std::vector<double> mean, var;
  if (c.vars.count("mean")) {
    mean = c.vars.at("mean").data, var = c.var(*this, "variance").data;
  } else if (c.cfg.contains("mean") && !c.cfg.at("mean").is_null()) {
    mean = numbers(c.cfg.at("mean")), var = numbers(c.cfg.at("variance"));
  } else {
    fail(c, "neither the weights nor the config hold its mean and variance");
  }
  for (double& v : var) v = std::max(std::sqrt(v), 1e-7);
  const int y =
      node("Sub", c.name + "/center", {c.x, constant(c.name + "/mean", per_channel(mean, c.rank))}, {}, c.rank);
  return node("Div", c.name, {y, constant(c.name + "/std", per_channel(var, c.rank))}, {}, c.rank);
}

int LayerEmitter::relu(Ctx& c, const std::string& cls) {
  if (cls == "Softmax")
    return node("Softmax", c.name, {c.x}, {{"axis", nn::attr_int(axis(c, int(int_at(c.cfg, "axis", -1)), c.rank))}},
                c.rank);
  if (cls == "ELU") return node("Elu", c.name, {c.x}, {{"alpha", nn::attr_real(c.cfg.value("alpha", 1.0))}}, c.rank);
  if (cls == "LeakyReLU")
    return node("LeakyRelu", c.name, {c.x},
                {{"alpha", nn::attr_real(c.cfg.value("negative_slope", c.cfg.value("alpha", 0.3)))}}, c.rank);
  const double slope = c.cfg.value("negative_slope", 0.0), threshold = c.cfg.value("threshold", 0.0);
  const json& max = c.cfg.value("max_value", json());
  if (threshold != 0) fail(c, "a threshold other than 0");
  if (slope != 0 && !max.is_null()) fail(c, "a negative slope together with a max_value");
  if (slope != 0) return node("LeakyRelu", c.name, {c.x}, {{"alpha", nn::attr_real(slope)}}, c.rank);
  if (max.is_null()) return node("Relu", c.name, {c.x}, {}, c.rank);
  return node(
      "Clip", c.name,
      {c.x, constant(c.name + "/min", host({}, {0.0})), constant(c.name + "/max", host({}, {max.get<double>()}))}, {},
      c.rank);
}

int LayerEmitter::zero_padding(Ctx& c) {
  if (c.rank != 4) fail(c, "a rank-" + std::to_string(c.rank) + " input");
  const json& p = c.cfg.value("padding", json(1));
  int64_t t, b, l, r;
  if (p.is_number()) {
    t = b = l = r = int_of(p);
  } else if (p.at(0).is_number()) {
    t = b = int_of(p.at(0)), l = r = int_of(p.at(1));
  } else {
    t = int_of(p.at(0).at(0)), b = int_of(p.at(0).at(1));
    l = int_of(p.at(1).at(0)), r = int_of(p.at(1).at(1));
  }
  const int pads =
      constant(c.name + "/pads", host({8}, {0, 0, double(t), double(l), 0, 0, double(b), double(r)}, true));
  return node("Pad", c.name, {c.x, pads}, {{"mode", nn::attr_text("constant")}}, 4);
}

}  // namespace gt::keras_import
