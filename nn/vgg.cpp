// VGG16 / VGG19 (Simonyan & Zisserman 2014): blocks of 3x3 convs (pad 1) + ReLU, each block ending in a
// 2x2 max pool; then flatten, fc1, fc2 (4096, ReLU) and the classifier. Keras layer names; the conv's
// ReLU is recorded inside the conv's layer, as Keras fuses it (block5_conv3 is post-ReLU).
// Widths scale with alpha (tests use a narrow VGG); any input of at least 32 pixels (each pool floors,
// as Keras' 'valid' 2x2 pooling does).
// Variants: keras (caffe preprocessing, squash resize) and torch (torch preprocessing, crop resize).
// Both flatten in C,H,W order here; the Keras importer permutes fc1's kernel from Keras' H,W,C order.
#include "nn/model.h"

namespace gt::nn {
namespace {

class Vgg : public Model {
 public:
  Vgg(int depth, const ModelOptions& o) {
    const int per_block[5] = {2, 2, depth == 19 ? 4 : 3, depth == 19 ? 4 : 3, depth == 19 ? 4 : 3};
    const int64_t widths[5] = {64, 128, 256, 512, 512};
    auto width = [&](int64_t c) { return std::max<int64_t>(1, static_cast<int64_t>(c * o.alpha)); };
    describe(depth == 19 ? "vgg19" : "vgg16", o, "caffe", 224, 1000, "block5_conv3");
    if (info.input_h < 32)
      throw Error(info.arch + ": the input size must be at least 32, got " + std::to_string(info.input_h));
    int64_t c = 3;
    ops::Conv2dOptions same;
    same.pad = {1, 1, 1, 1};
    for (int b = 0; b < 5; ++b) {
      std::vector<Conv2d*> block;
      for (int i = 0; i < per_block[b]; ++i) {
        const std::string name = "block" + std::to_string(b + 1) + "_conv" + std::to_string(i + 1);
        block.push_back(&add<Conv2d>(name, c, width(widths[b]), 3, same, true));
        c = width(widths[b]);
      }
      blocks_.push_back(block);
    }
    if (!info.include_top) return;
    int64_t s = info.input_h;
    for (int b = 0; b < 5; ++b) s /= 2;  // five 2x2 pools, each rounding down
    fc1_ = &add<Dense>("fc1", c * s * s, width(4096));
    fc1_->flatten_chw = {c, s, s};
    fc2_ = &add<Dense>("fc2", width(4096), width(4096));
    predictions_ = &add<Dense>("predictions", width(4096), info.classes);
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    ops::PoolOptions pool;  // 2x2, stride 2
    for (size_t b = 0; b < blocks_.size(); ++b) {
      for (Conv2d* conv : blocks_[b]) h = conv_bn(*conv, h, Act::relu, conv->name());  // Keras: ReLU inside the conv
      NameScope s("block" + std::to_string(b + 1) + "_pool");
      h = ops::max_pool2d(h, pool);
    }
    if (!predictions_) return h;
    {
      NameScope s("flatten");
      h = ops::flatten(h);
    }
    for (Dense* fc : {fc1_, fc2_}) {  // Keras fuses the ReLU into fc1 and fc2
      NameScope s(fc->name());
      h = ops::relu((*fc)(h));
    }
    return (*predictions_)(h);
  }

 private:
  std::vector<std::vector<Conv2d*>> blocks_;
  Dense *fc1_ = nullptr, *fc2_ = nullptr, *predictions_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_vgg(int depth, const ModelOptions& o) { return std::make_unique<Vgg>(depth, o); }

}  // namespace gt::nn
