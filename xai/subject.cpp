#include "xai/subject.h"

#include <algorithm>

#include "autodiff/ops.h"
#include "data/input.h"
#include "image/preprocess.h"
#include "weights/load.h"

namespace gt::xai {

Subject load_subject(const std::string& weights, const std::string& arch, const std::string& image,
                     const std::string& resize, Device device, DType dtype, const ImportOptions& import) {
  Subject s;
  s.model = load_model(weights, arch, device, dtype, import);
  s.resize = resize;
  const nn::ModelInfo& info = s.model->info;
  if (!info.include_top)
    throw Error("weights file " + weights + " has no classifier (a _notop file): nothing to explain");
  if (is_tensor_input(image)) {
    set_input(s, Tensor(), load_input(image, info, "", dtype));
  } else {
    std::string label;
    const Tensor pixels = data::load_pixels(image, info, resize, &label);
    set_input(s, pixels, Tensor(), label);
  }
  return s;
}

void set_input(Subject& s, const Tensor& pixels, const Tensor& x, const std::string& true_label) {
  const DType dtype = s.model->dtype();
  s.pixels = pixels;
  s.x = pixels.defined() ? preprocess(pixels, s.model->info.preprocessing).to(dtype) : x.to(dtype);
  s.true_label = true_label;
  // The input lives where the model runs: a host input would send the logits back to the host and
  // their gradient to the GPU in the middle of every pass (nn::Model::operator()), each with a wait.
  s.x = s.x.to(s.model->device());
  nn::Model* m = s.model.get();
  s.fn = [m](const Tensor& in) { return (*m)(in); };
  NoGradGuard no_grad;
  s.probs = ops::softmax(s.fn(s.x)).to_vector();
  s.top1 = std::max_element(s.probs.begin(), s.probs.end()) - s.probs.begin();
}

Tensor Subject::pixel_fill(double v) const {
  return preprocess(Tensor::full({1, 3, x.dim(2), x.dim(3)}, v), model->info.preprocessing).to(x.dtype());
}

Tensor Subject::baseline(const std::string& b, uint64_t seed) const {
  Tensor base;
  if (b == "black" || b == "white" || b == "gray") {
    base = pixel_fill(b == "black" ? 0 : b == "white" ? 255 : 128);
  } else if (b == "noise") {
    base = preprocess(Tensor::uniform({1, 3, x.dim(2), x.dim(3)}, 0, 255, seed), model->info.preprocessing);
  } else if (b == "blur") {
    base = blurred();
  } else {
    base = load_input(b, model->info, resize, x.dtype());
    if (base.shape() != x.shape())
      throw Error("baseline file " + b + " gives a tensor " + base.shape().str() + ", the input is " + x.shape().str());
  }
  return base.to(x.dtype()).to(x.device());
}

Tensor Subject::blurred() const {
  return pixels.defined() ? preprocess(gaussian_blur(pixels, 10), model->info.preprocessing).to(x.dtype())
                          : gaussian_blur(x, 10);
}

Faithfulness faithfulness(Subject& s, const std::vector<float>& map, int64_t target, int steps) {
  FaithfulnessOptions o;
  o.steps = steps;
  return {deletion(s.fn, s.x, s.pixel_fill(0), map, target, o), insertion(s.fn, s.x, s.blurred(), map, target, o)};
}

}  // namespace gt::xai
