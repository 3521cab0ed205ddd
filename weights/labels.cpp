#include "weights/labels.h"

#include "autodiff/tensor.h"

namespace gt {

const std::vector<std::string>& class_labels(const std::string& set) {
  static const std::vector<std::string> k1000 = {
#include "weights/imagenet_labels.inc"
  };
  static const std::vector<std::string> k1001 = [] {
    std::vector<std::string> v{"background"};
    v.insert(v.end(), k1000.begin(), k1000.end());
    return v;
  }();
  if (set == "imagenet1000") return k1000;
  if (set == "imagenet1001") return k1001;
  static const std::vector<std::string> none;
  return none;
}

const std::vector<std::string>& class_names(const nn::ModelInfo& info) {
  return info.labels == "custom" ? info.class_names : class_labels(info.labels);
}

std::string class_name(const nn::ModelInfo& info, int64_t k) {
  const auto& v = class_names(info);
  return k >= 0 && k < int64_t(v.size()) ? v[size_t(k)] : "class " + std::to_string(k);
}

}  // namespace gt
