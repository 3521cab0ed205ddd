// fashion_cnn: the small CNN that gradtrace trains itself on Fashion-MNIST (the embedded default model,
// weights/fashion_cnn.h5). Three blocks of conv 3x3 (pad 1, no bias) -> batch norm -> ReLU -> max pool
// 2x2, widths 32, 64, 128; then flatten, dropout 0.3 and the classifier:
//   (N,1,28,28) -> (N,32,14,14) -> (N,64,7,7) -> (N,128,3,3) -> 1152 -> (N,10)
// Grad-CAM's default layer is conv3_relu, the last conv block at 7x7 (before its pool).
// Options: channels (1 = gray, 3 = RGB for image folders), any input size >= 8 (each pool floors), alpha
// scales the widths (the tests train a narrow one). Preprocessing: "gray" (1 channel) or "unit"
// (3 channels), both pixel / 255.
#include "nn/model.h"

namespace gt::nn {
namespace {

class FashionCnn : public Model {
 public:
  explicit FashionCnn(const ModelOptions& o) {
    const int64_t channels = o.channels ? o.channels : 1;
    if (channels != 1 && channels != 3)
      throw Error("fashion_cnn: channels must be 1 or 3, got " + std::to_string(channels));
    describe("fashion_cnn", o, channels == 1 ? "gray" : "unit", 28, 10, "conv3_relu");
    info.channels = channels;
    if (info.input_h < 8)
      throw Error("fashion_cnn: the input size must be at least 8, got " + std::to_string(info.input_h));
    int64_t c = channels;
    ops::Conv2dOptions same;
    same.pad = {1, 1, 1, 1};
    for (int b = 1; b <= 3; ++b) {
      const int64_t width = std::max<int64_t>(1, int64_t(double(int64_t(16) << b) * o.alpha));
      const std::string name = "conv" + std::to_string(b);
      Conv2d& conv = add<Conv2d>(name, c, width, 3, same, false);
      add_bn(conv, name + "_bn", width, 1e-5);
      convs_.push_back(&conv);
      c = width;
    }
    const int64_t s = info.input_h / 8;
    dropout_ = &add<Dropout>("dropout", 0.3);
    fc_ = &add<Dense>("fc", c * s * s, info.classes);
    fc_->flatten_chw = {c, s, s};
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    ops::PoolOptions pool;  // 2x2, stride 2
    for (size_t b = 1; b <= convs_.size(); ++b) {
      const std::string n = std::to_string(b);
      h = conv_bn(*convs_[b - 1], h, Act::relu, "conv" + n + "_relu");
      NameScope s("pool" + n);
      h = ops::max_pool2d(h, pool);
    }
    {
      NameScope s("flatten");
      h = ops::flatten(h);
    }
    return (*fc_)((*dropout_)(h));
  }

 private:
  std::vector<Conv2d*> convs_;
  Dropout* dropout_ = nullptr;
  Dense* fc_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_fashion_cnn(const ModelOptions& o) { return std::make_unique<FashionCnn>(o); }

}  // namespace gt::nn
