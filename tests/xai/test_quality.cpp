// gradtrace evaluate's metrics against Quantus 0.6 itself (tests/fixture_gen/quantus_reference.py:
// tests/fixtures/quantus_ref.h5, the small ONNX CNN, eight inputs with seeded random signed maps and
// rectangle masks), metric by metric, at Quantus's defaults and at the changed parameters the file
// records. Quantus runs in float32 and normalises a map over the batch it is given; where that
// differs from one item alone by more than 1e-6 the file holds each item's own score (score_per_item),
// which is what gradtrace's per-item metrics must equal.
#include <algorithm>
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
  // own_map: the map is saliency's of x (as the method itself explains), not the fixture's `a`.
  quality::Score score(const std::string& metric, int64_t i, const std::vector<std::string>& settings = {},
                       const std::string& group = "", uint64_t seed = 0, bool own_map = false) {
    const Tensor x = f.read_rows(group + "x", i, i + 1, DType::f64);
    set_input(s, Tensor(), x);
    const Method& m = find_method("saliency");
    const Options opts = default_options(m);
    const quality::Metric& k = quality::find(metric);
    const Options set = quality::metric_options(k, settings);
    const Target t{int64_t(y[size_t(i)]), false};
    const std::vector<float> map =
        own_map ? explain(m, s, t, opts).map : std::vector<float>(a.begin() + i * hw, a.begin() + (i + 1) * hw);
    std::vector<uint8_t> mask;
    for (int64_t p = 0; p < hw; ++p) mask.push_back(uint8_t(masks[size_t(i * hw + p)]));
    return k.run(quality::Input{s, t, quality::method_explainer(m, opts, s), set, map, Tensor(), mask, seed, 16});
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
// items: the first that many (default all).
void check(Fixture& fx, const std::string& metric, const std::string& group, const std::vector<std::string>& settings,
           double abs, double rel = 0, const std::string& prefix = "", int64_t items = 0) {
  for (int64_t i = 0; i < (items ? items : fx.n); ++i) {
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

TEST_CASE("Quantus 0.6: sufficiency scores the eight items as one set", "[xai][quality]") {
  Fixture fx;
  // Quantus normalises the maps over its batch (|a| / max|a| of all eight, float32): given so here,
  // with normalise=0. Each item keeps its map and predicted class, and the set step scores them all.
  float top = 0;
  for (double v : fx.a) top = std::max(top, std::abs(float(v)));
  for (double& v : fx.a) v = std::abs(float(v)) / top;
  const quality::Metric& k = quality::find("sufficiency");
  for (const auto& [group, threshold] : std::vector<std::pair<std::string, std::string>>{
           {"Sufficiency", "0.6"}, {"Sufficiency_t96", "0.96"}, {"Sufficiency_t98", "0.98"}}) {
    const std::vector<std::string> settings{"normalise=0", "threshold=" + threshold};
    std::vector<std::vector<double>> kept;
    for (int64_t i = 0; i < fx.n; ++i) {
      const quality::Score sc = fx.score("sufficiency", i, settings);
      CHECK(std::isnan(sc.value));  // a set's metric: its value comes from the set step
      REQUIRE(int64_t(sc.kept.size()) == fx.hw + 1);
      CHECK(sc.kept.back() == fx.y[size_t(i)]);  // the model's argmax class
      kept.push_back(sc.kept);
    }
    const std::vector<double> got = k.over_set(kept, quality::metric_options(k, settings));
    for (int64_t i = 0; i < fx.n; ++i) {
      INFO(group << ", item " << i << ": gradtrace " << got[size_t(i)] << ", Quantus " << fx.want(group, i)[0]);
      CHECK(std::abs(got[size_t(i)] - fx.want(group, i)[0]) < 1e-12);
    }
  }
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
    return k.run(quality::Input{
        fx.s, Target{t, false}, quality::method_explainer(m, opts, fx.s), set, {}, attribution, {}, 0, 16});
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
  // the 1024-point curves on 2 items (a forward pass per point: 100 s for all 8 under the sanitizers)
  check(fx, "pixel-flipping", "PixelFlipping", {}, 1e-6, 0, "gray/", 2);
  check(fx, "pixel-flipping", "PixelFlipping_s16", {"step=16"}, 1e-6, 0, "gray/");
  check(fx, "pixel-flipping", "PixelFlipping_abs", {"step=16", "abs=1"}, 1e-6, 0, "gray/");
  check(fx, "region-perturbation", "RegionPerturbation", {}, 1e-6, 0, "gray/");
  check(fx, "region-perturbation", "RegionPerturbation_p5", {"patch=5", "regions=20"}, 1e-6, 0, "gray/");
}

TEST_CASE("ROAD's noisy linear imputation equals Quantus's without its noise", "[xai][quality]") {
  // a 12x12 block and 300 scattered pixels of gray item 0 (tests/fixture_gen/quantus_stochastic.py)
  const h5::File q{kDir + "/quantus_stochastic.h5", h5::File::Mode::read};
  const h5::File f{kDir + "/quantus_ref.h5", h5::File::Mode::read};
  std::vector<double> img = f.read_rows("gray/x", 0, 1, DType::f64).to_vector_f64();
  const std::vector<double> want = q.read("imputation/imputed", DType::f64).to_vector_f64();
  std::vector<int64_t> removed;
  for (double v : q.read("imputation/removed", DType::f64).to_vector_f64()) removed.push_back(int64_t(v));
  std::mt19937_64 rng(0);
  quality::noisy_linear_imputation(img, 1, 32, 32, removed, 0.0, rng);
  REQUIRE(img.size() == want.size());
  double worst = 0;
  for (size_t k = 0; k < img.size(); ++k) worst = std::max(worst, std::abs(img[k] - want[k]));
  CHECK(worst < 1e-12);
}

TEST_CASE("Quantus 0.6: the stochastic metrics agree in mean over 200 draws", "[xai][quality]") {
  // tests/fixture_gen/quantus_stochastic.py drew each metric 1000 times from Quantus (numpy seeded
  // 0..999, one item per call) on the grayscale model and kept the mean and sd of each item's score;
  // gradtrace draws 200 times from its seeded streams (MPRT: 1000, below). The means must agree
  // within the 95% interval of their difference, 1.96 sqrt(s_q^2 / n_q + s^2 / n): a wrong noise
  // scale, subset size, baseline, init or imputation moves a mean by many such widths. ROAD's noise
  // of 0.01 never flips these items' classes: its curves are the same in every draw, on both sides,
  // and must be equal. MPRT's first 200 draws of item 1 sat 2.9 standard errors below Quantus's mean
  // (0.1161 against 0.1211); 1000 give 0.1202, and each layer's mean is within 0.003 of Quantus's.
  Fixture fx("onnx_gray_cnn.onnx", "gray/");
  const h5::File q{kDir + "/quantus_stochastic.h5", h5::File::Mode::read};
  const int64_t items = int64_t(q.attr_double("items"));
  const double nq = q.attr_double("draws");
  for (const std::string metric : {"faithfulness-correlation", "monotonicity-correlation", "road", "max-sensitivity",
                                   "avg-sensitivity", "local-lipschitz", "random-logit", "mprt"}) {
    const std::vector<double> qmean = q.read(metric + "/value_mean", DType::f64).to_vector_f64();
    const std::vector<double> qsd = q.read(metric + "/value_sd", DType::f64).to_vector_f64();
    const std::string set = q.attr_string(metric + ".set");
    std::vector<std::string> settings;
    for (size_t b = 0; b < set.size();) {
      const size_t e = std::min(set.find(',', b), set.size());
      settings.push_back(set.substr(b, e - b));
      b = e + 1;
    }
    const bool own_map = q.attr_double(metric + ".explains") != 0;  // Quantus explained x itself
    const int64_t draws = metric == "mprt" ? 1000 : 200;
    const double n = double(draws);
    for (int64_t i = 0; i < items; ++i) {
      double sum = 0, sq = 0;
      std::vector<double> road_curve;
      for (int64_t d = 0; d < draws; ++d) {
        const quality::Score sc = fx.score(metric, i, settings, "gray/", uint64_t(d), own_map);
        sum += sc.value, sq += sc.value * sc.value;
        if (metric == "road" && d == 0) road_curve = sc.curve;
      }
      const double m = sum / n, var = std::max(0.0, sq / n - m * m), qm = qmean[size_t(i)], qs = qsd[size_t(i)];
      INFO(metric << ", item " << i << ": gradtrace mean " << m << ", Quantus " << qm);
      CHECK(std::abs(m - qm) <= 1.96 * std::sqrt(var / (n - 1) + qs * qs / (nq - 1)) + 1e-12);
      if (metric == "road") {
        const std::vector<double> want = q.read("road/curve_mean", DType::f64).to_vector_f64();
        const size_t L = want.size() / size_t(items);
        REQUIRE(road_curve.size() == L);
        for (size_t k = 0; k < L; ++k) CHECK(road_curve[k] == want[size_t(i) * L + k]);
      }
    }
  }
}
