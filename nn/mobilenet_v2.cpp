// MobileNet V2 (Sandler et al. 2018): a 3x3/2 conv, 17 inverted residual blocks (1x1 expand by t,
// 3x3 depthwise, 1x1 linear projection; a residual add when shape allows), a 1x1 conv to 1280, global
// average pooling and the classifier. BN + ReLU6 after every conv but the projections.
// Keras layer names (Conv1, expanded_conv_depthwise, block_5_expand, ..., Conv_1, out_relu).
// Variants: keras uses TF 'SAME' padding (asymmetric at stride 2) and BN eps 1e-3;
//           torch pads 1 on every side and uses BN eps 1e-5.
#include <cmath>

#include "nn/model.h"

namespace gt::nn {
namespace {

// Channel counts rounded to a multiple of 8, never more than 10% below the target (both origins).
int64_t make_divisible(double v, int64_t d = 8) {
  int64_t n = std::max<int64_t>(d, static_cast<int64_t>(v + d / 2.0) / d * d);
  if (n < 0.9 * v) n += d;
  return n;
}

class MobileNetV2 : public Model {
 public:
  explicit MobileNetV2(const ModelOptions& o) : keras_(o.variant != "torch") {
    describe("mobilenet_v2", o, "tf", 224, 1000, "out_relu");
    eps_ = keras_ ? 1e-3 : 1e-5;
    int64_t c = make_divisible(32 * o.alpha);
    first_ = &conv("Conv1", "bn_Conv1", 3, c, 3, 2, 1);
    struct Cfg {
      int64_t t, filters, n, stride;
    };
    const Cfg cfg[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                       {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int id = 0;
    for (const Cfg& k : cfg)
      for (int64_t i = 0; i < k.n; ++i, ++id) {
        const std::string p = id ? "block_" + std::to_string(id) + "_" : "expanded_conv_";
        const int64_t out = make_divisible(k.filters * o.alpha), stride = i == 0 ? k.stride : 1;
        const int64_t hidden = keras_ ? k.t * c : static_cast<int64_t>(std::lround(double(c) * k.t));
        Block b;
        b.name = p;
        if (k.t != 1) b.expand = &conv(p + "expand", p + "expand_BN", c, hidden, 1, 1, 1);
        b.depthwise = &conv(p + "depthwise", p + "depthwise_BN", hidden, hidden, 3, stride, hidden);
        b.project = &conv(p + "project", p + "project_BN", hidden, out, 1, 1, 1);
        b.residual = stride == 1 && c == out;
        blocks_.push_back(b);
        c = out;
      }
    const int64_t last = o.alpha > 1.0 ? make_divisible(1280 * o.alpha) : 1280;
    last_ = &conv("Conv_1", "Conv_1_bn", c, last, 1, 1, 1);
    if (info.include_top) fc_ = &add<Dense>("predictions", last, info.classes);
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = conv_bn(*first_, x, Act::relu6, "Conv1_relu");
    for (const Block& b : blocks_) {
      Tensor r = h;
      if (b.expand) r = conv_bn(*b.expand, r, Act::relu6, b.name + "expand_relu");
      r = conv_bn(*b.depthwise, r, Act::relu6, b.name + "depthwise_relu");
      r = conv_bn(*b.project, r);
      if (b.residual) {
        NameScope s(b.name + "add");
        r = ops::add(h, r);
      }
      h = r;
    }
    return pool_and_classify(conv_bn(*last_, h, Act::relu6, "out_relu"), "global_average_pooling2d", fc_);
  }

 private:
  struct Block {
    std::string name;
    Conv2d *expand = nullptr, *depthwise = nullptr, *project = nullptr;
    bool residual = false;
  };
  Conv2d& conv(const std::string& name, const std::string& bn_name, int64_t in, int64_t out, int64_t k, int64_t stride,
               int64_t groups) {
    ops::Conv2dOptions o;
    o.stride_h = o.stride_w = stride;
    o.groups = groups;
    if (!keras_ && k == 3) o.pad = {1, 1, 1, 1};
    Conv2d& c = add<Conv2d>(name, in, out, k, o, false, keras_);
    add_bn(c, bn_name, out, eps_);
    return c;
  }

  bool keras_;
  double eps_ = 1e-3;
  Conv2d *first_ = nullptr, *last_ = nullptr;
  std::vector<Block> blocks_;
  Dense* fc_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_mobilenet_v2(const ModelOptions& o) { return std::make_unique<MobileNetV2>(o); }

}  // namespace gt::nn
