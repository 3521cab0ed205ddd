#include "weights/keras.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "io/hdf5.h"
#include "kernels/cpu/layout.h"

namespace gt {
namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The role of a Keras weight, from its name.
enum class Role { kernel, depthwise, bias, gamma, beta, mean, var, unknown };
Role role_of(const std::string& weight_name) {
  const std::string n = weight_name.substr(weight_name.rfind('/') + 1);  // "kernel:0", "block1_conv1_W_1:0"
  if (contains(n, "depthwise_kernel")) return Role::depthwise;
  if (contains(n, "kernel") || contains(n, "_W")) return Role::kernel;
  if (contains(n, "gamma")) return Role::gamma;
  if (contains(n, "beta")) return Role::beta;
  if (contains(n, "moving_mean") || contains(n, "running_mean")) return Role::mean;
  if (contains(n, "moving_variance") || contains(n, "running_var")) return Role::var;
  if (contains(n, "bias") || contains(n, "_b")) return Role::bias;
  return Role::unknown;
}

std::string identify(const std::set<std::string>& layers) {
  auto has = [&](const char* l) { return layers.count(l) > 0; };
  if (has("block5_conv4")) return "vgg19";
  if (has("block5_conv3")) return "vgg16";
  if (has("conv_pw_13")) return "mobilenet_v1";
  if (has("conv5_block3_out") || has("conv5_block3_3_conv")) return "resnet50";
  if (has("mixed10")) return "inception_v3";
  if (has("block_16_project")) return "mobilenet_v2";
  return "";
}

// Keras layout -> ours (PyTorch): see the header comment for the source layouts. In the tensor's own
// type, into the output's memory: a VGG16 fc1 kernel is 411 MB, and is held twice at most.
template <typename T>
Tensor convert_as(const Tensor& k, Role r, const nn::Layer& layer) {
  // An empty kernel stays empty (its loops would run its other dimensions, perhaps 2^40, for nothing).
  if (k.numel() == 0 && k.ndim() == 4)
    return Tensor::empty(r == Role::depthwise ? Shape({k.dim(2) * k.dim(3), 1, k.dim(0), k.dim(1)})
                                              : Shape({k.dim(3), k.dim(2), k.dim(0), k.dim(1)}),
                         k.dtype());
  const T* v = k.data<T>();
  if (r == Role::kernel && k.ndim() == 4) {  // (kh, kw, I, O) -> (O, I, kh, kw)
    const int64_t kh = k.dim(0), kw = k.dim(1), I = k.dim(2), O = k.dim(3);
    Tensor out = Tensor::empty({O, I, kh, kw}, k.dtype());
    T* o_ = out.data<T>();
#pragma omp parallel for collapse(3) schedule(static)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t c = 0; c < I; ++c)
          for (int64_t o = 0; o < O; ++o) o_[((o * I + c) * kh + i) * kw + j] = v[((i * kw + j) * I + c) * O + o];
    return out;
  }
  if (r == Role::depthwise && k.ndim() == 4) {  // (kh, kw, C, m) -> (C*m, 1, kh, kw), output channel c*m + j
    const int64_t kh = k.dim(0), kw = k.dim(1), C = k.dim(2), m = k.dim(3);
    Tensor out = Tensor::empty({C * m, 1, kh, kw}, k.dtype());
    T* o_ = out.data<T>();
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t q = 0; q < m; ++q) o_[((c * m + q) * kh + i) * kw + j] = v[((i * kw + j) * C + c) * m + q];
    return out;
  }
  if (k.ndim() == 1) return k;
  throw Error("layer " + layer.name() + ": unexpected Keras weight of shape " + k.shape().str());
}

// A dense kernel (I, O) -> (O, I), in one pass straight into place (VGG16's fc1, 411 MB, is never
// held twice). After a Flatten the input index is Keras' (H, W, C) order, in = hw*C + c, and ours is
// (C, H, W), col = c*HW + hw; without one, C = I and HW = 1. A block of g channels is our columns
// [c0*HW, (c0+g)*HW): HW runs of g rows in the file, read as they lie, then transposed into the
// output's contiguous columns. Blocks of about 1024 rows: 16 MB of fc1 at a time.
template <typename T>
Tensor dense_kernel(const h5::File& f, const std::string& name, const Shape& k, DType dtype,
                    const std::vector<int64_t>& flatten_chw) {
  const int64_t I = k[0], O = k[1];
  const bool flat = flatten_chw.size() == 3 && flatten_chw[0] * flatten_chw[1] * flatten_chw[2] == I;
  const int64_t C = flat ? flatten_chw[0] : I, HW = flat ? flatten_chw[1] * flatten_chw[2] : 1;
  Tensor out = Tensor::empty({O, I}, dtype);
  if (out.numel() == 0) return out;
  T* o_ = out.data<T>();
  const int64_t g = std::max<int64_t>(1, 1024 / HW);
  std::vector<Tensor> runs(static_cast<size_t>(HW));
  for (int64_t c0 = 0; c0 < C; c0 += g) {
    const int64_t gc = std::min(g, C - c0), col0 = c0 * HW;
    for (int64_t hw = 0; hw < HW; ++hw) runs[size_t(hw)] = f.read_rows(name, hw * C + c0, hw * C + c0 + gc, dtype);
    // Our columns of channel c0 + c: the HW rows runs[hw] + c*O (without a Flatten, one item: the
    // block's gc rows), transposed into place. In pieces of 64 outputs, each piece through all the
    // channels, so the pieces' rows (64 x 4 KB for fc1) stay in cache until their block is written.
    const int64_t items = flat ? gc : 1, m = flat ? HW : gc, pieces = (O + 63) / 64;
#pragma omp parallel
    {
      std::vector<const T*> rows(static_cast<size_t>(m));
#pragma omp for schedule(static)
      for (int64_t p = 0; p < pieces; ++p)
        for (int64_t c = 0; c < items; ++c) {
          const int64_t o0 = p * 64, n = std::min<int64_t>(64, O - o0);
          for (int64_t r = 0; r < m; ++r)
            rows[size_t(r)] = flat ? runs[size_t(r)].data<T>() + c * O + o0 : runs[0].data<T>() + r * O + o0;
          cpu::transpose_rows(m, n, rows.data(), o_ + o0 * I + col0 + c * HW, I);
        }
    }
  }
  return out;
}

// The weight `name` of a layer in our layout.
Tensor convert(const h5::File& f, const std::string& name, Role r, DType dtype, const nn::Layer& layer,
               const std::vector<int64_t>& flatten_chw) {
  const Shape k = f.shape(name);
  if (r == Role::kernel && k.ndim() == 2)
    return dtype == DType::f64 ? dense_kernel<double>(f, name, k, dtype, flatten_chw)
                               : dense_kernel<float>(f, name, k, dtype, flatten_chw);
  const Tensor t = f.read(name, dtype);
  return dtype == DType::f64 ? convert_as<double>(t, r, layer) : convert_as<float>(t, r, layer);
}

}  // namespace

bool is_keras_file(const std::string& path) {
  h5::File f(path, h5::File::Mode::read);
  return f.has_attr("layer_names");
}

std::unique_ptr<nn::Model> load_keras(const std::string& path, const std::string& arch, DType dtype) {
  return load_keras(h5::File(path, h5::File::Mode::read), arch, dtype);
}

std::unique_ptr<nn::Model> load_keras(const h5::File& f, const std::string& arch_in, DType dtype) {
  const std::string& path = f.path();
  const std::vector<std::string> names = f.attr_strings("/", "layer_names");
  const std::set<std::string> layers(names.begin(), names.end());
  const std::string found = identify(layers);
  const std::string arch = arch_in.empty() ? found : arch_in;
  if (arch.empty()) throw Error("Keras file " + path + ": the layer names match no architecture gradtrace knows");
  if (!found.empty() && found != arch) throw Error("Keras file " + path + " holds a " + found + ", not a " + arch);
  // Keras names Inception V3's convs and batch norms by a creation counter that does not always start
  // at 1 (conv2d, conv2d_1, ... or conv2d_95, ...), and layer_names lists them by graph depth, not
  // creation. Ours are conv2d_1 ... in creation order: match by the file's counter, sorted.
  std::map<std::string, std::string> in_file;
  if (arch == "inception_v3")
    for (const std::string prefix : {"conv2d", "batch_normalization"}) {
      std::vector<std::pair<long, std::string>> found_layers;
      for (const std::string& l : names) {
        if (l == prefix)
          found_layers.push_back({0, l});
        else if (l.rfind(prefix + "_", 0) == 0 &&
                 l.find_first_not_of("0123456789", prefix.size() + 1) == std::string::npos)
          found_layers.push_back({std::stol(l.substr(prefix.size() + 1)), l});
      }
      std::sort(found_layers.begin(), found_layers.end());
      for (size_t i = 0; i < found_layers.size(); ++i)
        in_file[prefix + "_" + std::to_string(i + 1)] = found_layers[i].second;
    }
  auto file_name = [&](const std::string& ours) {
    auto it = in_file.find(ours);
    return it == in_file.end() ? ours : it->second;
  };
  auto weights_of = [&](const std::string& ours) {  // (role, dataset name)
    std::vector<std::pair<Role, std::string>> w;
    const std::string layer = file_name(ours);
    if (!layers.count(layer)) return w;
    for (const std::string& n : f.attr_strings(layer, "weight_names")) w.push_back({role_of(n), layer + "/" + n});
    return w;
  };
  // Sizes the file fixes: the classifier's outputs; the width (conv1 has 32 alpha filters in MobileNet,
  // block1_conv1 64 alpha in VGG); VGG's input size (fc1 reads (512 alpha) (size/32)^2 values).
  nn::ModelOptions o;
  o.variant = "keras";
  // Kernel shapes come from the metadata only: fc1 of a real VGG16 file is 411 MB, read once, below.
  auto kernel_shape = [&](const std::string& layer) {
    if (layers.count(layer))
      for (const std::string& n : f.attr_strings(layer, "weight_names"))
        if (role_of(n) == Role::kernel) return f.shape(layer + "/" + n);
    return Shape();
  };
  for (const char* l : {"predictions", "conv_preds"})
    if (const Shape k = kernel_shape(l); k.ndim() > 0) o.classes = k[k.ndim() - 1];
  o.include_top = o.classes > 0;  // a _notop file: feature extraction only
  if (const Shape k = kernel_shape("conv1"); arch == "mobilenet_v1" && k.ndim() == 4) o.alpha = double(k[3]) / 32.0;
  if (arch == "vgg16" || arch == "vgg19") {
    if (const Shape k = kernel_shape("block1_conv1"); k.ndim() == 4) o.alpha = double(k[3]) / 64.0;
    const Shape fc1 = kernel_shape("fc1");
    const int64_t c5 = std::max<int64_t>(1, static_cast<int64_t>(512 * o.alpha));
    if (fc1.ndim() == 2) o.input_size = 32 * std::lround(std::sqrt(double(fc1[0]) / double(c5)));
  }
  std::unique_ptr<nn::Model> m;
  try {
    m = nn::make_model(arch, o);
  } catch (const Error& e) {
    throw Error("Keras file " + path + ": " + e.what());
  }
  for (auto& layer : m->layers()) {
    auto params = layer->named_parameters();
    if (!layers.count(file_name(layer->name())))
      throw Error("Keras file " + path + ": missing layer " + layer->name() + " of " + arch);
    std::vector<int64_t> flatten_chw;
    if (auto* d = dynamic_cast<nn::Dense*>(layer.get())) flatten_chw = d->flatten_chw;
    std::set<std::string> assigned;
    for (auto& [r, name] : weights_of(layer->name())) {
      const Shape ks = f.shape(name);
      const char* ours = r == Role::kernel || r == Role::depthwise || r == Role::gamma ? "weight"
                         : r == Role::bias || r == Role::beta                          ? "bias"
                         : r == Role::mean                                             ? "running_mean"
                         : r == Role::var                                              ? "running_var"
                                                                                       : nullptr;
      auto it = std::find_if(params.begin(), params.end(), [&](const auto& p) { return ours && p.first == ours; });
      if (it == params.end())
        throw Error("Keras file " + path + ", layer " + layer->name() + ": a weight of shape " + ks.str() +
                    " has no place in " + arch);
      const Tensor v = convert(f, name, r, dtype, *layer, flatten_chw);
      if (v.shape() != it->second->shape())
        throw Error("Keras file " + path + ", layer " + layer->name() + ": " + it->first + " expected " +
                    it->second->shape().str() + ", found " + v.shape().str() + " (Keras " + ks.str() + ")");
      *it->second = v;
      assigned.insert(it->first);
    }
    // Inception's batch norms have scale=False: no gamma in the file, which means gamma = 1.
    if (auto* bn = dynamic_cast<nn::BatchNorm*>(layer.get()); bn && !assigned.count("weight")) {
      bn->weight = Tensor::full(bn->weight.shape(), 1.0, dtype);
      assigned.insert("weight");
    }
    for (auto& [name, t] : params)
      if (!assigned.count(name))
        throw Error("Keras file " + path + ", layer " + layer->name() + ": no " + name + " weight found");
  }
  return m;
}

}  // namespace gt
