#include "nn/model.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace gt::nn {

std::unique_ptr<Model> make_mobilenet_v1(const ModelOptions& o);
std::unique_ptr<Model> make_vgg(int depth, const ModelOptions& o);
std::unique_ptr<Model> make_resnet50(const ModelOptions& o);
std::unique_ptr<Model> make_mobilenet_v2(const ModelOptions& o);
std::unique_ptr<Model> make_inception_v3(const ModelOptions& o);
std::unique_ptr<Model> make_fashion_cnn(const ModelOptions& o);
std::unique_ptr<Model> make_mlp(const std::string& arch, const ModelOptions& o);

void Model::train(bool on, uint64_t seed) {
  training_ = on;
  folded_.clear();
  uint64_t k = 0;
  for (auto& l : layers_) {
    l->training = on && !l->frozen;
    l->seed = seed * 0x9E3779B97F4A7C15ull + ++k;  // a different mask stream per layer
  }
}

Layer* Model::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Tensor Model::operator()(const Tensor& x) {
  StreamScope on(stream_);
  if (!x.defined() || x.device() == device_) return forward(x);
  Tensor in;
  try {
    in = ops::to_device(x, device_);
  } catch (const OutOfDeviceMemory& e) {  // outside every layer: say where
    throw OutOfDeviceMemory(std::string(e.what()) + " (copying the input " + x.shape().str() + " to the model)");
  }
  return ops::to_device(forward(in), x.device());
}

void Model::to(Device d) {
  for (auto& [name, t] : named_parameters()) {
    if (!t->defined()) continue;
    const bool grad = t->requires_grad();
    *t = t->to(d);
    t->set_requires_grad(grad);
  }
  device_ = d;
  stream_ = backend(d).make_stream();
  folded_.clear();
}

void Model::to(DType dt) {
  dtype_ = dt;
  for (auto& [name, t] : named_parameters()) {
    if (!t->defined() || t->dtype() == dt) continue;
    const bool grad = t->requires_grad();
    *t = t->to(dt);
    t->set_requires_grad(grad);
  }
  folded_.clear();
}

std::vector<std::pair<std::string, Tensor*>> Model::named_parameters() {
  std::vector<std::pair<std::string, Tensor*>> p;
  for (auto& l : layers_)
    for (auto& [n, t] : l->named_parameters()) p.push_back({l->name() + "/" + n, t});
  return p;
}

void Model::describe(const std::string& arch, const ModelOptions& o, const std::string& preprocessing,
                     int64_t default_size, int64_t default_classes, const std::string& gradcam_layer) {
  const bool torch = o.variant == "torch";
  info.arch = arch;
  info.variant = o.variant;
  info.alpha = o.alpha;
  info.preprocessing = torch ? "torch" : preprocessing;
  info.resize = torch ? "crop" : "squash";
  info.classes = o.classes ? o.classes : default_classes;
  // Other class counts (a model trained on something else) have no names: "class k".
  info.labels = info.classes == 1001 ? "imagenet1001" : info.classes == 1000 ? "imagenet1000" : "none";
  info.input_h = info.input_w = o.input_size ? o.input_size : default_size;
  info.gradcam_layer = gradcam_layer;
  info.include_top = o.include_top;
  if (!o.include_top) info.classes = 0;
}

Tensor Model::pool_and_classify(const Tensor& h, const char* pool, Dense* fc) {
  if (!fc) return h;
  Tensor p;
  {
    NameScope s(pool);
    p = ops::global_avg_pool(h);
  }
  return (*fc)(p);
}

BatchNorm* Model::bn_of(const Conv2d& c) const {
  const auto found = bn_of_.find(&c);
  return found == bn_of_.end() ? nullptr : found->second;
}

bool Model::fusable(const Conv2d& c) const {
  BatchNorm* bn = bn_of(c);
  const Tape& tape = Tape::current();
  bool fuse_conv =
      fuse && !training_ && !tape.hooked("conv2d", c.name()) && !(bn && tape.hooked("batch_norm", bn->name()));
  for (const Tensor* p : {&c.weight, &c.bias}) fuse_conv &= !p->requires_grad();
  if (bn) fuse_conv &= !bn->weight.requires_grad() && !bn->bias.requires_grad();
  return fuse_conv;
}

Tensor Model::conv_bn(Conv2d& c, const Tensor& x, Act act, const std::string& act_layer, const Tensor& residual) {
  BatchNorm* bn = bn_of(c);
  const char* act_op = act == Act::relu6 ? "relu6" : "relu";
  const bool fuse_conv = fusable(c);
  if (residual.defined() && !fuse_conv) throw Error("conv_bn: a residual only where the conv is fusable");
  const bool fuse_act = fuse_conv && act != Act::none && !Tape::current().hooked(act_op, act_layer);
  Tensor h;
  if (fuse_conv) {
    const Folded& f = folded(c, bn, x.dtype());
    NameScope scope(fuse_act || residual.defined() ? act_layer : bn ? bn->name() : c.name());
    h = ops::conv2d_affine(x, c.weight, f.scale, f.shift, fuse_act ? act : Act::none, c.options_for(x), residual);
  } else {
    h = c(x);
    if (bn) h = (*bn)(h);
  }
  if (act == Act::none || fuse_act) return h;
  return act == Act::relu6 ? relu6(act_layer, h) : relu(act_layer, h);
}

const Model::Folded& Model::folded(Conv2d& c, BatchNorm* bn, DType dtype) {
  std::vector<const TensorImpl*> from{c.bias.impl()};
  if (bn)
    from.insert(from.end(), {bn->weight.impl(), bn->bias.impl(), bn->running_mean.impl(), bn->running_var.impl()});
  Folded& f = folded_[&c];
  if (f.from == from && f.dtype == dtype) return f;
  // bn(conv + b) = gamma (conv + b - mean) / sqrt(var + eps) + beta = scale conv + shift
  const int64_t O = c.weight.dim(0);
  std::vector<double> scale(size_t(O), 1.0), shift(size_t(O), 0.0);
  if (c.bias.defined()) shift = c.bias.to_vector_f64();
  if (bn) {
    const auto gamma = bn->weight.to_vector_f64(), beta = bn->bias.to_vector_f64();
    const auto mean = bn->running_mean.to_vector_f64(), var = bn->running_var.to_vector_f64();
    for (size_t o = 0; o < size_t(O); ++o) {
      scale[o] = gamma[o] / std::sqrt(var[o] + bn->eps);
      shift[o] = (shift[o] - mean[o]) * scale[o] + beta[o];
    }
  }
  const Device d = c.weight.device();
  f = {from, dtype, bn ? Tensor::from_vector({O}, scale, dtype).to(d) : Tensor(),
       bn || c.bias.defined() ? Tensor::from_vector({O}, shift, dtype).to(d) : Tensor()};
  return f;
}

Tensor Model::relu(const std::string& name, const Tensor& x) {
  NameScope s(name);
  return ops::relu(x);
}

Tensor Model::relu6(const std::string& name, const Tensor& x) {
  NameScope s(name);
  return ops::relu6(x);
}

std::vector<LayerShape> layer_shapes(Model& m) {
  Tape tape;
  TapeGuard guard(tape);
  NoGradGuard no_grad;
  std::vector<LayerShape> rows;
  tape.add_forward_hook("", "", [&](const std::string& op, const std::string& layer, const Tensor& out) {
    if (!rows.empty() && rows.back().layer == layer)
      rows.back() = {layer, op, out.shape()};
    else
      rows.push_back({layer, op, out.shape()});
    return out;
  });
  DType dtype = DType::f32;  // the parameters'
  for (auto& [name, t] : m.named_parameters())
    if (t->defined()) {
      dtype = t->dtype();
      break;
    }
  m(m.info.features ? Tensor::zeros({1, m.info.features}, dtype)
                    : Tensor::zeros({1, m.info.channels, m.info.input_h, m.info.input_w}, dtype));
  return rows;
}

std::vector<std::string> closest_names(const std::string& query, const std::vector<std::string>& candidates, size_t k) {
  auto lower = [](std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string q = lower(query);
  auto distance = [&](const std::string& c) {  // Levenshtein, one row at a time
    std::vector<size_t> row(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= q.size(); ++i) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (q[i - 1] == c[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[c.size()];
  };
  std::vector<std::pair<std::pair<bool, size_t>, std::string>> scored;
  for (const auto& c : candidates) {
    const std::string lc = lower(c);
    scored.push_back({{lc.find(q) == std::string::npos, distance(lc)}, c});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && out.size() < k; ++i)
    if (std::find(out.begin(), out.end(), scored[i].second) == out.end()) out.push_back(scored[i].second);
  return out;
}

std::vector<std::string> model_names() {
  return {"vgg16", "vgg19", "resnet50", "inception_v3", "mobilenet_v1", "mobilenet_v2", "fashion_cnn"};
}

std::vector<std::string> table_model_names() { return {"mlp", "linear"}; }

void check_model_name(const std::string& arch) {
  auto names = model_names();
  for (const auto& t : table_model_names()) names.push_back(t);
  if (std::find(names.begin(), names.end(), arch) != names.end()) return;
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown model '" + arch + "' (known: " + known + ")");
}

std::unique_ptr<Model> make_model(const std::string& arch, const ModelOptions& o) {
  check_model_name(arch);
  // The options may come from a file: bound them before any layer allocates its parameters.
  auto range = [&](const char* what, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
      throw Error(arch + ": " + what + " " + std::to_string(v) + " is out of range (" + std::to_string(lo) + " to " +
                  std::to_string(hi) + ")");
  };
  range("width multiplier alpha", o.alpha, 1.0 / 64, 4);
  range("class count", double(o.classes), 0, 100000);
  range("input size", double(o.input_size), 0, 4096);
  range("input channel count", double(o.channels), 0, 64);
  if (arch == "mobilenet_v1") return make_mobilenet_v1(o);
  if (arch == "vgg16") return make_vgg(16, o);
  if (arch == "vgg19") return make_vgg(19, o);
  if (arch == "resnet50") return make_resnet50(o);
  if (arch == "mobilenet_v2") return make_mobilenet_v2(o);
  if (arch == "fashion_cnn") return make_fashion_cnn(o);
  if (arch == "mlp" || arch == "linear") return make_mlp(arch, o);
  return make_inception_v3(o);
}

}  // namespace gt::nn
