// Datasets for training and evaluation: Fashion-MNIST (Debian's dataset-fashion-mnist) and image
// folders (DIR/<class name>/*.png|jpg), held in memory as bytes, and mini-batches made from them with
// the augmentation (random horizontal flip, random crop from a zero-padded image).
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "autodiff/tensor.h"

namespace gt::data {

struct Dataset {
  std::string source;  // "fashion-mnist:test", "folder:photos (train)": for messages and reports
  int64_t channels = 1, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // (N, C, H, W), 0..255
  std::vector<int32_t> labels;  // N, 0..classes-1 (empty for a regression table)
  std::vector<std::string> class_names;
  // A table (data/table.h) instead of images: rows of `features` encoded values, and for regression
  // the standardised target of each row (the model's output).
  int64_t features = 0;
  std::vector<float> values;   // (N, features)
  std::vector<float> targets;  // N (regression only)
  int64_t size() const { return features ? int64_t(values.size()) / features : int64_t(labels.size()); }
  int64_t classes() const { return int64_t(class_names.size()); }
  // The examples at idx, in that order.
  Dataset subset(const std::vector<int64_t>& idx, const std::string& source) const;
};

const std::vector<std::string>& fashion_mnist_classes();
// The Fashion-MNIST directory: dir when not empty, else $GRADTRACE_FASHION_MNIST, else Debian's
// /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir(const std::string& dir = "");
// split: "train" (60,000 images) or "test" (10,000). A missing directory is an error that gives the
// apt-get command; a corrupt file is an error that names it.
Dataset load_fashion_mnist(const std::string& dir, const std::string& split);

// Whether a file name is a picture an image folder holds: .png, .jpg, .jpeg or .bmp (any case).
bool is_image_name(const std::string& path);

struct FolderOptions {
  int64_t size = 32;     // images are resized (squashed) to size x size
  int64_t channels = 3;  // 3 = RGB, 1 = luminance
  bool strict = false;   // an unreadable image is an error instead of a skipped file
};
// DIR/<class>/<image>: classes are the subdirectories in sorted order. Unreadable images are skipped
// and counted in one call of `warn` (or, with strict, the first is an error); an empty class folder
// is an error that names it.
Dataset load_image_folder(const std::string& dir, const FolderOptions& o,
                          const std::function<void(const std::string&)>& warn);
// A seeded split into (train, validation): each class contributes round(fraction * its count) examples
// (at least one when it has two or more) to the validation part.
std::pair<Dataset, Dataset> split_validation(const Dataset& d, double fraction, uint64_t seed);

// --dataset fashion-mnist[:DIR] | folder:DIR | csv:FILE (a table, data/table.h)
struct DatasetSpec {
  std::string kind;  // fashion-mnist | folder | csv
  std::string dir;   // the folder, or the CSV file
};
DatasetSpec parse_dataset(const std::string& s);

struct Augment {
  bool flip = false;  // mirror left-right with probability 1/2
  int64_t pad = 0;    // random crop of the original size from the image padded with pad zeros
};
// Examples idx[0..B) as a batch x (B,C,H,W) = pixels / 255 (the "gray"/"unit" preprocessing), their
// labels appended to `labels`. The augmentation draws from rng, so a seed fixes every batch. A table's
// rows give x (B, features) as encoded, without augmentation.
Tensor make_batch(const Dataset& d, const int64_t* idx, int64_t B, const Augment& a, std::mt19937_64& rng,
                  std::vector<int32_t>& labels);

}  // namespace gt::data
