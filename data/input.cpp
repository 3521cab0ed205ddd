#include "data/input.h"

#include "data/dataset.h"
#include "data/items.h"
#include "image/image.h"
#include "image/preprocess.h"

namespace gt::data {

namespace {
// fashion-mnist:SPLIT:K: example K of a Fashion-MNIST split as (1,3,28,28) pixels in [0,255] (the
// gray value in all three channels), and its class name. Returns false when `image` is not of this
// form; a malformed or out-of-range one is an InvalidArgument.
bool dataset_image(const std::string& image, Tensor& pixels, std::string& label) {
  const std::string prefix = "fashion-mnist:";
  if (image.rfind(prefix, 0) != 0) return false;
  const std::string rest = image.substr(prefix.size());
  const size_t colon = rest.find(':');
  const std::string split = rest.substr(0, colon);
  const std::string k = colon == std::string::npos ? "" : rest.substr(colon + 1);
  if ((split != "train" && split != "test") || k.empty() || k.find_first_not_of("0123456789") != std::string::npos)
    throw InvalidArgument("--image " + image + ": expected fashion-mnist:test:K or fashion-mnist:train:K (K an index)");
  const data::Dataset d = data::load_fashion_mnist(data::fashion_mnist_dir(), split);
  const long long i = std::stoll(k);
  if (i >= d.size())
    throw InvalidArgument("--image " + image + ": index " + k + " is out of range (the " + split +
                          " split has examples 0.." + std::to_string(d.size() - 1) + ")");
  pixels = example_pixels(d, i);
  label = d.class_names[size_t(d.labels[size_t(i)])];
  return true;
}
}  // namespace

Tensor load_pixels(const std::string& image, const nn::ModelInfo& info, const std::string& resize,
                   std::string* true_label) {
  Tensor pixels;
  std::string label;
  if (dataset_image(image, pixels, label)) {
    if (true_label) *true_label = label;
    if (pixels.dim(2) == info.input_h && pixels.dim(3) == info.input_w) return pixels;
    return resize_image(tensor_to_image(pixels), info.input_h, info.input_w, "squash");
  }
  return resize_image(load_image(image), info.input_h, info.input_w, resize.empty() ? info.resize : resize);
}

}  // namespace gt::data
