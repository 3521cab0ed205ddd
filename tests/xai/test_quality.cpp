// gradtrace evaluate's metrics against Quantus 0.6 itself (tests/fixture_gen/quantus_reference.py:
// tests/fixtures/quantus_ref.h5, the small ONNX CNN, eight inputs with seeded random signed maps and
// rectangle masks), metric by metric, at Quantus's defaults and at the changed parameters the file
// records. Quantus runs in float32 and normalises a map over the batch it is given; where that
// differs from one item alone by more than 1e-6 the file holds each item's own score (score_per_item),
// which is what gradtrace's per-item metrics must equal.
#include <catch2/catch.hpp>
#include <cmath>

#include "io/hdf5.h"
#include "weights/load.h"
#include "xai/deeplift.h"
#include "xai/quality.h"

using namespace gt;
using namespace gt::xai;

namespace {
const std::string kDir = GT_FIXTURES_DIR;

struct Fixture {
  h5::File f{kDir + "/quantus_ref.h5", h5::File::Mode::read};
  Subject s;
  std::vector<double> a, y;
  std::vector<double> masks;
  int64_t n = 0, hw = 0;
  explicit Fixture(const std::string& model = "onnx_small_cnn.onnx", const std::string& group = "") {
    ImportOptions o;
    o.preprocess = "none";
    s.model = load_model(kDir + "/" + model, "", Device::cpu, DType::f64, o);
    a = f.read("a", DType::f64).to_vector_f64();
    masks = f.read("s", DType::f64).to_vector_f64();
    y = f.read(group + "y", DType::f64).to_vector_f64();
    n = int64_t(y.size());
    hw = int64_t(a.size()) / n;
  }
  // Item i's score by `metric` with these settings (KEY=V).
  quality::Score score(const std::string& metric, int64_t i, const std::vector<std::string>& settings = {},
                       const std::string& group = "") {
    const Tensor x = f.read_rows(group + "x", i, i + 1, DType::f64);
    set_input(s, Tensor(), x);
    const Method& m = find_method("saliency");
    const Options opts = default_options(m);
    const quality::Metric& k = quality::find(metric);
    const Options set = quality::metric_options(k, settings);
    std::vector<float> map(a.begin() + i * hw, a.begin() + (i + 1) * hw);
    std::vector<uint8_t> mask;
    for (int64_t p = 0; p < hw; ++p) mask.push_back(uint8_t(masks[size_t(i * hw + p)]));
    const quality::Input in{s, Target{int64_t(y[size_t(i)]), false}, m, opts, set, map, Tensor(), mask, 0, 16};
    return k.run(in);
  }
  // Quantus's value(s) for item i: score_per_item where the file has it, else score.
  std::vector<double> want(const std::string& group, int64_t i) {
    const std::string d = f.has(group + "/score_per_item") ? group + "/score_per_item" : group + "/score";
    const std::vector<double> v = f.read(d, DType::f64).to_vector_f64();
    const size_t L = v.size() / size_t(n);
    return std::vector<double>(v.begin() + i * int64_t(L), v.begin() + (i + 1) * int64_t(L));
  }
};

// Every item's score (or curve) within abs + rel * |want| of Quantus's; NaN only where Quantus has NaN.
void check(Fixture& fx, const std::string& metric, const std::string& group, const std::vector<std::string>& settings,
           double abs, double rel = 0, const std::string& prefix = "") {
  for (int64_t i = 0; i < fx.n; ++i) {
    const quality::Score sc = fx.score(metric, i, settings, prefix);
    const std::vector<double> want = fx.want(prefix + group, i);
    const std::vector<double> got = want.size() == 1 ? std::vector<double>{sc.value} : sc.curve;
    INFO(metric << " as " << prefix << group << ", item " << i);
    REQUIRE(got.size() == want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      INFO("point " << k << ": gradtrace " << got[k] << ", Quantus " << want[k]);
      if (std::isnan(want[k]))
        CHECK(std::isnan(got[k]));
      else
        CHECK(std::abs(got[k] - want[k]) <= abs + rel * std::abs(want[k]));
    }
  }
}
}  // namespace

TEST_CASE("Quantus 0.6: complexity metrics (sparseness, complexity, effective complexity)", "[xai][quality]") {
  Fixture fx;
  check(fx, "sparseness", "Sparseness", {}, 1e-6);
  check(fx, "sparseness", "Sparseness_raw", {"abs=0", "normalise=0"}, 0, 1e-5);  // float32 sums near 0
  check(fx, "complexity", "Complexity", {}, 1e-6);
  check(fx, "complexity", "Complexity_raw", {"abs=0", "normalise=0"}, 0);  // log of a negative share: NaN
  check(fx, "effective-complexity", "EffectiveComplexity", {}, 0);
  check(fx, "effective-complexity", "EffectiveComplexity_eps", {"eps=0.1"}, 0);
  check(fx, "effective-complexity", "EffectiveComplexity_raw", {"abs=0", "normalise=0"}, 0);
}

TEST_CASE("Quantus 0.6: localisation metrics on rectangle masks", "[xai][quality]") {
  Fixture fx;
  check(fx, "pointing-game", "PointingGame", {}, 0);
  check(fx, "relevance-mass-accuracy", "RelevanceMassAccuracy", {}, 0, 1e-5);  // signed sums in float32
  check(fx, "relevance-rank-accuracy", "RelevanceRankAccuracy", {}, 0);
  check(fx, "top-k-intersection", "TopKIntersection", {}, 0);
  check(fx, "top-k-intersection", "TopKIntersection_k100", {"k=100"}, 0);
  check(fx, "auc", "AUC", {}, 1e-12);
}

TEST_CASE("Quantus 0.6: region perturbation curves, Quantus's padding included", "[xai][quality]") {
  Fixture fx;
  check(fx, "region-perturbation", "RegionPerturbation", {}, 1e-6);
  check(fx, "region-perturbation", "RegionPerturbation_p5", {"patch=5", "regions=20"}, 1e-6);
}

TEST_CASE("completeness: DeepLIFT against Quantus's black baseline is complete, the gradient is not",
          "[xai][quality]") {
  // Quantus 0.6 compares the two sides with ==; the fixture keeps its attr_sum and output_diff, whose
  // baseline touches only channel 0 of a one-channel map's input (see quality_axiomatic.cpp). Here the
  // axiom itself, on the same model in float64: DeepLIFT's contributions against x' = min(x) everywhere
  // sum to f(x) - f(x'); the gradient's do not.
  Fixture fx;
  const Tensor x = fx.f.read_rows("x", 0, 1, DType::f64);
  set_input(fx.s, Tensor(), x);
  const int64_t t = int64_t(fx.y[0]);
  const Tensor base = Tensor::full(x.shape(), quality::black_value(x), DType::f64);
  const Method& m = find_method("deeplift");
  const Options opts = default_options(m);
  const quality::Metric& k = quality::find("completeness");
  const Options set = quality::metric_options(k);
  const auto run = [&](const Tensor& attribution) {
    return k.run(quality::Input{fx.s, Target{t, false}, m, opts, set, {}, attribution, {}, 0, 16});
  };
  const quality::Score dl = run(deeplift(fx.s.fn, x, base, Target{t, false}).attribution);
  REQUIRE(dl.curve.size() == 2);
  CHECK(dl.value < 1e-9);
  CHECK(std::abs(dl.curve[1]) > 1e-3);  // f(x) - f(x') is not 0: the check means something
  CHECK(run(saliency(fx.s.fn, x, t)).value > 1e-3);
  CHECK(std::isnan(run(Tensor()).value));  // a CAM: no attribution to sum
}

TEST_CASE("Quantus 0.6: pixel flipping on a one-channel model, where its features are pixels", "[xai][quality]") {
  // Quantus flips features_in_step of the C x H x W values at a time, gradtrace all channels of a
  // pixel: on a grayscale model (tests/fixtures/onnx_gray_cnn.onnx) the two are one definition.
  Fixture fx("onnx_gray_cnn.onnx", "gray/");
  check(fx, "pixel-flipping", "PixelFlipping", {}, 1e-6, 0, "gray/");
  check(fx, "pixel-flipping", "PixelFlipping_s16", {"step=16"}, 1e-6, 0, "gray/");
  check(fx, "pixel-flipping", "PixelFlipping_abs", {"step=16", "abs=1"}, 1e-6, 0, "gray/");
  check(fx, "region-perturbation", "RegionPerturbation", {}, 1e-6, 0, "gray/");
  check(fx, "region-perturbation", "RegionPerturbation_p5", {"patch=5", "regions=20"}, 1e-6, 0, "gray/");
}
