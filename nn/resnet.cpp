// ResNet50 (He et al. 2016): a 7x7/2 conv and 3x3/2 max pool, then four stacks of bottleneck blocks
// (1x1 reduce, 3x3, 1x1 expand; a projection shortcut in each stack's first block), global average
// pooling and the classifier. Keras layer names (conv1_conv, conv2_block1_1_conv, ..., conv5_block3_out).
// Variants differ only where their origin does:
//   keras: the stride sits on the first 1x1 conv of a block; convs have biases; BN eps 1.001e-5.
//   torch: the stride sits on the 3x3 conv; convs have no bias; BN eps 1e-5.
#include "nn/model.h"

namespace gt::nn {
namespace {

class ResNet50 : public Model {
 public:
  explicit ResNet50(const ModelOptions& o) : keras_(o.variant != "torch") {
    auto width = [&](int64_t c) { return std::max<int64_t>(1, static_cast<int64_t>(c * o.alpha)); };
    describe("resnet50", o, "caffe", 224, 1000, "conv5_block3_out");
    eps_ = keras_ ? 1.001e-5 : 1e-5;
    ops::Conv2dOptions c1;
    c1.stride_h = c1.stride_w = 2;
    c1.pad = {3, 3, 3, 3};
    conv1_ = &conv("conv1", 3, width(64), 7, c1);
    int64_t c = width(64);
    const int blocks[4] = {3, 4, 6, 3};
    for (int s = 0; s < 4; ++s) {
      const int64_t mid = width(64 << s), out = width(256 << s), stride = s == 0 ? 1 : 2;
      for (int b = 0; b < blocks[s]; ++b) {
        const std::string p = "conv" + std::to_string(s + 2) + "_block" + std::to_string(b + 1) + "_";
        const int64_t st = b == 0 ? stride : 1;
        Block blk;
        blk.name = p;
        ops::Conv2dOptions o1, o2, o0;
        (keras_ ? o1 : o2).stride_h = (keras_ ? o1 : o2).stride_w = st;
        o2.pad = {1, 1, 1, 1};
        o0.stride_h = o0.stride_w = st;
        if (b == 0) blk.shortcut = &conv(p + "0", c, out, 1, o0);
        blk.c1 = &conv(p + "1", c, mid, 1, o1);
        blk.c2 = &conv(p + "2", mid, mid, 3, o2);
        blk.c3 = &conv(p + "3", mid, out, 1, ops::Conv2dOptions{});
        blocks_.push_back(blk);
        c = out;
      }
    }
    if (info.include_top) fc_ = &add<Dense>("predictions", c, info.classes);
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = conv_bn(*conv1_, x, Act::relu, "conv1_relu");
    {
      NameScope s("pool1_pool");  // Keras: ZeroPadding2D(1) + MaxPool 3x3/2; inputs are >= 0, so 0-padding = -inf
      ops::PoolOptions p;
      p.kernel_h = p.kernel_w = 3;
      p.pad = {1, 1, 1, 1};
      h = ops::max_pool2d(h, p);
    }
    for (const Block& b : blocks_) {
      const Tensor shortcut = b.shortcut ? conv_bn(*b.shortcut, h) : h;
      Tensor r = conv_bn(*b.c1, h, Act::relu, b.name + "1_relu");
      r = conv_bn(*b.c2, r, Act::relu, b.name + "2_relu");
      h = fused_end(b) ? conv_bn(*b.c3, r, Act::relu, b.name + "out", shortcut)
                       : add_relu(b.name, shortcut, conv_bn(*b.c3, r));
    }
    return pool_and_classify(h, "avg_pool", fc_);
  }

 private:
  struct Block {
    std::string name;
    Conv2d *shortcut = nullptr, *c1 = nullptr, *c2 = nullptr, *c3 = nullptr;
  };
  // Whether a hook looks at the block's end, the layers "<block>add" and "<block>out" (Grad-CAM's
  // default layer, conv5_block3_out, keeps its own relu node).
  static bool end_hooked(const std::string& block) {
    const Tape& tape = Tape::current();
    return tape.hooked("add", block + "add") || tape.hooked("relu", block + "out");
  }
  // Whether the block's end, relu(shortcut + bn(c3(r))), is one conv2d_affine_add node in the layer
  // "<block>out": where its conv fuses and no hook looks at it. It saves a pass over the block's
  // output: the largest tensors of the network.
  bool fused_end(const Block& b) const { return fusable(*b.c3) && !end_hooked(b.name); }
  // relu(shortcut + r): layers "<block>add" and "<block>out", one add_relu node where no hook looks
  // at them.
  Tensor add_relu(const std::string& block, const Tensor& shortcut, const Tensor& r) const {
    if (fuse && !end_hooked(block)) {
      NameScope s(block + "out");
      return ops::add_relu(shortcut, r);
    }
    Tensor sum;
    {
      NameScope s(block + "add");
      sum = ops::add(shortcut, r);
    }
    return relu(block + "out", sum);
  }
  // "<p>_conv" and its "<p>_bn"
  Conv2d& conv(const std::string& p, int64_t in, int64_t out, int64_t k, const ops::Conv2dOptions& o) {
    Conv2d& c = add<Conv2d>(p + "_conv", in, out, k, o, keras_);
    add_bn(c, p + "_bn", out, eps_);
    return c;
  }

  bool keras_;
  double eps_ = 1e-5;
  Conv2d* conv1_ = nullptr;
  std::vector<Block> blocks_;
  Dense* fc_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_resnet50(const ModelOptions& o) { return std::make_unique<ResNet50>(o); }

}  // namespace gt::nn
