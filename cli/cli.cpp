#include "cli/cli.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "autodiff/backend.h"
#include "image/preprocess.h"
#include "render/viz.h"
#include "weights/labels.h"
#include "weights/load.h"

namespace gt::cli {

Args::Args(int argc, char** argv, int first, const std::vector<std::string>& switches) {
  for (int i = first; i < argc; ++i) {
    const std::string s = argv[i];
    if (s.rfind("--", 0) != 0) {
      positional_.push_back(s);
      continue;
    }
    // "--name=value" or "--name value" (a following token that is not itself a flag)
    const size_t eq = s.find('=');
    if (eq != std::string::npos) {
      values_[s.substr(0, eq)] = s.substr(eq + 1);
    } else if (std::find(switches.begin(), switches.end(), s) == switches.end() && i + 1 < argc) {
      values_[s] = argv[++i];
    } else {
      values_[s] = "";
    }
    used_[s.substr(0, eq)] = false;
  }
}

std::string Args::get(const std::string& name, const std::string& def) {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  used_[name] = true;
  if (it->second.empty()) throw UsageError(name + " needs a value");
  return it->second;
}

namespace {
// "--alpha must be a number in [0, 1], got '-1'": the same words as a method option's (xai/method.cpp).
UsageError range_error(const std::string& name, const char* what, double lo, double hi, const std::string& got) {
  return UsageError(name + " must be " + what + " in [" + xai::fmt("%.15g", lo) + ", " + xai::fmt("%.15g", hi) +
                    "], got '" + got + "'");
}
}  // namespace

long Args::get_int(const std::string& name, long def, long lo, long hi) {
  const std::string s = get(name, std::to_string(def));
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (!end || *end || s.empty()) throw UsageError(name + " expects an integer, got '" + s + "'");
  if (v < lo || v > hi) throw range_error(name, "an integer", double(lo), double(hi), s);
  return v;
}

double Args::get_double(const std::string& name, double def, double lo, double hi) {
  const std::string s = get(name, std::to_string(def));
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (!end || *end || s.empty()) throw UsageError(name + " expects a number, got '" + s + "'");
  if (!(v >= lo && v <= hi)) throw range_error(name, "a number", lo, hi, s);
  return v;
}

bool Args::flag(const std::string& name) {
  auto it = values_.find(name);
  if (it == values_.end()) return false;
  used_[name] = true;
  if (!it->second.empty()) throw UsageError(name + " takes no value");
  return true;
}

void Args::finish() const {
  for (const auto& [name, used] : used_)
    if (!used) throw UsageError("unknown option " + name);
}

void check_model_flag(const std::string& model) {
  if (model.empty()) return;
  try {
    nn::check_model_name(model);
  } catch (const Error& e) {
    throw UsageError(std::string("--model: ") + e.what());
  }
}

namespace {
Device g_device = Device::cpu;  // --device, for load_model
DType g_dtype = DType::f32;     // --precision
ImportOptions g_import;         // --preprocess, --size, --labels
}  // namespace

Device apply_device(Args& a) {
  const std::string d = a.get("--device", "cpu");
  if (d != "cpu" && d != "cuda") throw UsageError("--device must be cpu or cuda, not '" + d + "'");
  g_device = d == "cuda" ? Device::cuda : Device::cpu;
  backend(g_device);
  return g_device;
}

void reset_run_settings() { g_device = Device::cpu, g_dtype = DType::f32, g_import = {}; }

ImportOptions import_flags(Args& a) {
  ImportOptions o;
  o.preprocess = a.get("--preprocess", "");
  const std::vector<std::string> modes = {"torch", "tf", "caffe", "unit", "gray", "none"};
  if (!o.preprocess.empty() && std::find(modes.begin(), modes.end(), o.preprocess) == modes.end())
    throw UsageError("--preprocess must be torch, tf, caffe, unit, gray or none, not '" + o.preprocess + "'");
  o.size = a.get_int("--size", 0, 0, 4096);  // 0: as the file says
  o.labels = a.get("--labels", "");
  return o;
}

std::string weights_flag(Args& a) {
  const std::string w = a.get("--weights", "");
  g_import = import_flags(a);
  return w;
}

DType apply_precision(Args& a) {
  const std::string p = a.get("--precision", "float32");
  if (p != "float32" && p != "float64") throw UsageError("--precision must be float32 or float64, not '" + p + "'");
  return g_dtype = p == "float64" ? DType::f64 : DType::f32;
}

DType precision() { return g_dtype; }

std::unique_ptr<nn::Model> load_model(const std::string& weights, const std::string& model) {
  return gt::load_model(weights, model, g_device, g_dtype, g_import);
}

xai::Subject load_subject(const std::string& weights, const std::string& model, const std::string& image,
                          const std::string& resize) {
  return xai::load_subject(weights, model, image, resize, g_device, g_dtype, g_import);
}

std::vector<int64_t> top_classes(const std::vector<float>& probs, size_t k) {
  std::vector<int64_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  k = std::min(k, order.size());
  std::partial_sort(order.begin(), order.begin() + long(k), order.end(),
                    [&](int64_t i, int64_t j) { return probs[size_t(i)] > probs[size_t(j)]; });
  order.resize(k);
  return order;
}

std::vector<float> pixel_change(const Tensor& before, const Tensor& after) {
  std::vector<float> change(size_t(before.dim(2) * before.dim(3)), 0.0f);
  const std::vector<float> a0 = before.to_vector(), a1 = after.to_vector();
  for (size_t i = 0; i < a0.size(); ++i) change[i % change.size()] += std::abs(a1[i] - a0[i]);
  return change;
}

std::string dims(const Shape& s) {
  std::string o;
  for (int i = 0; i < s.ndim(); ++i) o += (i ? "x" : "") + std::to_string(s[i]);
  return o;
}

std::vector<std::string> comma_list(const std::string& s) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from < s.size()) {
    const size_t comma = std::min(s.find(',', from), s.size());
    if (comma > from) out.push_back(s.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

std::string comma_join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s)
    o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
  return o;
}

Image figure(const std::vector<Image>& panels, const std::string& title, const std::vector<std::string>& names,
             bool caption) {
  return caption ? viz::captioned(panels, title, names) : viz::panels(panels);
}

std::string class_caption(const nn::ModelInfo& info, int64_t k, double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, " (p = %.3f)", p);
  return class_name(info, k) + buf;
}

void check_out_folder(const std::string& flag, const std::string& path) {
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!path.empty() && !folder.empty() && !std::filesystem::is_directory(folder))
    throw UsageError(flag + " " + path + ": the folder " + folder.string() + " does not exist");
}

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << text;
    if (!f) {
      std::remove(tmp.c_str());
      throw Error("cannot write " + path);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot move the finished file into place at " + path);
  }
}

void input_bounds(const nn::ModelInfo& info, Tensor& lo, Tensor& hi) {
  const Tensor p0 = preprocess(Tensor::zeros({1, 3, 1, 1}), info.preprocessing);
  const Tensor p255 = preprocess(Tensor::full({1, 3, 1, 1}, 255.0), info.preprocessing);
  std::vector<float> a = p0.to_vector(), b = p255.to_vector();
  for (size_t c = 0; c < a.size(); ++c)
    if (a[c] > b[c]) std::swap(a[c], b[c]);  // caffe's BGR means leave the order; a flip would not
  lo = Tensor::from_vector(p0.shape(), a);
  hi = Tensor::from_vector(p0.shape(), b);
}

// --target: "" (top-1), "all", an index, or a class name.
xai::Target resolve_target(const std::string& s, const nn::ModelInfo& info, int64_t top1, bool allow_all) {
  if (s.empty()) return {top1, false};
  if (s == "all") {
    if (!allow_all) throw UsageError("--target all (the sum of all classes) is for gradient methods and ig");
    return {0, true};
  }
  const int64_t K = info.classes;
  if (std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    const long long k = std::stoll(s);
    if (k >= K)
      throw UsageError("class index " + s + " is out of range: the model has classes 0.." + std::to_string(K - 1));
    return {k, false};
  }
  const auto& names = class_names(info);
  auto lower = [](std::string v) {
    for (char& c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  for (size_t k = 0; k < names.size(); ++k)
    if (lower(names[k]) == lower(s)) return {int64_t(k), false};
  std::string near;
  for (const auto& n : nn::closest_names(s, names, 5)) near += (near.empty() ? "" : "\", \"") + n;
  throw UsageError(
      "unknown class name '" + s + "'" +
      (near.empty() ? " (this model's classes have no names; use an index)" : " (closest: \"" + near + "\")"));
}

void check_colormap(const std::string& cmap) {
  const auto names = viz::colormap_names();
  if (std::find(names.begin(), names.end(), cmap) == names.end())
    throw UsageError("unknown colormap '" + cmap + "' (known: " + viz::colormap_list() + ")");
}

void check_resize(const std::string& resize) {
  if (!resize.empty() && resize != "squash" && resize != "crop") throw UsageError("--resize must be squash or crop");
}

int apply_threads(Args& a) {
  const long n = a.get_int("--threads", 0, 0, 1024);
  if (n > 0) {
    omp_set_num_threads(static_cast<int>(n));
    Eigen::setNbThreads(static_cast<int>(n));
  }
  return omp_get_max_threads();
}

}  // namespace gt::cli
