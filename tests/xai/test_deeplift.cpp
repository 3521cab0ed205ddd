// DeepLIFT on the tape: hand-derived cases for Rescale, RevealCancel, Captum's max-pool rule and the
// product rule, exactly; summation-to-delta on a conv net with fused batch norms and on the real
// MobileNet; DeepLiftShap as the mean of single-baseline runs.
#include <catch2/catch.hpp>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "data/input.h"
#include "image/preprocess.h"
#include "tests/test_util.h"
#include "weights/tflite.h"
#include "xai/deeplift.h"
#include "xai/saliency.h"

using namespace gt;

namespace {

Tensor vec(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(s, v, DType::f64); }

void check_values(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
  const std::vector<double> g = got.to_vector_f64();
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", want " << want[i]);
    CHECK(std::abs(g[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i])));
  }
}

xai::DeepLiftOptions rule(const char* name) {
  xai::DeepLiftOptions o;
  o.rule = xai::deeplift_rule(name);
  return o;
}

}  // namespace

TEST_CASE("DeepLIFT: RevealCancel and Rescale on a two-ReLU net, derived by hand", "[xai][deeplift]") {
  // h = relu(W1 x) with W1 = [[1, 1], [1, -1]], f = h1 + h2; x = (3, -2) against x' = (0, 0):
  // z = (1, 5), f(x) = 6, f(x') = 0.
  // Rescale: both units pass their input difference on whole (m = 1/1 = 5/5 = 1), so
  //   m_x1 = 1 + 1 = 2, m_x2 = 1 - 1 = 0: contributions (6, 0).
  // RevealCancel: unit 1 gets dz+ = 3 (from x1) and dz- = -2 (from x2):
  //   dy+ = (relu(3) - 0) / 2 + (relu(1) - relu(-2)) / 2 = 2,   m+ = 2/3
  //   dy- = (relu(-2) - 0) / 2 + (relu(1) - relu(3)) / 2 = -1,  m- = 1/2
  // unit 2 gets dz+ = 3 + 2 = 5 (x1 * 1 and x2 * -1 are both positive), dz- = 0: m+ = 1.
  // x1 > x1' made the positive parts through positive weights: m_x1 = 2/3 + 1 = 5/3, C1 = 5;
  // x2 < x2' made unit 1's negative part (weight 1: m- = 1/2) and unit 2's positive part (weight -1:
  // -m+ = -1): m_x2 = -1/2, C2 = 1. Both sum to f(x) - f(x') = 6; RevealCancel credits the input
  // that unit 1's ReLU cancelled.
  const Tensor w1 = vec({1, 1, 1, -1}, {2, 2}), w2 = vec({1, 1}, {1, 2});
  const auto model = [&](const Tensor& x) { return ops::linear(ops::relu(ops::linear(x, w1)), w2); };
  const Tensor x = vec({3, -2}, {1, 2}), base = vec({0, 0}, {1, 2});
  const xai::DeepLiftResult rescale = xai::deeplift(model, x, base, {0, false}, rule("rescale"));
  check_values(rescale.attribution, {6, 0});
  const xai::DeepLiftResult reveal = xai::deeplift(model, x, base, {0, false}, rule("reveal-cancel"));
  check_values(reveal.attribution, {5, 1});
  CHECK(reveal.f_x == 6);
  CHECK(reveal.f_baseline == 0);
  CHECK(std::abs(reveal.delta) < 1e-12);
}

TEST_CASE("DeepLIFT: Captum's max-pool rule and the product rule, derived by hand", "[xai][deeplift]") {
  SECTION("max pooling: the output difference goes to the argmax of the larger side") {
    // x = [[1, 4], [2, 3]] pools to o = 4 (at 4), x' = [[5, 0], [0, 0]] to o' = 5 (at 5). max(o, o') = 5:
    // the input's argmax gets 5 - 5 = 0, the reference's argmax 4 - 5 = -1, divided by its
    // x - x' = -4: m = 1/4 there, contribution -4 * 1/4 = -1 = o - o'.
    ops::PoolOptions p;
    const auto model = [&](const Tensor& x) { return ops::reshape(ops::max_pool2d(x, p), {1, 1}); };
    const xai::DeepLiftResult r =
        xai::deeplift(model, vec({1, 4, 2, 3}, {1, 1, 2, 2}), vec({5, 0, 0, 0}, {1, 1, 2, 2}), {0, false});
    check_values(r.attribution, {-1, 0, 0, 0});
  }
  SECTION("a product of two variables: each factor's difference times the mean of the other's values") {
    // f = a b with a = x1, b = x2; x = (3, 4), x' = (1, 2): f(x) - f(x') = 12 - 2 = 10
    //   = (3 - 1) (4 + 2) / 2 + (4 - 2) (3 + 1) / 2 = 6 + 4.
    const Tensor wa = vec({1, 0}, {1, 2}), wb = vec({0, 1}, {1, 2});
    const auto model = [&](const Tensor& x) { return ops::mul(ops::linear(x, wa), ops::linear(x, wb)); };
    const xai::DeepLiftResult r = xai::deeplift(model, vec({3, 4}, {1, 2}), vec({1, 2}, {1, 2}), {0, false});
    check_values(r.attribution, {6, 4});
  }
  SECTION("a unit whose input does not change takes its gradient (the secant's limit)") {
    // relu(x) against x' = x: no difference anywhere, no contribution, and no 0/0.
    const auto model = [&](const Tensor& x) { return ops::relu(x); };
    const Tensor x = vec({-1, 2}, {1, 2});
    const xai::DeepLiftResult r = xai::deeplift(model, x, x, {1, false});
    check_values(r.attribution, {0, 0});
  }
}

TEST_CASE("DeepLIFT sums to f(x) - f(x') on a conv net with fused batch norms, both rules", "[xai][deeplift]") {
  // conv -> batch norm -> ReLU -> max pool -> conv -> ReLU -> avg pool -> dense -> sigmoid -> dense:
  // every rule at once; the completeness is exact up to rounding (float64).
  const Tensor w1 = Tensor::uniform({6, 3, 3, 3}, -1, 1, 11, DType::f64);
  const Tensor w2 = Tensor::uniform({4, 6, 3, 3}, -1, 1, 12, DType::f64);
  const Tensor scale = Tensor::uniform({6}, 0.5, 1.5, 13, DType::f64),
               shift = Tensor::uniform({6}, -1, 1, 14, DType::f64);
  const Tensor wd = Tensor::uniform({5, 4 * 2 * 2}, -1, 1, 15, DType::f64),
               we = Tensor::uniform({3, 5}, -1, 1, 16, DType::f64);
  const auto model = [&](const Tensor& x) {
    ops::Conv2dOptions o;
    o.pad = {1, 1, 1, 1};
    ops::PoolOptions p;
    Tensor h = ops::relu(ops::conv2d_affine(x, w1, scale, shift, Act::none, o));
    h = ops::max_pool2d(h, p);
    h = ops::avg_pool2d(ops::relu(ops::conv2d(h, w2, o)), p);
    return ops::linear(ops::sigmoid(ops::linear(ops::flatten(h), wd)), we);
  };
  const Tensor x = Tensor::uniform({1, 3, 8, 8}, -1, 1, 17, DType::f64);
  const Tensor base = Tensor::uniform({1, 3, 8, 8}, -1, 1, 18, DType::f64);
  for (const char* name : {"rescale", "reveal-cancel"}) {
    INFO(name);
    const xai::DeepLiftResult r = xai::deeplift(model, x, base, {2, false}, rule(name));
    CHECK(std::abs(r.f_x - r.f_baseline) > 1e-3);
    CHECK(std::abs(r.delta) <= 1e-10 * std::abs(r.f_x - r.f_baseline));
  }
}

TEST_CASE("DeepLiftShap is the mean of DeepLIFT over its baselines, in batches of any size", "[xai][deeplift]") {
  const Tensor w1 = Tensor::uniform({6, 4}, -1, 1, 21, DType::f64), w2 = Tensor::uniform({3, 6}, -1, 1, 22, DType::f64);
  const auto model = [&](const Tensor& x) { return ops::linear(ops::tanh(ops::relu(ops::linear(x, w1))), w2); };
  const Tensor x = Tensor::uniform({1, 4}, -1, 1, 23, DType::f64);
  const Tensor bases = Tensor::uniform({5, 4}, -1, 1, 24, DType::f64);
  const std::vector<double> b = bases.to_vector_f64();
  std::vector<double> mean(4, 0.0);
  double f_base = 0;
  for (int i = 0; i < 5; ++i) {
    const xai::DeepLiftResult one =
        xai::deeplift(model, x, vec(std::vector<double>(b.begin() + 4 * i, b.begin() + 4 * i + 4), {1, 4}), {1, false});
    const std::vector<double> a = one.attribution.to_vector_f64();
    for (int j = 0; j < 4; ++j) mean[size_t(j)] += a[size_t(j)] / 5;
    f_base += one.f_baseline / 5;
  }
  for (int batch : {1, 2, 5}) {
    xai::DeepLiftOptions o;
    o.batch = batch;
    const xai::DeepLiftResult shap = xai::deeplift(model, x, bases, {1, false}, o);
    check_values(shap.attribution, mean, 1e-12);
    CHECK(std::abs(shap.f_baseline - f_base) < 1e-12);
    CHECK(std::abs(shap.delta) < 1e-12);
  }
}

TEST_CASE("DeepLIFT: unknown rules list the known ones, ops without a rule are named", "[xai][deeplift]") {
  CHECK_THROWS_WITH(xai::deeplift_rule("revealcancel"), Catch::Contains("rescale") && Catch::Contains("reveal-cancel"));
  const auto model = [&](const Tensor& x) {
    NameScope s("probabilities");
    return ops::softmax(x);
  };
  CHECK_THROWS_AS(xai::deeplift(model, vec({1, 2}, {1, 2}), vec({0, 0}, {1, 2}), {0, false}), InvalidArgument);
  CHECK_THROWS_WITH(xai::deeplift(model, vec({1, 2}, {1, 2}), vec({0, 0}, {1, 2}), {0, false}),
                    Catch::Contains("'softmax") && Catch::Contains("[probabilities]"));
  CHECK_THROWS_WITH(xai::deeplift(model, vec({1, 2}, {1, 2}), vec({0, 0, 0}, {1, 3}), {0, false}),
                    Catch::Contains("baselines have shape"));
}

TEST_CASE("DeepLIFT completeness on the real MobileNet and chelsea.png: within 1e-5 of f(x) - f(black)",
          "[xai][deeplift]") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(test::kMobileNet);
  const Tensor x = load_input(test::kChelsea, m->info);
  const Tensor black = preprocess(Tensor::zeros(x.shape()), m->info.preprocessing);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  const xai::DeepLiftResult r = xai::deeplift(fn, x, black, xai::Target{286, false});  // Egyptian cat
  const double gap = r.f_x - r.f_baseline, rel = std::abs(r.delta) / std::abs(gap);
  std::printf("DeepLIFT on MobileNet: f(x) %.5f, f(black) %.5f, sum %.5f, relative completeness error %.3g\n", r.f_x,
              r.f_baseline, ops::sum(r.attribution).item(), rel);
  CHECK(rel <= 1e-5);
}
