// Inception V3 (Szegedy et al. 2016): a stem of 3x3 convs and max pools, then the mixed blocks
// mixed0-2 (35x35), mixed3 (reduction), mixed4-7 (17x17, factorised 1x7/7x1), mixed8 (reduction),
// mixed9-10 (8x8, split 1x3/3x1), global average pooling and the classifier. Every conv is
// conv (no bias) + BN (eps 1e-3) + ReLU. Keras names its convs by creation order (conv2d_1 ...
// conv2d_94, batch_normalization_N, activation_N); ours are created in Keras' order and named so.
// Variants: keras 'same' average pools exclude the padding from the count and BN has no gamma (fixed 1);
//           torch average pools include it (count_include_pad) and BN learns gamma.
#include <array>
#include <set>

#include "nn/model.h"

namespace gt::nn {
namespace {

class InceptionV3 : public Model {
 public:
  explicit InceptionV3(const ModelOptions& o) : keras_(o.variant != "torch"), alpha_(o.alpha) {
    describe("inception_v3", o, "tf", 299, 1000, "mixed10");
    build();
    if (info.include_top) fc_ = &add<Dense>("predictions", c_, info.classes);
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    int pool = 0;
    for (size_t u : stem_) {
      h = apply(u, h);
      if (stem_pool_after_.count(u)) {  // 3x3/2 max pool, 'valid'
        NameScope s("max_pooling2d_" + std::to_string(++pool));
        ops::PoolOptions p;
        p.kernel_h = p.kernel_w = 3;
        h = ops::max_pool2d(h, p);
      }
    }
    for (size_t b = 0; b < blocks_.size(); ++b) h = block(b, h);
    return pool_and_classify(h, "avg_pool", fc_);
  }

 private:
  // One conv2d_bn of Keras' inception_v3.py: kernel kh x kw, 'same' (stride 1) or 'valid' padding.
  struct Unit {
    Conv2d* conv;
    std::string act;
  };
  struct Branch {
    std::vector<size_t> units;               // applied in sequence
    char pool = 0;                           // 'a' average 3x3/1 same, 'm' max 3x3/2 valid, applied first
    std::vector<std::vector<size_t>> split;  // mixed9/10: two convs applied to the branch output, concatenated
    std::string split_name;
  };
  struct Block {
    std::string name;
    std::vector<Branch> branches;
  };

  size_t unit(int64_t filters, int64_t kh, int64_t kw, int64_t stride = 1, bool valid = false) {
    const int64_t out = std::max<int64_t>(1, static_cast<int64_t>(filters * alpha_));
    const int n = static_cast<int>(units_.size()) + 1;
    ops::Conv2dOptions o;
    o.stride_h = o.stride_w = stride;
    if (!valid) o.pad = {(kh - 1) / 2, (kh - 1) / 2, (kw - 1) / 2, (kw - 1) / 2};
    Conv2d& c = add<Conv2d>("conv2d_" + std::to_string(n), c_, out, 1, o, false);
    c.weight = Tensor::zeros({out, c_, kh, kw});  // rectangular kernels (1x7, 3x1, ...)
    add_bn(c, "batch_normalization_" + std::to_string(n), out, 1e-3);
    units_.push_back({&c, "activation_" + std::to_string(n)});
    c_ = out;
    return units_.size() - 1;
  }
  Tensor apply(size_t u, const Tensor& x) {
    const Unit& k = units_[u];
    return conv_bn(*k.conv, x, Act::relu, k.act);
  }
  Tensor run(const Tensor& x, const std::vector<size_t>& us) {
    Tensor h = x;
    for (size_t u : us) h = apply(u, h);
    return h;
  }
  // Branches all read the block input (channels c_in); the block's output channels are their sum.
  void build() {
    c_ = 3;
    stem_ = {unit(32, 3, 3, 2, true), unit(32, 3, 3, 1, true), unit(64, 3, 3)};
    stem_pool_after_.insert(stem_.back());
    stem_.push_back(unit(80, 1, 1, 1, true));
    stem_.push_back(unit(192, 3, 3, 1, true));
    stem_pool_after_.insert(stem_.back());
    int64_t cin = c_;
    auto branch = [&](std::initializer_list<std::array<int64_t, 4>> convs, char pool = 0, bool valid_last = false,
                      int64_t last_stride = 1) {
      c_ = cin;
      Branch b;
      b.pool = pool;
      size_t i = 0;
      for (auto& k : convs) {
        const bool last = ++i == convs.size();
        b.units.push_back(unit(k[0], k[1], k[2], last ? last_stride : 1, last && valid_last));
      }
      return std::make_pair(b, pool == 'm' ? cin : c_);
    };
    auto finish = [&](const std::string& name, std::vector<std::pair<Branch, int64_t>> bs) {
      Block blk{name, {}};
      int64_t total = 0;
      for (auto& [b, c] : bs) {
        blk.branches.push_back(b);
        total += c;
      }
      blocks_.push_back(blk);
      cin = c_ = total;
    };
    for (int i = 0; i < 3; ++i)  // mixed0-2
      finish("mixed" + std::to_string(i),
             {branch({{{64, 1, 1}}}), branch({{{48, 1, 1}}, {{64, 5, 5}}}),
              branch({{{64, 1, 1}}, {{96, 3, 3}}, {{96, 3, 3}}}), branch({{{i == 0 ? 32 : 64, 1, 1}}}, 'a')});
    finish("mixed3", {branch({{{384, 3, 3}}}, 0, true, 2),
                      branch({{{64, 1, 1}}, {{96, 3, 3}}, {{96, 3, 3}}}, 0, true, 2), branch({}, 'm')});
    for (int i = 0; i < 4; ++i) {  // mixed4-7
      const int64_t c7 = i == 0 ? 128 : i == 3 ? 192 : 160;
      finish("mixed" + std::to_string(4 + i),
             {branch({{{192, 1, 1}}}), branch({{{c7, 1, 1}}, {{c7, 1, 7}}, {{192, 7, 1}}}),
              branch({{{c7, 1, 1}}, {{c7, 7, 1}}, {{c7, 1, 7}}, {{c7, 7, 1}}, {{192, 1, 7}}}),
              branch({{{192, 1, 1}}}, 'a')});
    }
    finish("mixed8",
           {branch({{{192, 1, 1}}, {{320, 3, 3}}}, 0, true, 2),
            branch({{{192, 1, 1}}, {{192, 1, 7}}, {{192, 7, 1}}, {{192, 3, 3}}}, 0, true, 2), branch({}, 'm')});
    for (int i = 0; i < 2; ++i) {  // mixed9-10: the 3x3 branches end in a 1x3 / 3x1 pair, concatenated
      const std::string name = "mixed" + std::to_string(9 + i);
      std::vector<std::pair<Branch, int64_t>> bs;
      bs.push_back(branch({{{320, 1, 1}}}));
      for (int d = 0; d < 2; ++d) {
        auto b = d == 0 ? branch({{{384, 1, 1}}}) : branch({{{448, 1, 1}}, {{384, 3, 3}}});
        const int64_t mid = c_;
        b.first.split.push_back({unit(384, 1, 3)});
        c_ = mid;
        b.first.split.push_back({unit(384, 3, 1)});
        b.first.split_name = d == 0 ? "mixed9_" + std::to_string(i) : "concatenate_" + std::to_string(i + 1);
        b.second = 2 * c_;
        bs.push_back(b);
      }
      bs.push_back(branch({{{192, 1, 1}}}, 'a'));
      finish(name, bs);
    }
  }

  Tensor block(size_t i, const Tensor& x) {
    const Block& blk = blocks_[i];
    std::vector<Tensor> outs;
    for (const Branch& b : blk.branches) {
      Tensor h = x;
      if (b.pool) {
        ops::PoolOptions p;
        p.kernel_h = p.kernel_w = 3;
        if (b.pool == 'a') {
          p.stride_h = p.stride_w = 1;
          p.pad = {1, 1, 1, 1};
          p.count_include_pad = !keras_;
          NameScope s(blk.name + "_avgpool");
          h = ops::avg_pool2d(h, p);
        } else {
          NameScope s(blk.name + "_maxpool");
          h = ops::max_pool2d(h, p);
        }
      }
      h = run(h, b.units);
      if (!b.split.empty()) {
        std::vector<Tensor> parts;
        for (const auto& us : b.split) parts.push_back(run(h, us));
        NameScope s(b.split_name);
        h = ops::concat_channels(parts);
      }
      outs.push_back(h);
    }
    NameScope s(blk.name);
    return ops::concat_channels(outs);
  }

  bool keras_;
  double alpha_;
  int64_t c_ = 3;  // channels of the tensor the next unit reads (while building)
  std::vector<Unit> units_;
  std::vector<size_t> stem_;
  std::set<size_t> stem_pool_after_;
  std::vector<Block> blocks_;
  Dense* fc_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_inception_v3(const ModelOptions& o) { return std::make_unique<InceptionV3>(o); }

}  // namespace gt::nn
