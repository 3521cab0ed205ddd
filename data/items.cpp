#include "data/items.h"

#include <algorithm>
#include <filesystem>

#include "image/image.h"
#include "image/preprocess.h"

namespace gt::data {
namespace fs = std::filesystem;

namespace {
// DIR's pictures, then those of its subfolders (one level: the class folders), each sorted by name.
void list_folder(Items& it) {
  if (!fs::is_directory(it.dir)) throw Error("--dataset folder:" + it.dir + ": no such folder");
  std::vector<fs::path> files, classes;
  for (const auto& e : fs::directory_iterator(it.dir)) {
    if (e.is_regular_file() && is_image_name(e.path().string())) files.push_back(e.path());
    if (e.is_directory()) classes.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::sort(classes.begin(), classes.end());
  for (const auto& f : files) it.names.push_back(f.filename().string()), it.labels.emplace_back();
  for (const auto& c : classes) {
    std::vector<fs::path> in;
    for (const auto& e : fs::directory_iterator(c))
      if (e.is_regular_file() && is_image_name(e.path().string())) in.push_back(e.path());
    std::sort(in.begin(), in.end());
    for (const auto& f : in)
      it.names.push_back((c.filename() / f.filename()).string()), it.labels.push_back(c.filename().string());
  }
  if (it.names.empty())
    throw Error("--dataset folder:" + it.dir + ": no pictures (.png, .jpg, .jpeg, .bmp) in it or its subfolders");
}
}  // namespace

Tensor example_pixels(const Dataset& d, int64_t i) {
  const int64_t S = d.height * d.width;
  Tensor pixels = Tensor::empty({1, 3, d.height, d.width});
  float* p = pixels.data<float>();
  const uint8_t* src = d.pixels.data() + i * d.channels * S;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t j = 0; j < S; ++j) p[c * S + j] = src[(d.channels == 3 ? c : 0) * S + j];
  return pixels;
}

Items open_items(const std::string& spec, int64_t limit) {
  Items it;
  it.source = spec;
  if (spec.rfind("folder:", 0) == 0 && spec.size() > 7) {
    it.dir = spec.substr(7);
    list_folder(it);
  } else if (spec == "fashion-mnist" || spec == "fashion-mnist:test" || spec == "fashion-mnist:train") {
    const std::string split = spec == "fashion-mnist:train" ? "train" : "test";
    it.source = "fashion-mnist:" + split;
    it.images = load_fashion_mnist(fashion_mnist_dir(), split);
    const int64_t n = limit > 0 ? std::min(limit, it.images.size()) : it.images.size();
    for (int64_t i = 0; i < n; ++i) {
      it.names.push_back(it.source + ":" + std::to_string(i));
      it.labels.push_back(it.images.class_names[size_t(it.images.labels[size_t(i)])]);
    }
  } else {
    throw InvalidArgument("unknown --dataset '" + spec +
                          "' (known: folder:DIR, fashion-mnist:test, fashion-mnist:train)");
  }
  if (limit > 0 && it.size() > limit) it.names.resize(size_t(limit)), it.labels.resize(size_t(limit));
  return it;
}

Tensor Items::pixels(int64_t i, const nn::ModelInfo& info, const std::string& resize) const {
  if (images.size() > 0) {
    const Tensor p = example_pixels(images, i);
    if (p.dim(2) == info.input_h && p.dim(3) == info.input_w) return p;
    return resize_image(tensor_to_image(p), info.input_h, info.input_w, "squash");
  }
  return resize_image(load_image((fs::path(dir) / names[size_t(i)]).string()), info.input_h, info.input_w,
                      resize.empty() ? info.resize : resize);
}

}  // namespace gt::data
