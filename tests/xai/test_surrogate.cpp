// Superpixels (SLIC), LIME and KernelSHAP (xai/superpixels.h, xai/surrogate.h).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "autodiff/ops.h"
#include "image/preprocess.h"
#include "io/hdf5.h"
#include "tests/test_util.h"
#include "weights/format.h"
#include "weights/tflite.h"
#include "xai/surrogate.h"

using namespace gt;

namespace {

// Every label is in [0, count), used, and one 4-connected region (an independent flood fill).
void check_connected(const xai::Segments& s) {
  const int64_t H = s.height, W = s.width;
  std::vector<int> seen(size_t(H * W), 0), regions(size_t(s.count), 0);
  for (int64_t start = 0; start < H * W; ++start) {
    const int32_t l = s.label[size_t(start)];
    REQUIRE(l >= 0);
    REQUIRE(l < s.count);
    if (seen[size_t(start)]) continue;
    ++regions[size_t(l)];
    std::vector<int64_t> stack{start};
    seen[size_t(start)] = 1;
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      const int64_t y = p / W, x = p % W;
      for (int64_t q : {y > 0 ? p - W : -1, y < H - 1 ? p + W : -1, x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1})
        if (q >= 0 && !seen[size_t(q)] && s.label[size_t(q)] == l) seen[size_t(q)] = 1, stack.push_back(q);
    }
  }
  for (int64_t l = 0; l < s.count; ++l) CHECK(regions[size_t(l)] == 1);
}

xai::Segments from_mask(const Tensor& mask) {
  xai::Segments s{mask.dim(0), mask.dim(1), 0, {}};
  for (float v : mask.to_vector()) s.label.push_back(int32_t(v));
  s.count = *std::max_element(s.label.begin(), s.label.end()) + 1;
  return s;
}

// The model's target score on the image that keeps the segments in `keep` (a bit mask) and shows
// the baseline elsewhere.
double value(const xai::Model& fn, const Tensor& x, const Tensor& b, const xai::Segments& s, int64_t target,
             int64_t keep) {
  std::vector<double> xv = x.to_vector_f64(), bv = b.to_vector_f64();
  const int64_t HW = s.height * s.width;
  for (size_t i = 0; i < xv.size(); ++i)
    if (!(keep >> s.label[i % size_t(HW)] & 1)) xv[i] = bv[i];
  NoGradGuard ng;
  return fn(Tensor::from_vector(x.shape(), xv, x.dtype())).to_vector_f64()[size_t(target)];
}

// A smooth picture (C,H,W) in [0, 255]: segments of noise would be fragments.
std::vector<float> smooth_picture(int64_t C, int64_t H, int64_t W) {
  std::vector<float> v(size_t(C * H * W));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        v[size_t((c * H + y) * W + x)] =
            float(127.5 + 120 * std::sin(0.2 * double(x) + double(c)) * std::cos(0.15 * double(y) - double(c)));
  return v;
}

}  // namespace

TEST_CASE("SLIC: about the segments asked for, each one connected region, none across a colour edge") {
  const int64_t H = 48, W = 64;
  auto region = [](int64_t y, int64_t x) { return x < 27 ? 0 : y < 20 ? 1 : 2; };
  const float colour[3][3] = {{200, 30, 30}, {30, 30, 200}, {30, 180, 40}};
  std::vector<float> rgb(size_t(3 * H * W)), grey(size_t(H * W));
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const float jitter = float((y * 7 + x * 13) % 5) - 2;  // texture, so that no distance ties
      for (int c = 0; c < 3; ++c) rgb[size_t(c * H * W + y * W + x)] = colour[region(y, x)][c] + jitter;
      grey[size_t(y * W + x)] = 60.0f * float(region(y, x)) + 40 + jitter;
    }
  for (int channels : {3, 1}) {
    const xai::Segments s = xai::slic(channels == 3 ? rgb : grey, channels, H, W, 12);
    INFO(channels << " channels, " << s.count << " segments");
    CHECK(s.count >= 6);
    CHECK(s.count <= 24);
    check_connected(s);
    std::vector<int> seg_region(size_t(s.count), -1);
    int crossing = 0;
    for (int64_t p = 0; p < H * W; ++p) {
      int& r = seg_region[size_t(s.label[size_t(p)])];
      if (r < 0) r = region(p / W, p % W);
      crossing += r != region(p / W, p % W);
    }
    CHECK(crossing == 0);
  }
  // One segment asked for: the whole image.
  const xai::Segments one = xai::slic(rgb, 3, H, W, 1);
  CHECK(one.count == 1);
  check_connected(one);
  CHECK_THROWS_AS(xai::slic(std::vector<float>(size_t(2 * H * W)), 2, H, W, 10), Error);
  CHECK_THROWS_AS(xai::slic(rgb, 3, H, W, 0), Error);
}

TEST_CASE(
    "KernelSHAP with every coalition gives the exact Shapley values: a brute-force sum and Captum's ShapleyValues") {
  auto m = load_weights(std::string(GT_FIXTURES_DIR) + "/torch_resnet50_narrow.h5", DType::f64);
  h5::File captum(std::string(GT_FIXTURES_DIR) + "/captum_resnet50.h5", h5::File::Mode::read);
  h5::File ref(std::string(GT_FIXTURES_DIR) + "/captum_shapley.h5", h5::File::Mode::read);
  const Tensor x = captum.read("input", DType::f64), base = Tensor::zeros_like(x);
  const int64_t target = std::lround(ref.attr_double("target"));
  const xai::Segments seg = from_mask(ref.read("feature_mask"));
  REQUIRE(seg.count == 6);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  xai::SurrogateOptions o;
  o.samples = 62;  // 2^6 - 2: every proper, non-empty coalition
  const xai::SurrogateResult r = xai::kernel_shap(fn, x, base, seg, {target, false}, o);
  CHECK(r.exact);
  CHECK(r.evaluations == 64);

  // phi_i = sum over T not containing i of |T|! (S - |T| - 1)! / S! (v(T + i) - v(T))
  std::vector<double> v(64);
  for (int64_t t = 0; t < 64; ++t) v[size_t(t)] = value(fn, x, base, seg, target, t);
  const std::vector<double> captum_phi = ref.read("shapley", DType::f64).to_vector_f64();
  double scale = 0;
  for (double p : captum_phi) scale = std::max(scale, std::abs(p));
  for (int i = 0; i < 6; ++i) {
    double phi = 0;
    for (int64_t t = 0; t < 64; ++t) {
      if (t >> i & 1) continue;
      const int k = __builtin_popcountll(uint64_t(t));
      phi += std::tgamma(k + 1) * std::tgamma(6 - k) / std::tgamma(7) * (v[size_t(t | 1 << i)] - v[size_t(t)]);
    }
    std::printf("region %d: kernelshap %.9f, brute force %.9f, Captum %.9f\n", i, r.phi[size_t(i)], phi,
                captum_phi[size_t(i)]);
    CHECK(std::abs(r.phi[size_t(i)] - phi) <= 1e-9 * scale);
    // Captum adds up the marginal contributions in float32 (shapley_value.py: dtype=torch.float).
    CHECK(std::abs(r.phi[size_t(i)] - captum_phi[size_t(i)]) <= 1e-5 * scale);
  }
  CHECK(r.f_x == Approx(v[63]).epsilon(1e-12));
  CHECK(r.f_baseline == Approx(v[0]).epsilon(1e-12));
  CHECK(std::accumulate(r.phi.begin(), r.phi.end(), 0.0) == Approx(r.f_x - r.f_baseline).epsilon(1e-12));
  // Each pixel of the attribution holds its region's value, in every channel.
  const std::vector<double> a = r.attribution.to_vector_f64();
  for (size_t i = 0; i < a.size(); i += 97) CHECK(a[i] == r.phi[size_t(seg.label[i % 4096])]);

  o.samples = 61;  // one short of every coalition: sampled
  CHECK_FALSE(xai::kernel_shap(fn, x, base, seg, {target, false}, o).exact);
}

TEST_CASE("LIME and sampled KernelSHAP recover a model that is linear in the segments exactly") {
  // f(x) = W flatten(x): f(h_x(z)) = f(b) + sum_s z_s phi_s with phi_s = sum over segment s of W (x - b).
  const int64_t C = 3, H = 24, W = 32, K = 3, target = 1;
  const Tensor x = Tensor::uniform({1, C, H, W}, -1, 1, 1, DType::f64),
               b = Tensor::uniform({1, C, H, W}, -1, 1, 2, DType::f64);
  const Tensor w = Tensor::uniform({K, C * H * W}, -1, 1, 3, DType::f64);
  const xai::Model fn = [&](const Tensor& in) { return ops::linear(ops::flatten(in), w); };
  const xai::Segments seg = xai::slic(smooth_picture(C, H, W), C, H, W, 20);
  REQUIRE(seg.count >= 12);
  std::vector<double> want(size_t(seg.count), 0.0);
  const std::vector<double> xv = x.to_vector_f64(), bv = b.to_vector_f64(), wv = w.to_vector_f64();
  for (int64_t i = 0; i < C * H * W; ++i)
    want[size_t(seg.label[size_t(i % (H * W))])] +=
        wv[size_t(target * C * H * W + i)] * (xv[size_t(i)] - bv[size_t(i)]);
  double norm_want = 0, scale = 0;
  for (double v : want) norm_want += v * v, scale = std::max(scale, std::abs(v));

  xai::SurrogateOptions o;
  o.samples = 60;  // far fewer than the 2^S coalitions
  const xai::SurrogateResult shap = xai::kernel_shap(fn, x, b, seg, {target, false}, o);
  CHECK_FALSE(shap.exact);
  CHECK(shap.r2 == Approx(1).epsilon(1e-9));
  o.ridge = 0;
  const xai::SurrogateResult lime0 = xai::lime(fn, x, b, seg, {target, false}, o);
  CHECK(lime0.r2 == Approx(1).epsilon(1e-9));
  CHECK(lime0.phi0 == Approx(lime0.f_baseline).epsilon(1e-9));
  for (size_t s = 0; s < want.size(); ++s) {
    CHECK(std::abs(shap.phi[s] - want[s]) <= 1e-9 * scale);
    CHECK(std::abs(lime0.phi[s] - want[s]) <= 1e-9 * scale);
  }
  // lime_image's ridge (lambda = 1) shrinks the coefficients.
  o.ridge = 1;
  const xai::SurrogateResult lime1 = xai::lime(fn, x, b, seg, {target, false}, o);
  double norm1 = 0;
  for (double v : lime1.phi) norm1 += v * v;
  CHECK(norm1 < norm_want);
  CHECK(lime1.r2 < 1);

  // segment_means: every pixel of a segment holds the segment's mean, per channel.
  const std::vector<double> means = xai::segment_means(x, seg).to_vector_f64();
  std::vector<double> sum(size_t(C * seg.count), 0.0), count(size_t(seg.count), 0.0);
  for (int64_t p = 0; p < H * W; ++p) {
    count[size_t(seg.label[size_t(p)])] += 1;
    for (int64_t c = 0; c < C; ++c) sum[size_t(c * seg.count + seg.label[size_t(p)])] += xv[size_t(c * H * W + p)];
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t p = 0; p < H * W; p += 7) {
      const int32_t s = seg.label[size_t(p)];
      CHECK(means[size_t(c * H * W + p)] == Approx(sum[size_t(c * seg.count + s)] / count[size_t(s)]).epsilon(1e-12));
    }

  o.samples = 1;
  CHECK_THROWS_AS(xai::lime(fn, x, b, seg, {target, false}, o), Error);
  o.samples = 100;
  CHECK_THROWS_AS(xai::kernel_shap(fn, x, Tensor::zeros({1, C, H, W + 1}, DType::f64), seg, {target, false}, o), Error);
}

TEST_CASE(
    "KernelSHAP's sampled estimate nears the exact Shapley values on the real MobileNet, draws are reproducible") {
  if (!test::have_shared_data()) return;
#if defined(__SANITIZE_ADDRESS__)
  // 1,300 MobileNet passes: 70 s under the sanitizers, for code the other tests here run there too.
  WARN("skipped under the sanitizers (statistics, not memory)");
  return;
#endif
  auto m = tflite::load(test::kMobileNet);
  const Tensor x = load_input(test::kChelsea, m->info);
  const Tensor black = preprocess(Tensor::zeros(x.shape()), m->info.preprocessing);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  const xai::Target t{286, false};     // Egyptian cat
  xai::Segments seg{224, 224, 9, {}};  // a 3 x 3 grid: 510 coalitions to take them all
  for (int64_t p = 0; p < 224 * 224; ++p) seg.label.push_back(int32_t(p / 224 * 3 / 224 * 3 + p % 224 * 3 / 224));
  xai::SurrogateOptions o;
  o.samples = 510;
  const xai::SurrogateResult exact = xai::kernel_shap(fn, x, black, seg, t, o);
  REQUIRE(exact.exact);
  double scale = 0;
  for (double v : exact.phi) scale = std::max(scale, std::abs(v));
  std::printf("kernelshap, exact: f(x) %.3f, f(black) %.3f, R^2 %.3f\n", exact.f_x, exact.f_baseline, exact.r2);
  for (int samples : {100, 300}) {
    o.samples = samples;
    o.seed = 7;
    const xai::SurrogateResult a = xai::kernel_shap(fn, x, black, seg, t, o),
                               b = xai::kernel_shap(fn, x, black, seg, t, o);
    CHECK(a.phi == b.phi);
    double err = 0;  // test::worse: a NaN counts as infinitely wrong (std::max would drop it)
    for (size_t s = 0; s < a.phi.size(); ++s) err = test::worse(err, std::abs(a.phi[s] - exact.phi[s]));
    std::printf("kernelshap, %d samples: max |phi - exact| = %.3g of max |exact| %.3g; R^2 %.3f\n", samples, err, scale,
                a.r2);
    CHECK(err <= (samples == 100 ? 0.1 : 0.04) * scale);  // measured: 0.05, 0.021
    CHECK(std::accumulate(a.phi.begin(), a.phi.end(), 0.0) == Approx(a.f_x - a.f_baseline).epsilon(1e-9));
  }
}

TEST_CASE("LIME's fit is the lime package's: lime_image's kernel and Ridge(alpha=1) on the same samples") {
  h5::File ref(std::string(GT_FIXTURES_DIR) + "/lime_fit.h5",
               h5::File::Mode::read);  // tests/fixture_gen/make_lime_fixture.py
  const Tensor z = ref.read("z", DType::f64);
  const int64_t n = z.dim(0), S = z.dim(1);
  const std::vector<double> zv = z.to_vector_f64(), want = ref.read("phi", DType::f64).to_vector_f64();
  std::vector<std::vector<uint8_t>> zs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t s = 0; s < S; ++s) zs[size_t(i)].push_back(uint8_t(zv[size_t(i * S + s)]));
  const std::vector<double> y = ref.read("y", DType::f64).to_vector_f64();
  const xai::SurrogateResult r = xai::lime_fit(zs, y, 0.25, 1.0);
  for (int64_t s = 0; s < S; ++s) CHECK(r.phi[size_t(s)] == Approx(want[size_t(s)]).margin(1e-9));
  CHECK(r.phi0 == Approx(ref.attr_double("intercept")).margin(1e-9));
  CHECK(r.r2 == Approx(ref.attr_double("r2")).margin(1e-9));
  // Another kernel width or ridge gives another fit: the comparison above is not vacuous.
  CHECK(std::abs(xai::lime_fit(zs, y, 0.5, 1.0).phi[0] - want[0]) > 1e-3);
  CHECK(std::abs(xai::lime_fit(zs, y, 0.25, 0.1).phi[0] - want[0]) > 1e-3);
}
