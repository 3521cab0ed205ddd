// Attribution methods against Captum (tests/fixture_gen/make_captum_fixtures.py) on small torchvision-layout
// networks: the same weights and input tensor, bound max|ours - ref| <= 1e-3 max|ref| + 1e-6.
// Both sides run in float64, as the other narrow-network fixtures do: in float32 a ReLU whose input
// is within rounding of 0 may switch between two runs, and one such switch on ResNet's IG path moves
// a few attributions by more than the bound (measured: 4e-3 of max on gausslegendre-17).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "image/preprocess.h"
#include "io/hdf5.h"
#include "render/viz.h"
#include "tests/test_util.h"
#include "weights/format.h"
#include "weights/keras.h"
#include "weights/tflite.h"
#include "xai/compare.h"
#include "xai/counterfactual.h"
#include "xai/gradcam.h"
#include "xai/integrated_gradients.h"
#include "xai/metrics.h"
#include "xai/occlusion.h"

using namespace gt;

namespace {

void check_close(const std::string& what, const Tensor& ours, const Tensor& ref) {
  REQUIRE(ours.numel() == ref.numel());
  const std::vector<float> a = ours.to_vector(), b = ref.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(b[i])));
  }
  std::printf("%-40s max |ours - ref| %.3g   max |ref| %.3g\n", what.c_str(), diff, scale);
  INFO(what << ": max diff " << diff << ", max |ref| " << scale);
  CHECK(scale > 0);  // a reference of zeros would make the comparison meaningless
  CHECK(diff <= 1e-3 * scale + 1e-6);
}

struct Case {
  std::unique_ptr<nn::Model> model;
  h5::File ref;
  Tensor x;
  xai::Target target;
  xai::Model fn;
  Case(const std::string& arch)
      : model(load_weights(std::string(GT_FIXTURES_DIR) + "/torch_" + arch + "_narrow.h5", DType::f64)),
        ref(std::string(GT_FIXTURES_DIR) + "/captum_" + arch + ".h5", h5::File::Mode::read),
        x(ref.read("input", DType::f64)),
        target{int64_t(ref.attr_double("target")), false},
        fn([this](const Tensor& in) { return (*model)(in); }) {}
};

const char* kLayer[] = {"block5_conv3", "conv5_block3_out"};

}  // namespace

TEST_CASE("xai vs Captum: Saliency, InputXGradient, GuidedBackprop") {
  for (const char* arch : {"vgg16", "resnet50"}) {
    Case c(arch);
    const std::string a = arch;
    check_close(a + " saliency", xai::input_gradient(c.fn, c.x, c.target), c.ref.read("saliency"));
    check_close(a + " inputxgradient", xai::gradxinput(c.fn, c.x, c.target), c.ref.read("inputxgradient"));
    check_close(a + " guided backprop", xai::guided_backprop(c.fn, c.x, c.target), c.ref.read("guided_backprop"));
  }
}

TEST_CASE("xai vs Captum: LayerGradCam (cam at the layer) and GuidedGradCam") {
  for (int i = 0; i < 2; ++i) {
    const std::string a = i ? "resnet50" : "vgg16";
    Case c(a);
    const xai::Cam cam = xai::gradcam(c.fn, c.x, c.target, kLayer[i]);
    check_close(a + " gradcam at " + kLayer[i], cam.cam, c.ref.read("gradcam"));
    check_close(a + " guided gradcam", xai::guided_gradcam(c.fn, c.x, c.target, kLayer[i]),
                c.ref.read("guided_gradcam"));
    CHECK(cam.map.shape() == Shape{64, 64});
  }
}

TEST_CASE("xai vs Captum: Occlusion (8x8 window, stride 4, baseline 0)") {
  for (const char* arch : {"vgg16", "resnet50"}) {
    Case c(arch);
    xai::OcclusionOptions o;
    o.window = 8;
    o.stride = 4;
    check_close(std::string(arch) + " occlusion", xai::occlusion(c.fn, c.x, Tensor::zeros_like(c.x), c.target, o),
                c.ref.read("occlusion"));
  }
}

TEST_CASE("xai vs Captum: IntegratedGradients, every method and step count (steps = points)") {
  for (const char* arch : {"vgg16", "resnet50"}) {
    Case c(arch);
    const Tensor base = c.ref.read("baseline", DType::f64);
    for (const std::string& method : xai::ig_methods())
      for (int n : {4, 17}) {
        const std::string key = "ig_" + method + "_" + std::to_string(n);
        if (!c.ref.has(key)) continue;
        xai::IgOptions o;
        o.method = method;
        o.steps = n;
        o.batch = 5;  // batches that do not divide the step count
        const xai::IgResult r = xai::integrated_gradients(c.fn, c.x, base, c.target, o);
        Tensor want = c.ref.read(key, DType::f64);
        // Captum's riemann_trapezoid steps by 1/n (halved at both ends), so its weights sum to
        // (n-1)/n; the trapezoid rule, and the course's recipe, step by 1/(n-1).
        if (method == "riemann_trapezoid") want = ops::mul_scalar(want, double(n) / (n - 1));
        check_close(std::string(arch) + " " + key, r.attribution, want);
      }
  }
}

TEST_CASE("IG quadrature rules integrate polynomials as they should") {
  auto integrate = [](const xai::Quadrature& q, auto f) {
    double s = 0;
    for (size_t k = 0; k < q.alphas.size(); ++k) s += q.weights[k] * f(q.alphas[k]);
    return s;
  };
  // Gauss-Legendre with n points is exact up to degree 2n - 1: int_0^1 a^9 = 1/10 with n = 5.
  CHECK(integrate(xai::quadrature("gausslegendre", 5), [](double a) { return std::pow(a, 9); }) ==
        Approx(0.1).epsilon(1e-12));
  // The trapezoid rule is exact for lines; the midpoint rule too.
  for (const char* m : {"riemann_trapezoid", "riemann_middle"})
    CHECK(integrate(xai::quadrature(m, 7), [](double a) { return 3 * a + 1; }) == Approx(2.5).epsilon(1e-12));
  // Weights sum to 1 for every rule.
  for (const auto& m : xai::ig_methods())
    CHECK(integrate(xai::quadrature(m, 9), [](double) { return 1.0; }) == Approx(1.0).epsilon(1e-12));
  CHECK_THROWS_WITH(xai::quadrature("simpson", 5), Catch::Contains("riemann_left") && Catch::Contains("gausslegendre"));
  CHECK_THROWS_WITH(xai::quadrature("riemann_trapezoid", 1), Catch::Contains("at least 2"));
  CHECK_THROWS_WITH(xai::quadrature("gausslegendre", 0), Catch::Contains("at least 1"));
}

TEST_CASE("Grad-CAM: an unknown layer lists the closest names") {
  Case c("vgg16");
  CHECK_THROWS_WITH(xai::gradcam(c.fn, c.x, c.target, "block5_conv9"),
                    Catch::Contains("unknown layer 'block5_conv9'") && Catch::Contains("block5_conv3") &&
                        Catch::Contains("gradtrace layers"));
  CHECK_THROWS_WITH(xai::gradcam(c.fn, c.x, xai::Target{10, false}, "block5_conv3"), Catch::Contains("out of range"));
}

using test::kChelsea;
using test::kMobileNet;

TEST_CASE("IG completeness on the real MobileNet and chelsea.png: below 1% at 300 steps") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(kMobileNet);
  const Tensor x = load_input(kChelsea, m->info);
  const Tensor black = preprocess(Tensor::zeros(x.shape()), m->info.preprocessing);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  for (const char* method : {"riemann_trapezoid", "gausslegendre"}) {
    xai::IgOptions o;
    o.steps = 300;
    o.method = method;
    o.batch = 30;
    const xai::IgResult r = xai::integrated_gradients(fn, x, black, xai::Target{286, false}, o);  // Egyptian cat
    const double rel = std::abs(r.delta) / std::abs(r.f_x - r.f_baseline);
    std::printf("IG %s, 300 steps: f(x) %.4f, f(black) %.4f, completeness error %.3g (%.3f%%)\n", method, r.f_x,
                r.f_baseline, r.delta, 100 * rel);
    CHECK(rel < 0.01);
  }
}

TEST_CASE("counterfactual: chelsea.png ('Egyptian cat') becomes a 'golden retriever' with p >= 0.9") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(kMobileNet);
  const Tensor x = load_input(kChelsea, m->info);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  xai::CounterfactualOptions o;
  o.target = 208;  // golden retriever in TF Lite's 1001 classes
  o.optimizer = "adam";
  o.lr = 0.01;  // the course's learning rate, in model-input units ([-1, 1] for this model)
  o.steps = 100;
  o.confidence = 0.9;
  o.lo = Tensor::full({1, 3, 1, 1}, -1.0);
  o.hi = Tensor::full({1, 3, 1, 1}, 1.0);
  const xai::CounterfactualResult r = xai::counterfactual(fn, x, o);
  const auto& h = r.history;
  std::printf(
      "counterfactual (Adam, lr 0.01): p(golden retriever) %.4f -> %.4f in %zu steps; p(Egyptian cat) %.4f -> %.4f\n",
      h.front().p_target, h.back().p_target, h.size() - 1, h.front().p_original, h.back().p_original);
  CHECK(h.front().top1 == 286);
  CHECK(r.reached);
  CHECK(h.back().top1 == 208);
  CHECK(h.back().p_target >= 0.9);
  for (size_t i = 1; i < h.size(); ++i) CHECK(h[i].p_target > h[i - 1].p_target);  // p(target) rises
  const std::vector<float> a = x.to_vector(), b = r.input.to_vector();
  double change = 0, largest = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    change = std::max(change, double(std::abs(a[i] - b[i])));
    largest = std::max(largest, double(std::abs(b[i])));
  }
  CHECK(largest <= 1.0);  // still a valid image
  CHECK(change > 0);
  CHECK(change <= 0.0105 * (h.size() - 1));  // an Adam step moves a value by about lr at most
}

TEST_CASE("deletion and insertion: a faithful map beats its reverse, and the curves end where they must") {
  // logit 0 = 4 * (sum of the top-left 4x4 quadrant of an 8x8 one-channel image), logit 1 = 0.
  std::vector<float> w(2 * 64, 0.0f), good(64), bad(64);
  for (int i = 0; i < 64; ++i) {
    const bool important = i / 8 < 4 && i % 8 < 4;
    w[size_t(i)] = important ? 4.0f : 0.0f;
    good[size_t(i)] = important ? 1.0f + 0.01f * i : 0.0f;
    bad[size_t(i)] = -good[size_t(i)];
  }
  const Tensor W = Tensor::from_vector({2, 64}, w);
  const xai::Model model = [&](const Tensor& in) { return ops::linear(ops::flatten(in), W); };
  const Tensor x = Tensor::full({1, 1, 8, 8}, 0.5), base = Tensor::zeros({1, 1, 8, 8});
  xai::FaithfulnessOptions o;
  o.steps = 16;
  o.batch = 5;  // does not divide the 17 points
  const xai::Curve dg = xai::deletion(model, x, base, good, 0, o), db = xai::deletion(model, x, base, bad, 0, o);
  const xai::Curve ig = xai::insertion(model, x, base, good, 0, o), ib = xai::insertion(model, x, base, bad, 0, o);
  REQUIRE(dg.prob.size() == 17);
  const double p_x = 1 / (1 + std::exp(-32.0)), p_base = 0.5;  // softmax of (4 * 16 * 0.5, 0) and (0, 0)
  CHECK(dg.prob.front() == Approx(p_x));
  CHECK(dg.prob.back() == Approx(p_base));
  CHECK(ig.prob.front() == Approx(p_base));
  CHECK(ig.prob.back() == Approx(p_x));
  CHECK(dg.prob[4] == Approx(p_base));  // after a quarter of the pixels the quadrant is gone
  CHECK(db.prob[12] == Approx(p_x));    // the reversed order removes it last
  CHECK(dg.auc < db.auc - 0.3);
  CHECK(ig.auc > ib.auc + 0.3);
}

TEST_CASE("colormaps are matplotlib's tables, normalisation modes") {
  auto rgb = [](const std::string& cmap, float t) {
    const Image img = viz::colorize({t}, 1, 1, cmap);
    return std::vector<int>{img.rgb[0], img.rgb[1], img.rgb[2]};
  };
  // matplotlib 3.11's cmap.resampled(256)(t, bytes=True) (it truncates to bytes).
  CHECK(rgb("viridis", 0.0f) == std::vector<int>{68, 1, 84});
  CHECK(rgb("viridis", 1.0f) == std::vector<int>{253, 231, 36});
  CHECK(rgb("viridis", 0.5f) == std::vector<int>{32, 144, 140});
  CHECK(rgb("plasma", 0.0f) == std::vector<int>{12, 7, 134});
  CHECK(rgb("inferno", 1.0f) == std::vector<int>{252, 254, 164});
  CHECK(rgb("gray", 0.5f) == std::vector<int>{128, 128, 128});
  CHECK(rgb("bwr", 0.0f) == std::vector<int>{0, 0, 255});
  CHECK(rgb("bwr", 1.0f) == std::vector<int>{255, 0, 0});
  CHECK(rgb("hot", 1.0f) == std::vector<int>{255, 255, 255});
  CHECK(viz::colormap_names().size() == 9);
  CHECK_THROWS_WITH(viz::colorize({0.5f}, 1, 1, "rainbow"), Catch::Contains("viridis"));

  std::vector<float> v(100);
  for (int i = 0; i < 100; ++i) v[size_t(i)] = float(i);
  v[99] = 1e6f;  // one hot pixel
  const auto mm = viz::normalize(v, viz::Norm::minmax), pc = viz::normalize(v, viz::Norm::percentile, 2.0);
  CHECK(mm[98] < 1e-3f);          // min-max: the outlier darkens everything else
  CHECK(pc[97] == Approx(1.0f));  // percentile: the top 2% clip to 1 and the rest spreads over [0, 1]
  CHECK(pc[48] == Approx(48.0 / 97.0).epsilon(1e-5));
  const auto sy = viz::normalize({-2.0f, 0.0f, 1.0f, 2.0f}, viz::Norm::symmetric, 0.0);
  CHECK(sy == std::vector<float>{0.0f, 0.5f, 0.75f, 1.0f});
}

TEST_CASE(
    "the course's TF recipes (tf-keras): saliency = max |grad| over channels, IG trapezoid, steps = m_steps + 1") {
  // tests/fixture_gen/make_course_fixtures.py, on the Keras-layout narrow VGG16 fixture.
  const std::string dir = GT_FIXTURES_DIR;
  auto m = load_keras(dir + "/keras_vgg16_narrow_nested.h5", "", DType::f64);
  h5::File ref(dir + "/course_vgg16.h5", h5::File::Mode::read);
  const Tensor x = ref.read("input", DType::f64);
  const xai::Target t{int64_t(ref.attr_double("target")), false};
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  const std::vector<float> map = xai::channel_map(xai::input_gradient(fn, x, t), xai::ChannelReduce::max_abs);
  check_close("course saliency map", Tensor::from_vector({64, 64}, map), ref.read("saliency_map"));
  for (int m_steps : {4, 20}) {
    xai::IgOptions o;
    o.method = "riemann_trapezoid";
    o.steps = m_steps + 1;
    const xai::IgResult r = xai::integrated_gradients(fn, x, ref.read("baseline", DType::f64), t, o);
    check_close("course IG, m_steps " + std::to_string(m_steps), r.attribution,
                ref.read("ig_" + std::to_string(m_steps)));
  }
}

TEST_CASE("compare_maps: Spearman's rho on ranks with ties averaged, Pearson, and the top-q overlap") {
  CHECK(xai::ranks({3, 1, 2, 2}) == std::vector<double>{4, 1, 2.5, 2.5});
  // b's ranks are 1, 2, 3.5, 5, 3.5: rho = 8 / sqrt(10 * 9.5), by hand
  const xai::MapAgreement r = xai::compare_maps({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7});
  CHECK(r.spearman == Approx(8 / std::sqrt(95.0)).epsilon(1e-12));
  CHECK(r.pearson == Approx(6.0 / std::sqrt(10 * 5.2)).epsilon(1e-12));  // b - 6.6: -1.6, -0.6, 0.4, 1.4, 0.4
  // rank correlation ignores any increasing transform; Pearson does not
  std::vector<float> a, cube, reversed;
  for (int i = 0; i < 50; ++i)
    a.push_back(float(i % 7) + 0.01f * float(i)), cube.push_back(std::pow(a.back(), 3.0f) + 5);
  for (float v : a) reversed.push_back(-v);
  CHECK(xai::compare_maps(a, cube).spearman == Approx(1).epsilon(1e-12));
  CHECK(xai::compare_maps(a, cube).pearson < 0.99);
  CHECK(xai::compare_maps(a, reversed).spearman == Approx(-1).epsilon(1e-12));
  // top 30% of 10 pixels: a's are 7, 8, 9; b's are 9, 8, 0 (the tie at 0 goes to the lowest index)
  const std::vector<float> up{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, b{10, 0, 0, 0, 0, 0, 0, 0, 11, 12};
  CHECK(xai::compare_maps(up, b, 0.3).top_iou == Approx(2.0 / 4));
  CHECK(xai::compare_maps(up, b, 1.0).top_iou == 1);
  CHECK(xai::compare_maps(up, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 0.2).top_iou == 0);
  // a constant map orders nothing
  const xai::MapAgreement flat = xai::compare_maps(up, std::vector<float>(10, 0.5f));
  CHECK(std::isnan(flat.spearman));
  CHECK(std::isnan(flat.pearson));
  CHECK_THROWS_WITH(xai::compare_maps(up, {1, 2}), Catch::Contains("10 and 2 pixels"));
  CHECK_THROWS_WITH(xai::compare_maps({1, NAN}, {1, 2}), Catch::Contains("NaN"));
  CHECK_THROWS_WITH(xai::compare_maps(up, up, 0), Catch::Contains("top fraction"));
}
