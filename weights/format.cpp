#include "weights/format.h"

#include <algorithm>
#include <cmath>

#include "data/table.h"
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
  if (m.info.features) {  // a table model: its architecture and the schema that encodes a row
    f.set_attr("features", double(m.info.features));
    std::string hidden;
    for (int64_t h : m.info.hidden) hidden += (hidden.empty() ? "" : ",") + std::to_string(h);
    f.set_attr("hidden", hidden);
    f.set_attr("dropout", m.info.dropout);
    f.set_attr("table", m.info.table);
  }
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

// A table model's architecture: features, hidden ("64,32"), dropout.
void read_table_options(const h5::File& f, nn::ModelOptions& o) {
  o.features = attr_count(f, "features");
  const std::string hidden = f.attr_string("hidden");
  for (size_t a = 0; a < hidden.size();) {
    const size_t b = std::min(hidden.find(',', a), hidden.size());
    const std::string w = hidden.substr(a, b - a);
    if (w.empty() || w.size() > 6 || w.find_first_not_of("0123456789") != std::string::npos || o.hidden.size() >= 64)
      throw Error("weights file " + f.path() + ": attribute hidden = '" + hidden + "' is not a list of layer widths");
    o.hidden.push_back(std::stoll(w));
    a = b + 1;
  }
  o.dropout = f.attr_double("dropout");
}

// The schema that encodes a row, checked against the model it feeds.
std::string read_table_schema(const h5::File& f, const nn::ModelInfo& info) {
  const std::string text = f.attr_string("table");
  const data::TableSchema s = data::TableSchema::from_json(text, "weights file " + f.path());
  const int64_t outputs = s.task == "classify" ? int64_t(s.classes.size()) : 1;
  if (s.width() != info.features || outputs != info.classes)
    throw Error("weights file " + f.path() + ": its table schema encodes " + std::to_string(s.width()) +
                " columns into " + std::to_string(outputs) + " outputs, the model takes " +
                std::to_string(info.features) + " into " + std::to_string(info.classes));
  return text;
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
  if (f.has_attr("features")) read_table_options(f, o);
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
  if (m->info.features) m->info.table = read_table_schema(f, m->info);
  fill(*m, f, dtype);
  m->to(dtype);  // the values are in dtype already: this records it (Model::dtype, what inputs follow)
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
