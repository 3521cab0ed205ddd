// Faithfulness: does the model's output follow the map? Change the pixels the map ranks high and the
// output should move most.
#include <cmath>
#include <numeric>
#include <random>

#include "xai/compare.h"
#include "xai/quality.h"

namespace gt::xai::quality {
namespace {

// np.trapz(curve, dx=1): Quantus's area under a curve of steps.
double trapezoid(const std::vector<double>& c) {
  double a = 0;
  for (size_t k = 1; k < c.size(); ++k) a += 0.5 * (c[k] + c[k - 1]);
  return a;
}

// Pixel flipping (Bach et al. 2015): the pixels most relevant first go black (all channels of a pixel,
// `step` pixels at a time, cumulatively), and p(target) is read after each step. Quantus 0.6 flattens
// the map broadcast over the channels and flips features_in_step of those values at a time; with
// features_in_step = C its steps are these. Its "black" is the item's smallest value. Value: the
// curve's area, np.trapz with dx = 1 (Quantus's return_auc_per_sample); lower is better.
Score pixel_flipping(const Input& in) {
  const Tensor& x = in.subject.x;
  const int64_t C = x.dim(1), HW = x.dim(2) * x.dim(3), step = in.settings.integer("step");
  if (int64_t(in.map.size()) != HW) throw Error("pixel-flipping: the map does not fit the input");
  const std::vector<int64_t> order = importance_order(prepared(in));
  const std::vector<double> x0 = x.to_vector_f64();
  const double black = black_value(x);
  const int64_t n = (HW + step - 1) / step;
  Score r;
  r.curve = copies_scores(in, n, [&](int64_t k, double* img) {
    std::copy(x0.begin(), x0.end(), img);
    for (int64_t q = 0; q < std::min(HW, (k + 1) * step); ++q)
      for (int64_t c = 0; c < C; ++c) img[c * HW + order[size_t(q)]] = black;
  });
  r.value = trapezoid(r.curve);
  return r;
}

// Region perturbation (Samek et al. 2017): patch x patch regions of the plane (padded with zeros to a
// multiple of the patch, the padding split floor/ceil as Quantus does), ordered by the map's sum over
// each (most relevant first: morf; lerf the reverse), go black one after another (cumulatively) for the
// first `regions`; the curve is f(x) - f(x_k), p(target). Value: its mean (AOPC); higher is better.
Score region_perturbation(const Input& in) {
  const Tensor& x = in.subject.x;
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3), p = in.settings.integer("patch");
  if (int64_t(in.map.size()) != H * W) throw Error("region-perturbation: the map does not fit the input");
  const std::vector<double> a = prepared(in);
  const auto pad_before = [&](int64_t n) { return n % p ? (p - n % p) / 2 : 0; };
  const int64_t top = pad_before(H), left = pad_before(W), rows = (H + p - 1) / p, cols = (W + p - 1) / p;
  // each region's pixels (inside the image) and the map's sum over them
  std::vector<std::vector<int64_t>> regions(size_t(rows * cols));
  std::vector<double> sums(regions.size(), 0);
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) {
      const size_t r = size_t((i + top) / p * cols + (j + left) / p);
      regions[r].push_back(i * W + j);
      sums[r] += a[size_t(i * W + j)];
    }
  if (in.settings.text("order") == "lerf")  // least relevant first: np.argsort(sums)
    for (double& v : sums) v = -v;
  const std::vector<int64_t> order = importance_order(sums);
  const int64_t n = std::min<int64_t>(in.settings.integer("regions"), int64_t(order.size()));
  const std::vector<double> x0 = x.to_vector_f64();
  const double black = black_value(x);
  const double y0 = class_scores(in.subject, x, in.target.index, true)[0];
  Score r;
  r.curve = copies_scores(in, n, [&](int64_t k, double* img) {
    std::copy(x0.begin(), x0.end(), img);
    for (int64_t q = 0; q <= k; ++q)
      for (int64_t pix : regions[size_t(order[size_t(q)])])
        for (int64_t c = 0; c < C; ++c) img[c * H * W + pix] = black;
  });
  double sum = 0;
  for (double& v : r.curve) sum += (v = y0 - v);
  r.value = n ? sum / double(n) : NAN;
  return r;
}

// Faithfulness correlation (Bhatt et al. 2020): `runs` times, a random subset of `subset` pixels goes
// black (all channels; Quantus 0.6 draws single channel entries of the C*H*W, the same thing on a
// one-channel model); the Pearson correlation over the runs of the map's sum over the subset with the
// drop of the target's logit, f(x) - f(x_subset). Higher is better.
Score faithfulness_correlation(const Input& in) {
  const Tensor& x = in.subject.x;
  const int64_t C = x.dim(1), HW = x.dim(2) * x.dim(3), n = in.settings.integer("subset");
  const int64_t runs = in.settings.integer("runs");
  if (n >= HW)
    throw InvalidArgument("faithfulness-correlation: subset must be below the " + std::to_string(HW) + " pixels");
  const std::vector<double> a = prepared(in), x0 = x.to_vector_f64();
  std::mt19937_64 rng(in.seed);
  std::vector<int64_t> pixels(size_t(HW), 0);
  std::iota(pixels.begin(), pixels.end(), 0);
  std::vector<std::vector<int64_t>> subsets;
  std::vector<double> sums;
  for (int64_t r = 0; r < runs; ++r) {  // n draws without replacement: a partial Fisher-Yates shuffle
    for (int64_t i = 0; i < n; ++i)
      std::swap(pixels[size_t(i)], pixels[size_t(std::uniform_int_distribution<int64_t>(i, HW - 1)(rng))]);
    subsets.emplace_back(pixels.begin(), pixels.begin() + n);
    sums.push_back(0);
    for (int64_t p : subsets.back()) sums.back() += a[size_t(p)];
  }
  const double black = black_value(x), y0 = class_scores(in.subject, x, in.target.index, false)[0];
  std::vector<double> drops = copies_scores(
      in, runs,
      [&](int64_t k, double* img) {
        std::copy(x0.begin(), x0.end(), img);
        for (int64_t p : subsets[size_t(k)])
          for (int64_t c = 0; c < C; ++c) img[c * HW + p] = black;
      },
      false);
  for (double& d : drops) d = y0 - d;
  return Score{pearson(sums, drops), {}};
}

// Monotonicity correlation (Nguyen & Martinez 2020): the pixels from least to most relevant, `step` at
// a time; each group alone (from x, not cumulatively) set to a value drawn from U(0, 1) (one per
// sample, for every channel of the group: Quantus's "uniform" baseline), `samples` times. The
// variance it causes, mean (p(x_k) - p(x))^2 / p(x)^2, should rise with the group's relevance (its
// map sum): the value is their Spearman correlation over the groups. Higher is better.
Score monotonicity_correlation(const Input& in) {
  const Tensor& x = in.subject.x;
  const int64_t C = x.dim(1), HW = x.dim(2) * x.dim(3), step = in.settings.integer("step");
  const int64_t samples = in.settings.integer("samples"), groups = (HW + step - 1) / step;
  const std::vector<double> a = prepared(in);
  std::vector<double> negated(a.size());
  for (size_t i = 0; i < a.size(); ++i) negated[i] = -a[i];
  const std::vector<int64_t> order = importance_order(negated);  // ascending in the map: np.argsort(a)
  const std::vector<double> x0 = x.to_vector_f64();
  std::mt19937_64 rng(in.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> fill(size_t(groups * samples));
  for (double& v : fill) v = u(rng);
  const double y0 = class_scores(in.subject, x, in.target.index, true)[0];
  const double eps = in.settings.real("eps"), inv = std::fabs(y0) < eps ? 1.0 : 1.0 / (y0 * y0);
  const std::vector<double> y = copies_scores(in, groups * samples, [&](int64_t k, double* img) {
    std::copy(x0.begin(), x0.end(), img);
    const int64_t g = k / samples;
    for (int64_t q = g * step; q < std::min(HW, (g + 1) * step); ++q)
      for (int64_t c = 0; c < C; ++c) img[c * HW + order[size_t(q)]] = fill[size_t(k)];
  });
  std::vector<double> sums(size_t(groups), 0), vars(size_t(groups), 0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t q = g * step; q < std::min(HW, (g + 1) * step); ++q) sums[size_t(g)] += a[size_t(order[size_t(q)])];
    for (int64_t k = g * samples; k < (g + 1) * samples; ++k)
      vars[size_t(g)] += (y[size_t(k)] - y0) * (y[size_t(k)] - y0) * inv / double(samples);
  }
  return Score{spearman(sums, vars), {}};
}

}  // namespace

std::vector<Metric> faithfulness_metrics() {
  std::vector<Metric> m;
  // RISE's curves, as `gradtrace metrics` draws them (xai/metrics.h): 50 steps.
  m.push_back({"deletion", "faithfulness", "AUC of p(target) as the top pixels turn black", "Petsiuk et al. 2018", -1,
               false, false, [](const Input& in) {
                 FaithfulnessOptions o;
                 o.batch = in.batch;
                 const Curve c =
                     xai::deletion(in.subject.fn, in.subject.x, in.subject.pixel_fill(0), in.map, in.target.index, o);
                 return Score{c.auc, c.prob};
               }});
  m.back().pictures_only = true;  // a black picture
  m.push_back({"insertion", "faithfulness", "AUC of p(target) as the top pixels come back into a blurred image",
               "Petsiuk et al. 2018", 1, false, false, [](const Input& in) {
                 FaithfulnessOptions o;
                 o.batch = in.batch;
                 const Curve c =
                     xai::insertion(in.subject.fn, in.subject.x, in.subject.blurred(), in.map, in.target.index, o);
                 return Score{c.auc, c.prob};
               }});
  m.back().pictures_only = true;  // a blurred picture
  Metric pf{"pixel-flipping",
            "faithfulness",
            "area under p(target) as the top pixels turn black, one by one",
            "Bach et al. 2015",
            -1,
            false,
            false,
            pixel_flipping};
  pf.options = preprocessing(false, true);
  pf.options.push_back(int_option("step", 1, 1, 1 << 20, "N", "pixels (all their channels) per step"));
  m.push_back(pf);
  Metric rp{"region-perturbation",
            "faithfulness",
            "mean drop of p(target) as the top patches turn black",
            "Samek et al. 2017",
            1,
            false,
            false,
            region_perturbation};
  rp.options = preprocessing(false, true);
  rp.options.insert(rp.options.end(),
                    {int_option("patch", 8, 1, 4096, "P", "the regions' side in pixels"),
                     int_option("regions", 100, 1, 1 << 20, "R", "how many regions go black"),
                     text_option("order", "morf", "O", "morf (most relevant first) or lerf (least relevant first)",
                                 [](const std::string& v) {
                                   if (v != "morf" && v != "lerf")
                                     throw InvalidArgument("--order must be morf or lerf");
                                 })});
  rp.pictures_only = true;
  m.push_back(rp);
  Metric fc{"faithfulness-correlation",
            "faithfulness",
            "correlation of the map's sum over random pixel sets with the logit's drop when they turn black",
            "Bhatt et al. 2020",
            1,
            false,
            true,
            faithfulness_correlation,
            preprocessing(false, true)};
  fc.options.insert(fc.options.end(),
                    {int_option("runs", 100, 2, 1 << 20, "N", "random pixel sets"),
                     int_option("subset", 224, 1, 1 << 24, "K", "pixels per set (below the image's)")});
  m.push_back(fc);
  Metric mc{"monotonicity-correlation",
            "faithfulness",
            "rank correlation of a pixel group's relevance with the output variance it causes",
            "Nguyen & Martinez 2020",
            1,
            false,
            true,
            monotonicity_correlation,
            preprocessing(true, true)};
  mc.options.insert(mc.options.end(), {int_option("step", 1, 1, 1 << 20, "N", "pixels per group"),
                                       int_option("samples", 100, 1, 1 << 20, "N", "uniform fills per group"),
                                       real_option("eps", 1e-5, 0, 1, "E", "below this p(x) is taken as 1")});
  m.push_back(mc);
  m.push_back(road_metric());
  m.push_back(sufficiency_metric());
  return m;
}

}  // namespace gt::xai::quality
