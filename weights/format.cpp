#include "weights/format.h"
#include "weights/labels.h"

#include <cmath>

#include "weights/hdf5.h"

namespace gt {

void save_weights(nn::Model& m, const std::string& path) {
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
  for (auto& [name, t] : m.named_parameters()) f.write(name, *t);
  f.commit();
}

namespace {
void fill(nn::Model& m, const h5::File& f, DType dtype) {
  const std::string& path = f.path();
  for (auto& [name, t] : m.named_parameters()) {
    if (!f.has(name))
      throw Error("weights file " + path + ": missing dataset " + name + " (layer " +
                  name.substr(0, name.rfind('/')) + " of " + m.info.arch + ")");
    Tensor v = f.read(name, dtype);
    if (v.shape() != t->shape())
      throw Error("weights file " + path + ", dataset " + name + ": expected shape " + t->shape().str() +
                  ", found " + v.shape().str());
    *t = v;
  }
}
}  // namespace

void load_parameters(nn::Model& m, const std::string& path, DType dtype) {
  fill(m, h5::File(path, h5::File::Mode::read), dtype);
}

std::unique_ptr<nn::Model> load_weights(const std::string& path, DType dtype) {
  const h5::File f(path, h5::File::Mode::read);
  if (!f.has_attr("gradtrace_format"))
    throw Error("weights file " + path + ": not a gradtrace weights file (no 'gradtrace_format' attribute)");
  nn::ModelOptions o;
  o.variant = f.attr_string("variant");
  o.alpha = f.attr_double("alpha");
  o.input_size = std::lround(f.attr_double("input_size"));
  o.classes = std::lround(f.attr_double("classes"));
  o.include_top = !f.has_attr("include_top") || f.attr_double("include_top") != 0;
  auto m = nn::make_model(f.attr_string("arch"), o);
  m->info.preprocessing = f.attr_string("preprocessing");
  m->info.resize = f.attr_string("resize");
  m->info.labels = f.attr_string("labels");
  // A label set that does not fit the classifier (a 10-class test network marked imagenet1000)
  // would print ImageNet names for unrelated classes.
  if (class_labels(m->info.labels).size() != size_t(m->info.classes)) m->info.labels = "none";
  fill(*m, f, dtype);
  return m;
}

}  // namespace gt
