// MobileNet V1 (Howard et al. 2017): a 3x3 conv, then 13 blocks of depthwise 3x3 + pointwise 1x1,
// each followed by batch norm and ReLU6; global average pooling and a 1x1 conv as classifier.
// Layer names follow keras.applications.MobileNet. Widths are int(c * alpha).
//
// Variants differ only where their origin does:
//   keras:  conv + BN (eps 1e-3); stride-2 convs pad (0,1,0,1) explicitly ('conv_pad_i'), others 'same'.
//   tflite: BN folded into conv biases; TensorFlow 'SAME' padding computed for the actual size.
#include "nn/model.h"

namespace gt::nn {
namespace {

class MobileNetV1 : public Model {
 public:
  explicit MobileNetV1(const ModelOptions& o) : folded_(o.variant == "tflite") {
    const double a = o.alpha;
    auto width = [a](int64_t c) { return static_cast<int64_t>(c * a); };
    describe("mobilenet_v1", o, "tf", 224, folded_ ? 1001 : 1000, "conv_pw_13_relu");
    int64_t c = width(32);
    conv("conv1", 3, c, 3, 2, 1);
    for (int i = 0; i < 13; ++i) {
      const int64_t out = width(kBlocks[i].out);
      conv("conv_dw_" + std::to_string(i + 1), c, c, 3, kBlocks[i].stride, c);
      conv("conv_pw_" + std::to_string(i + 1), c, out, 1, 1, 1);
      c = out;
    }
    ops::Conv2dOptions one;
    if (info.include_top) preds_ = &add<Conv2d>("conv_preds", c, info.classes, 1, one, true);
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    for (size_t i = 0; i < convs_.size(); ++i) {
      h = conv_bn(*convs_[i], h, Act::relu6, convs_[i]->name() + "_relu");  // TF Lite: BN already folded
    }
    if (!preds_) return h;
    {
      NameScope s("global_average_pooling2d");
      h = ops::reshape(ops::global_avg_pool(h), {h.dim(0), h.dim(1), 1, 1});
    }
    h = (*preds_)(h);
    NameScope s("reshape_2");
    return ops::flatten(h);
  }

 private:
  struct Block {
    int64_t out, stride;
  };
  static constexpr Block kBlocks[13] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2}, {512, 1},
                                        {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};

  void conv(const std::string& name, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups) {
    ops::Conv2dOptions o;
    o.stride_h = o.stride_w = stride;
    o.groups = groups;
    if (!folded_ && k == 3) o.pad = stride == 2 ? Pads{0, 1, 0, 1} : Pads{1, 1, 1, 1};
    convs_.push_back(&add<Conv2d>(name, in, out, k, o, folded_, folded_));
    if (!folded_) add_bn(*convs_.back(), name + "_bn", out, 1e-3);
  }

  bool folded_;
  std::vector<Conv2d*> convs_;
  Conv2d* preds_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_mobilenet_v1(const ModelOptions& o) {
  if (!(o.alpha > 0 && o.alpha <= 4))
    throw Error("mobilenet_v1: alpha must lie in (0, 4], got " + std::to_string(o.alpha));
  return std::make_unique<MobileNetV1>(o);
}

}  // namespace gt::nn
