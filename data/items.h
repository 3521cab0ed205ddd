// The items an evaluation runs over, one by one: the pictures of a folder (DIR/*.png, or
// DIR/<class>/*.png with the folder as the label), or a Fashion-MNIST split (held once). Each item
// has a stable name, which keys results, masks and resumed runs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/tensor.h"
#include "data/dataset.h"
#include "nn/model.h"

namespace gt::data {

struct Items {
  std::string source;               // "folder:photos", "fashion-mnist:test"
  std::vector<std::string> names;   // "cat.png", "tabby/cat.png" (relative to the folder), "fashion-mnist:test:17"
  std::vector<std::string> labels;  // the class folder or the dataset's label; "" where there is none
  int64_t size() const { return int64_t(names.size()); }
  // Item i as pixels (1,3,H,W) in [0,255] at the model's input size (`resize` as --resize says).
  Tensor pixels(int64_t i, const nn::ModelInfo& info, const std::string& resize) const;

  std::string dir;  // the folder
  Dataset images;   // a dataset split
};

// --dataset folder:DIR | fashion-mnist:test | fashion-mnist:train | fashion-mnist (the test split);
// the first `limit` items (0: all). Unknown forms, a missing folder or one without pictures are errors.
Items open_items(const std::string& spec, int64_t limit = 0);

// Example i of an image dataset as (1,3,H,W) pixels in [0,255] (a gray image in all three channels).
Tensor example_pixels(const Dataset& d, int64_t i);

}  // namespace gt::data
