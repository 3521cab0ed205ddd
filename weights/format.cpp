#include "weights/format.h"

#include <algorithm>
#include <cmath>

#include "io/hdf5.h"
#include "nn/init.h"
#include "weights/labels.h"
#include "weights/load.h"

namespace gt {

void save_weights(nn::Model& m, const std::string& path, const std::function<void(h5::File&)>& extra) {
  h5::File f(path, h5::File::Mode::write);
  f.set_attr("gradtrace_format", 1.0);
  f.set_attr("arch", m.info.arch);
  f.set_attr("variant", m.info.variant);
  f.set_attr("preprocessing", m.info.preprocessing);
  f.set_attr("resize", m.info.resize);
  f.set_attr("labels", m.info.labels);
  f.set_attr("input_size", double(m.info.input_h));
  f.set_attr("classes", double(m.info.classes));
  f.set_attr("alpha", m.info.alpha);
  f.set_attr("include_top", m.info.include_top ? 1.0 : 0.0);
  f.set_attr("channels", double(m.info.channels));
  if (!m.info.source.empty()) f.set_attr("source", m.info.source);  // an imported graph: where its layers are
  if (m.info.labels == "custom") {
    std::string names;
    for (const auto& n : m.info.class_names) names += (names.empty() ? "" : "\n") + n;
    f.set_attr("class_names", names);
  }
  for (auto& [name, t] : m.named_parameters()) f.write(name, *t);
  if (extra) extra(f);
  f.commit();
}

namespace {
void fill(nn::Model& m, const h5::File& f, DType dtype) {
  const std::string& path = f.path();
  for (auto& [name, t] : m.named_parameters()) {
    if (!f.has(name))
      throw Error("weights file " + path + ": missing dataset " + name + " (layer " + name.substr(0, name.rfind('/')) +
                  " of " + m.info.arch + ")");
    Tensor v = f.read(name, dtype);
    if (v.shape() != t->shape())
      throw Error("weights file " + path + ", dataset " + name + ": expected shape " + t->shape().str() + ", found " +
                  v.shape().str());
    *t = v;
  }
}
}  // namespace

void load_parameters(nn::Model& m, const std::string& path, DType dtype) {
  fill(m, h5::File(path, h5::File::Mode::read), dtype);
}

namespace {
// A size attribute: a whole number in [0, 1e6] (make_model bounds it further), never rounded from NaN.
int64_t attr_count(const h5::File& f, const std::string& name) {
  const double v = f.attr_double(name);
  if (!(v >= 0 && v <= 1e6) || v != std::floor(v))
    throw Error("weights file " + f.path() + ": attribute " + name + " = " + std::to_string(v) + " is not a size");
  return int64_t(v);
}

}  // namespace

std::unique_ptr<nn::Model> load_weights(const h5::File& f, DType dtype) {
  const std::string& path = f.path();
  if (!f.has_attr("gradtrace_format"))
    throw Error("weights file " + path + ": not a gradtrace weights file (no 'gradtrace_format' attribute)");
  nn::ModelOptions o;
  o.variant = f.attr_string("variant");
  o.alpha = f.attr_double("alpha");
  o.input_size = attr_count(f, "input_size");
  o.classes = attr_count(f, "classes");
  o.include_top = !f.has_attr("include_top") || f.attr_double("include_top") != 0;
  if (f.has_attr("channels")) o.channels = attr_count(f, "channels");
  std::unique_ptr<nn::Model> m;
  if (f.has_attr("source")) {  // an imported graph, fine-tuned: its file gives the layers, this one the values
    const std::string source = f.attr_string("source");
    ImportOptions io;
    io.preprocess = "none";  // (the file's own settings follow)
    io.size = o.input_size;
    try {
      m = load_model(source, "", Device::cpu, dtype, io);
      if (m->info.classes != o.classes) nn::replace_classifier(*m, o.classes, 0);
    } catch (const Error& e) {
      throw Error("weights file " + path + " holds the values of a model imported from " + source +
                  ", which is needed to rebuild it: " + e.what());
    }
  } else {
    try {
      m = nn::make_model(f.attr_string("arch"), o);
    } catch (const Error& e) {
      throw Error("weights file " + path + ": " + e.what());
    }
  }
  m->info.preprocessing = f.attr_string("preprocessing");
  m->info.resize = f.attr_string("resize");
  m->info.labels = f.attr_string("labels");
  if (m->info.labels == "custom") {
    const std::string names = f.has_attr("class_names") ? f.attr_string("class_names") : "";
    for (size_t a = 0; a <= names.size();) {
      const size_t b = std::min(names.find('\n', a), names.size());
      m->info.class_names.push_back(names.substr(a, b - a));
      a = b + 1;
    }
    if (m->info.class_names.size() != size_t(m->info.classes))
      throw Error("weights file " + path + ": attribute class_names holds " +
                  std::to_string(m->info.class_names.size()) + " names for " + std::to_string(m->info.classes) +
                  " classes");
  }
  // A label set that does not fit the classifier (a 10-class test network marked imagenet1000)
  // would print ImageNet names for unrelated classes.
  if (class_names(m->info).size() != size_t(m->info.classes)) m->info.labels = "none";
  fill(*m, f, dtype);
  return m;
}

std::unique_ptr<nn::Model> load_weights(const std::string& path, DType dtype) {
  return load_weights(h5::File(path, h5::File::Mode::read), dtype);
}

namespace {
// The fashion_cnn trained by gradtrace itself (weights/fashion_cnn.h5), compiled into the binary: the
// model that commands use when no --weights is given.
bool has_embedded_weights() { return embedded_fashion_cnn_size > 0; }
}  // namespace

std::unique_ptr<nn::Model> load_embedded_weights() {
  if (!has_embedded_weights())
    throw Error(
        "this gradtrace was built without the embedded fashion_cnn (weights/fashion_cnn.h5 was missing at "
        "build time); give --weights FILE");
  return load_weights(h5::File("<embedded fashion_cnn>", embedded_fashion_cnn, embedded_fashion_cnn_size), DType::f32);
}

}  // namespace gt
