#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "data/idx.h"
#include "image/image.h"
#include "image/preprocess.h"

namespace gt::data {
namespace fs = std::filesystem;

Dataset Dataset::subset(const std::vector<int64_t>& idx, const std::string& src) const {
  Dataset s;
  s.source = src;
  s.channels = channels;
  s.height = height;
  s.width = width;
  s.class_names = class_names;
  if (features) {
    s.features = features;
    for (int64_t i : idx) {
      s.values.insert(s.values.end(), values.begin() + i * features, values.begin() + (i + 1) * features);
      if (!labels.empty()) s.labels.push_back(labels[size_t(i)]);
      if (!targets.empty()) s.targets.push_back(targets[size_t(i)]);
    }
    return s;
  }
  const size_t plane = size_t(channels * height * width);
  s.pixels.resize(idx.size() * plane);
  for (size_t i = 0; i < idx.size(); ++i) {
    std::copy_n(pixels.begin() + long(size_t(idx[i]) * plane), plane, s.pixels.begin() + long(i * plane));
    s.labels.push_back(labels[size_t(idx[i])]);
  }
  return s;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::string fashion_mnist_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  if (const char* e = std::getenv("GRADTRACE_FASHION_MNIST"); e && *e) return e;
  return "/usr/share/datasets/fashion-mnist";
}

Dataset load_fashion_mnist(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "test")
    throw Error("fashion-mnist: unknown split '" + split + "' (known: train, test)");
  if (!fs::is_directory(dir))
    throw Error("Fashion-MNIST directory " + dir +
                " not found; install Debian's package with: apt-get install dataset-fashion-mnist "
                "(or point GRADTRACE_FASHION_MNIST at a directory holding the four .gz files)");
  const std::string stem = dir + "/" + (split == "train" ? "train" : "t10k");
  const std::string img_path = stem + "-images-idx3-ubyte.gz", lab_path = stem + "-labels-idx1-ubyte.gz";
  const IdxArray img = read_idx(img_path), lab = read_idx(lab_path);
  if (img.dims.size() != 3 || img.dims[1] != 28 || img.dims[2] != 28)
    throw Error("dataset file " + img_path + ": expected images of shape (N,28,28)");
  if (lab.dims.size() != 1 || lab.dims[0] != img.dims[0])
    throw Error("dataset file " + lab_path + ": expected " + std::to_string(img.dims[0]) +
                " labels, one per image in " + img_path);
  Dataset d;
  d.source = "fashion-mnist:" + split;
  d.channels = 1;
  d.height = d.width = 28;
  d.class_names = fashion_mnist_classes();
  d.pixels = img.bytes;
  for (size_t i = 0; i < lab.bytes.size(); ++i) {
    if (lab.bytes[i] >= 10)
      throw Error("dataset file " + lab_path + ": label " + std::to_string(lab.bytes[i]) + " of example " +
                  std::to_string(i) + " is not a class 0..9");
    d.labels.push_back(lab.bytes[i]);
  }
  return d;
}

bool is_image_name(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp";
}

Dataset load_image_folder(const std::string& dir, const FolderOptions& o,
                          const std::function<void(const std::string&)>& warn) {
  if (!fs::is_directory(dir)) throw Error("image folder " + dir + " not found (expected DIR/<class name>/*.png|jpg)");
  if (o.channels != 1 && o.channels != 3) throw Error("image folder " + dir + ": channels must be 1 or 3");
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) classes.push_back(e.path());
  std::sort(classes.begin(), classes.end());
  if (classes.size() < 2)
    throw Error("image folder " + dir + ": found " + std::to_string(classes.size()) +
                " class folders; a classifier needs at least 2 (DIR/<class name>/*.png|jpg)");
  Dataset d;
  d.source = "folder:" + dir;
  d.channels = o.channels;
  d.height = d.width = o.size;
  size_t skipped = 0;
  std::string first_bad;
  for (size_t k = 0; k < classes.size(); ++k) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(classes[k]))
      if (e.is_regular_file() && is_image_name(e.path().string())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw Error("image folder " + classes[k].string() + ": no images (.png, .jpg, .jpeg, .bmp) in this class folder");
    size_t loaded = 0;
    for (const auto& f : files) {
      Tensor rgb;
      try {
        rgb = resize_image(load_image(f.string()), o.size, o.size, "squash");
      } catch (const Error& e) {
        if (o.strict) throw Error(std::string(e.what()) + " (--strict: unreadable images are errors)");
        if (skipped++ == 0) first_bad = e.what();
        continue;
      }
      const float* p = rgb.data<float>();
      const int64_t S = o.size * o.size;
      for (int64_t c = 0; c < o.channels; ++c)
        for (int64_t i = 0; i < S; ++i) {
          const double v = o.channels == 3 ? p[c * S + i] : luminance<double>(p[i], p[S + i], p[2 * S + i]);
          d.pixels.push_back(uint8_t(std::clamp(std::lround(v), 0L, 255L)));
        }
      d.labels.push_back(int32_t(k));
      ++loaded;
    }
    if (loaded == 0)
      throw Error("image folder " + classes[k].string() + ": none of its " + std::to_string(files.size()) +
                  " images could be read");
    d.class_names.push_back(classes[k].filename().string());
  }
  if (skipped > 0 && warn)
    warn("skipped " + std::to_string(skipped) + " unreadable image" + (skipped > 1 ? "s" : "") + " in " + dir +
         " (the first: " + first_bad + "); --strict makes this an error");
  return d;
}

std::pair<Dataset, Dataset> split_validation(const Dataset& d, double fraction, uint64_t seed) {
  std::vector<std::vector<int64_t>> by_class(size_t(d.classes()));
  for (int64_t i = 0; i < d.size(); ++i) by_class[size_t(d.labels[size_t(i)])].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> train, val;
  for (auto& idx : by_class) {
    std::shuffle(idx.begin(), idx.end(), rng);
    size_t n = size_t(std::lround(fraction * double(idx.size())));
    if (fraction > 0 && n == 0 && idx.size() >= 2) n = 1;
    val.insert(val.end(), idx.begin(), idx.begin() + long(n));
    train.insert(train.end(), idx.begin() + long(n), idx.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  return {d.subset(train, d.source + " (train)"), d.subset(val, d.source + " (validation)")};
}

DatasetSpec parse_dataset(const std::string& s) {
  if (s == "fashion-mnist") return {"fashion-mnist", ""};
  if (s.rfind("fashion-mnist:", 0) == 0) return {"fashion-mnist", s.substr(14)};
  if (s.rfind("folder:", 0) == 0 && s.size() > 7) return {"folder", s.substr(7)};
  if (s.rfind("csv:", 0) == 0 && s.size() > 4) return {"csv", s.substr(4)};
  throw Error("unknown dataset '" + s + "' (known: fashion-mnist, fashion-mnist:DIR, folder:DIR, csv:FILE)");
}

Tensor make_batch(const Dataset& d, const int64_t* idx, int64_t B, const Augment& a, std::mt19937_64& rng,
                  std::vector<int32_t>& labels) {
  if (d.features) {
    Tensor x = Tensor::empty({B, d.features});
    for (int64_t b = 0; b < B; ++b) {
      std::copy_n(d.values.begin() + idx[b] * d.features, d.features, x.data<float>() + b * d.features);
      if (!d.labels.empty()) labels.push_back(d.labels[size_t(idx[b])]);
    }
    return x;
  }
  const int64_t C = d.channels, H = d.height, W = d.width, plane = C * H * W;
  Tensor x = Tensor::empty({B, C, H, W});
  float* out = x.data<float>();
  std::uniform_int_distribution<int64_t> shift(-a.pad, a.pad);
  for (int64_t b = 0; b < B; ++b) {
    const uint8_t* src = d.pixels.data() + idx[b] * plane;
    // Output pixel (i, j) reads source (i + dy, j + dx), mirrored first when flipped; outside is zero.
    const bool flip = a.flip && (rng() & 1);
    const int64_t dy = a.pad ? shift(rng) : 0, dx = a.pad ? shift(rng) : 0;
    float* dst = out + b * plane;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const int64_t si = i + dy, sj0 = j + dx, sj = flip ? W - 1 - sj0 : sj0;
          const bool in = si >= 0 && si < H && sj0 >= 0 && sj0 < W;
          dst[(c * H + i) * W + j] = in ? float(src[(c * H + si) * W + sj]) * (1.0f / 255) : 0.0f;
        }
    labels.push_back(d.labels[size_t(idx[b])]);
  }
  return x;
}

}  // namespace gt::data
