// LRP on the tape: Captum's hand-computed cases (tests/attr/test_lrp.py), exactly, and the
// properties every rule must keep (conservation, LRP-epsilon on a bias-free ReLU net = input x gradient,
// the same relevance from a fused conv -> batch norm -> ReLU as from its parts).
#include <catch2/catch.hpp>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "xai/lrp.h"

using namespace gt;

namespace {

Tensor vec(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(s, v, DType::f64); }

void check_values(const Tensor& got, const std::vector<double>& want, double tol = 1e-9) {
  const std::vector<double> g = got.to_vector_f64();
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", want " << want[i]);
    CHECK(std::abs(g[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i])));
  }
}

// Captum's SimpleLRPModel: x (1,3) -> Linear(3,3), all weights 2 -> ReLU -> Linear(3,1), all weights 3;
// no biases. first00: W1[0][0], which two of Captum's cases set to -2.
struct SimpleLrpModel {
  Tensor w1, w2;
  explicit SimpleLrpModel(double first00 = 2) {
    w1 = vec({first00, 2, 2, 2, 2, 2, 2, 2, 2}, {3, 3});
    w2 = vec({3, 3, 3}, {1, 3});
  }
  Tensor operator()(const Tensor& x) const { return ops::linear(ops::relu(ops::linear(x, w1)), w2); }
};

// Captum's stabiliser, of every rule and the addition: PropagationRule.STABILITY_FACTOR.
constexpr double kCaptumEpsilon = 1e-9;
xai::LrpComposite captum(const std::string& rule) { return xai::lrp_composite("captum-" + rule); }

// One rule on the first layer, another on the second (Captum's per-layer rule assignment).
xai::LrpComposite two_rules(const xai::LrpRule& first, const xai::LrpRule& second) {
  return {"test", [=](const xai::LrpLayer& l) { return l.first ? first : second; }, kCaptumEpsilon};
}

}  // namespace

TEST_CASE("LRP: Captum's hand-computed SimpleLRPModel cases", "[xai][lrp]") {
  const Tensor x = vec({1, 2, 3}, {1, 3});
  const xai::Target target{0, false};
  SECTION("epsilon on both layers gives [18, 36, 54]") {
    // a1 = [12, 12, 12], f = 108; R(a1) = a1 * 3 / 108 * 108 = 36 each; R(x_j) = x_j * 2 / 12 * 36 * 3
    const SimpleLrpModel m;
    check_values(xai::lrp(m, x, target, captum("epsilon")), {18, 36, 54});
  }
  SECTION("gamma = 1 with W1[0][0] = -2 gives [28/3, 104/3, 52]") {
    // W1' = W1 + W1+ (unit 0: [-2, 4, 4]), W2' = [6, 6, 6]; a1 = [8, 12, 12], f = 96; R(a1) = 3 a1 = [24, 36, 36];
    // unit 0 hands x_j w'_0j / 18 * 24 = [-8/3, 32/3, 16] on, units 1 and 2 x_j 4 / 24 * 36 = [6, 12, 18] each.
    const SimpleLrpModel m(-2);
    check_values(xai::lrp(m, x, target, xai::lrp_composite("captum-gamma", Tensor(), Tensor(), kCaptumEpsilon, 1.0)),
                 {28.0 / 3, 104.0 / 3, 52});
  }
  SECTION("alpha1beta0 with W1[0][0] = -2 gives [12, 33.6, 50.4]") {
    // unit 0's positive contributions are [0, 4, 6] of 10, with R = 24: [0, 9.6, 14.4]; units 1 and 2 as above.
    const SimpleLrpModel m(-2);
    check_values(xai::lrp(m, x, target, captum("alpha1beta0")), {12, 33.6, 50.4});
  }
  SECTION("pass (Captum's identity rule) on layer 1, epsilon on layer 2 gives [24, 36, 36]") {
    const SimpleLrpModel m(-2);
    check_values(xai::lrp(m, x, target, two_rules(xai::lrp_rule("pass"), xai::lrp_rule("epsilon", kCaptumEpsilon))),
                 {24, 36, 36});
  }
}

TEST_CASE("LRP: Captum's skip connection case splits the relevance at the addition", "[xai][lrp]") {
  // y = Linear(2,2)(x) + x with all weights 5, x = [2, 3], target 1: y1 = 25 + 3 = 28. The addition
  // hands 25 to the linear branch and 3 to x; the branch gives x * 5 / 25 * 25 = [10, 15].
  const Tensor w = vec({5, 5, 5, 5}, {2, 2});
  const auto model = [&](const Tensor& x) { return ops::add(ops::linear(x, w), x); };
  check_values(xai::lrp(model, vec({2, 3}, {1, 2}), xai::Target{1, false}, captum("epsilon")), {10, 18});
}

TEST_CASE("LRP: Captum's one-conv net and max pooling cases", "[xai][lrp]") {
  SECTION("BasicModel_ConvNet_One_Conv on arange(16) gives the conv's receptive fields' inputs") {
    // Conv2d(1,2,3) with weights 1 and biases [-50, -75] -> ReLU -> 8 values -> Linear(8,4) with
    // weights [1 1 1 1 1 -1 -1 -1] -> ReLU. The windows sum to [45, 54, 81, 90]: channel 0 is
    // [0, 4, 31, 40] after its ReLU, channel 1 [0, 0, 6, 15]; logit 0 = 4 + 31 + 40 - 6 - 15 = 54.
    const Tensor w = Tensor::full({2, 1, 3, 3}, 1.0, DType::f64), b = vec({-50, -75}, {2});
    std::vector<double> wl;
    for (int o = 0; o < 4; ++o)
      for (int i = 0; i < 8; ++i) wl.push_back(i < 5 ? 1 : -1);
    const Tensor w2 = vec(wl, {4, 8});
    const auto model = [&](const Tensor& x) {
      return ops::relu(ops::linear(ops::reshape(ops::relu(ops::conv2d(x, w, {}, b)), {1, 8}), w2));
    };
    std::vector<double> x(16);
    for (int i = 0; i < 16; ++i) x[size_t(i)] = i;
    // (the zeros are sums of contributions that cancel, each off by its epsilon of 1e-9 / z)
    check_values(xai::lrp(model, vec(x, {1, 1, 4, 4}), xai::Target{0, false}, captum("epsilon")),
                 {0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0}, 1e-8);
  }
  SECTION("MaxPool2d(2) on [[1, 2], [5, 6]] gives [[0, 0], [0, 6]]") {
    ops::PoolOptions p;
    const auto model = [&](const Tensor& x) { return ops::reshape(ops::max_pool2d(x, p), {1, 1}); };
    check_values(xai::lrp(model, vec({1, 2, 5, 6}, {1, 1, 2, 2}), xai::Target{0, false}, captum("epsilon")),
                 {0, 0, 0, 6});
  }
}

TEST_CASE("LRP-epsilon on a bias-free ReLU net equals input times gradient", "[xai][lrp]") {
  // With no biases and epsilon -> 0, R_j = x_j sum_k w_jk R_k / z_k and R_k / z_k is the gradient of
  // the output with respect to z_k (z_k / z_k times the downstream multiplier): R = x * grad.
  const Tensor w1 = Tensor::uniform({6, 4}, -1, 1, 1, DType::f64), w2 = Tensor::uniform({5, 6}, -1, 1, 2, DType::f64);
  const Tensor w3 = Tensor::uniform({3, 5}, -1, 1, 3, DType::f64);
  const auto model = [&](const Tensor& x) {
    return ops::linear(ops::relu(ops::linear(ops::relu(ops::linear(x, w1)), w2)), w3);
  };
  const Tensor x = Tensor::uniform({1, 4}, -1, 1, 4, DType::f64);
  const Tensor R = xai::lrp(model, x, xai::Target{2, false}, xai::lrp_composite("zero"));
  const Tensor g = xai::input_gradient(model, x, xai::Target{2, false});
  // Captum's convention: relevance starts at f(x), so R = f(x) * x * d f / d x / f(x) ... = x * grad
  NoGradGuard ng;
  check_values(R, ops::mul(x, g).to_vector_f64(), 1e-10);
}

namespace {
// x (1,3,8,8) -> conv 3x3 (4 channels, no bias) -> ReLU -> 2x2 average or max pooling -> dense (2, no
// bias), weights uniform in [-1, 1] from seed and seed + 1.
struct BiasFreeConvNet {
  Tensor w, wd;
  bool max_pool;
  BiasFreeConvNet(uint64_t seed, bool max)
      : w(Tensor::uniform({4, 3, 3, 3}, -1, 1, seed, DType::f64)),
        wd(Tensor::uniform({2, 4 * 4 * 4}, -1, 1, seed + 1, DType::f64)),
        max_pool(max) {}
  Tensor operator()(const Tensor& x) const {
    ops::Conv2dOptions o;
    o.pad = {1, 1, 1, 1};
    ops::PoolOptions p;
    const Tensor h = ops::relu(ops::conv2d(x, w, o));
    return ops::linear(ops::flatten(max_pool ? ops::max_pool2d(h, p) : ops::avg_pool2d(h, p)), wd);
  }
};
}  // namespace

TEST_CASE("LRP conserves relevance layer by layer on a bias-free net", "[xai][lrp]") {
  const BiasFreeConvNet model(5, false);
  const Tensor x = Tensor::uniform({1, 3, 8, 8}, 0, 1, 7, DType::f64);
  const double f = ops::sum(ops::mul(model(x), vec({1, 0}, {1, 2}))).item();
  for (const char* rule : {"zero", "epsilon", "zplus", "alpha1beta0"}) {
    INFO(rule);
    const Tensor R = xai::lrp(model, x, xai::Target{0, false}, xai::lrp_composite(rule, Tensor(), Tensor(), 1e-12));
    // Every layer hands on what it received, minus what a zero denominator or a dead unit keeps.
    CHECK(std::abs(ops::sum(R).item() - f) <= 1e-5 * std::abs(f));
  }
}

TEST_CASE("LRP-0 and LRP-epsilon conserve relevance at every node of a bias-free net, as inspect --rule shows",
          "[xai][lrp]") {
  const BiasFreeConvNet model(31, true);
  const Tensor x = Tensor::uniform({1, 3, 8, 8}, 0, 1, 33, DType::f64);
  const double f = ops::sum(ops::mul(model(x), vec({1, 0}, {1, 2}))).item();
  for (const char* rule : {"zero", "epsilon"}) {
    INFO(rule);
    int nodes = 0;
    xai::lrp(model, x, xai::Target{0, false}, xai::lrp_composite(rule, Tensor(), Tensor(), 1e-12),
             [&](size_t, const Node& n, const Tensor& out, const std::vector<Tensor>& in) {
               INFO(n.op);
               double handed = 0;
               for (const Tensor& r : in)
                 if (r.defined()) handed += ops::sum(r).item();
               CHECK(std::abs(ops::sum(out).item() - f) <= 1e-6 * std::abs(f));
               CHECK(std::abs(handed - f) <= 1e-6 * std::abs(f));
               ++nodes;
             });
    CHECK(nodes >= 5);  // linear, reshape, max pool, relu, conv
  }
}

TEST_CASE("LRP: rescalings and a LeakyReLU built from primitives (as ONNX imports it) conserve relevance",
          "[xai][lrp]") {
  // x / 2 - 0 (a Keras Rescaling without offset), then relu(h) - 0.1 * min(h, 0): the scaling passes
  // relevance on, the difference splits it between its two terms in proportion, nothing is lost.
  const Tensor w1 = Tensor::uniform({5, 4}, -1, 1, 8, DType::f64), w2 = Tensor::uniform({3, 5}, -1, 1, 9, DType::f64);
  const auto model = [&](const Tensor& x) {
    const Tensor h = ops::linear(ops::mul_scalar(x, 0.5), w1);
    return ops::linear(ops::sub(ops::relu(h), ops::mul_scalar(ops::clamp(h, -1e300, 0), 0.1)), w2);
  };
  const Tensor x = Tensor::uniform({1, 4}, -1, 1, 10, DType::f64);
  const double f = ops::sum(ops::mul(model(x), vec({0, 1, 0}, {1, 3}))).item();
  const Tensor R = xai::lrp(model, x, xai::Target{1, false}, xai::lrp_composite("zero"));
  CHECK(std::abs(ops::sum(R).item() - f) <= 1e-9 * std::abs(f));
}

TEST_CASE("LRP: a product of two variables has no rule, and the op is named with its layer", "[xai][lrp]") {
  const Tensor w = vec({1, 2, 3, 4}, {2, 2});
  const auto model = [&](const Tensor& x) {
    NameScope s("squash");
    return ops::linear(ops::mul(x, ops::sigmoid(x)), w);
  };
  CHECK_THROWS_AS(xai::lrp(model, vec({1, 2}, {1, 2}), xai::Target{0, false}, xai::lrp_composite("epsilon")),
                  InvalidArgument);
  CHECK_THROWS_WITH(xai::lrp(model, vec({1, 2}, {1, 2}), xai::Target{0, false}, xai::lrp_composite("epsilon")),
                    Catch::Contains("'mul' [squash]"));
}

TEST_CASE("LRP: rules by layer name, and a pattern that matches no layer names them", "[xai][lrp]") {
  // Captum's SimpleLRPModel with W1[0][0] = -2 and named layers: pass on 'hidden' by pattern, the
  // composite's epsilon on 'out', is Captum's identity-rule case, [24, 36, 36].
  const SimpleLrpModel m(-2);
  const auto named = [&](const Tensor& x) {
    Tensor h;
    {
      NameScope s("hidden");
      h = ops::relu(ops::linear(x, m.w1));
    }
    NameScope s("out");
    return ops::linear(h, m.w2);
  };
  xai::LrpComposite c = captum("epsilon");
  xai::add_layer_rules(c, "hid*=pass");
  check_values(xai::lrp(named, vec({1, 2, 3}, {1, 3}), xai::Target{0, false}, c), {24, 36, 36});
  xai::LrpComposite none = captum("epsilon");
  xai::add_layer_rules(none, "conv*=flat");
  CHECK_THROWS_WITH(xai::lrp(named, vec({1, 2, 3}, {1, 3}), xai::Target{0, false}, none),
                    Catch::Contains("'conv*' matches no conv or dense layer; they are: hidden, out"));
  CHECK_THROWS_AS(xai::add_layer_rules(none, "hidden"), InvalidArgument);
  CHECK_THROWS_WITH(xai::add_layer_rules(none, "hidden=plus"), Catch::Contains("zplus"));
}

TEST_CASE("LRP: unknown rules and composites list the known ones", "[xai][lrp]") {
  CHECK_THROWS_WITH(xai::lrp_composite("epsilon-plu"), Catch::Contains("epsilon-plus") && Catch::Contains("wsquare"));
  CHECK_THROWS_WITH(xai::lrp_rule("gama"), Catch::Contains("gamma"));
}

TEST_CASE("LRP: an unfused conv, batch norm and ReLU hand on the relevance of the fused op (BN canonization)",
          "[xai][lrp]") {
  // x (1,3,6,6) -> conv 3x3 (4 channels, bias) -> batch norm -> ReLU -> conv 3x3 (2 channels) -> batch
  // norm -> ReLU -> dense (3): once op by op, once with each conv -> batch norm -> ReLU as the one
  // node ops::conv2d_affine records (scale and shift folded, as nn::Model fuses them). Zennit merges
  // the batch norm into the conv before LRP; both must give the merged layer's relevance.
  const Tensor w1 = Tensor::uniform({4, 3, 3, 3}, -1, 1, 11, DType::f64), b1 = vec({0.1, -0.2, 0.3, 0.05}, {4});
  const Tensor w2 = Tensor::uniform({2, 4, 3, 3}, -1, 1, 12, DType::f64);
  const Tensor wd = Tensor::uniform({3, 2 * 6 * 6}, -1, 1, 13, DType::f64);
  struct Bn {
    Tensor gamma, beta, mean, var;
  };
  const Bn bn1{vec({1.5, 0.7, -0.4, 1.1}, {4}), vec({0.2, 0.1, -0.3, 0.4}, {4}), vec({0.3, -0.1, 0.2, 0.0}, {4}),
               vec({0.8, 1.2, 0.5, 2.0}, {4})};
  const Bn bn2{vec({0.9, 1.3}, {2}), vec({0.25, -0.15}, {2}), vec({0.5, -0.2}, {2}), vec({1.5, 0.6}, {2})};
  constexpr double kEps = 1e-3;
  ops::Conv2dOptions o;
  o.pad = {1, 1, 1, 1};
  const auto unfused = [&](const Tensor& x) {
    const auto block = [&](const Tensor& h, const Tensor& w, const Tensor& b, const Bn& n) {
      return ops::relu(ops::batch_norm(ops::conv2d(h, w, o, b), n.gamma, n.beta, n.mean, n.var, kEps, false));
    };
    return ops::linear(ops::flatten(block(block(x, w1, b1, bn1), w2, Tensor(), bn2)), wd);
  };
  const auto fused = [&](const Tensor& x) {
    const auto block = [&](const Tensor& h, const Tensor& w, const Tensor& b, const Bn& n) {
      NoGradGuard ng;  // the folded scale s = gamma / sqrt(var + eps) and shift (b - mean) s + beta
      const Tensor s = ops::mul(n.gamma, ops::rsqrt(ops::add_scalar(n.var, kEps)));
      const Tensor t = ops::add(ops::mul(b.defined() ? ops::sub(b, n.mean) : ops::mul_scalar(n.mean, -1), s), n.beta);
      EnableGradGuard g;
      return ops::conv2d_affine(h, w, s, t, Act::relu, o);
    };
    return ops::linear(ops::flatten(block(block(x, w1, b1, bn1), w2, Tensor(), bn2)), wd);
  };
  const Tensor x = Tensor::uniform({1, 3, 6, 6}, -1, 1, 14, DType::f64);
  {
    NoGradGuard ng;
    check_values(unfused(x), fused(x).to_vector_f64(), 1e-12);  // the same network
  }
  const Tensor low = Tensor::full(x.shape(), -1.0, DType::f64), high = Tensor::full(x.shape(), 1.0, DType::f64);
  for (const char* name : {"epsilon-plus", "epsilon-alpha2-beta1", "epsilon-gamma-box", "captum-epsilon", "zero"}) {
    INFO(name);
    const xai::LrpComposite c = xai::lrp_composite(name, low, high);
    check_values(xai::lrp(unfused, x, xai::Target{1, false}, c),
                 xai::lrp(fused, x, xai::Target{1, false}, c).to_vector_f64(), 1e-10);
  }
}
