#include "xai/surrogate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>

#include "xai/method.h"

namespace gt::xai {
namespace {

void check(const Tensor& x, const Tensor& baseline, const Segments& seg, const char* who) {
  if (x.ndim() != 4 || x.dim(0) != 1)
    throw Error(std::string(who) + ": expected one image (1,C,H,W), got " + x.shape().str());
  if (baseline.shape() != x.shape())
    throw Error(std::string(who) + ": the baseline has shape " + baseline.shape().str() + ", the input " +
                x.shape().str());
  if (seg.height != x.dim(2) || seg.width != x.dim(3) || seg.count < 1)
    throw Error(std::string(who) + ": the segments are " + std::to_string(seg.height) + "x" +
                std::to_string(seg.width) + ", the input " + x.shape().str());
}

// f(h_x(z)) for every row z, in batches of o.batch images.
std::vector<double> scores(const Model& model, const Tensor& x, const Tensor& baseline, const Segments& seg,
                           const Target& t, const Coalitions& zs, const SurrogateOptions& o) {
  const int64_t C = x.dim(1), HW = x.dim(2) * x.dim(3), total = int64_t(zs.size());
  const std::vector<double> xv = x.to_vector_f64(), bv = baseline.to_vector_f64();
  std::vector<double> out;
  score_copies(
      model, x, total, o.batch,
      [&](int64_t i, double* img) {
        const std::vector<uint8_t>& z = zs[size_t(i)];
        for (int64_t c = 0; c < C; ++c)
          for (int64_t p = 0; p < HW; ++p) {
            const size_t k = size_t(c * HW + p);
            img[k] = z[size_t(seg.label[size_t(p)])] ? xv[k] : bv[k];
          }
      },
      [&](int64_t, const Tensor& logits) {
        const std::vector<double> s = row_scores(logits, t);
        out.insert(out.end(), s.begin(), s.end());
        if (o.progress) o.progress(int64_t(out.size()), total);
      });
  return out;
}

// argmin_b sum_i w_i (y_i - X_i b)^2 + sum_j penalty_j b_j^2: the normal equations
// (X^T W X + diag(penalty)) b = X^T W y, solved by Cholesky in double. row(i, xi) writes the d values
// of X's row i (X itself is never stored: samples x superpixels doubles could be gigabytes).
std::vector<double> least_squares(int64_t d, const std::vector<double>& y, const std::vector<double>& w,
                                  const std::vector<double>& penalty, const std::function<void(size_t, double*)>& row) {
  const int64_t n = int64_t(y.size());
  std::vector<double> A(size_t(d * d), 0.0), b(size_t(d), 0.0), xi(static_cast<size_t>(d));
  for (int64_t i = 0; i < n; ++i) {
    row(size_t(i), xi.data());
    for (int64_t r = 0; r < d; ++r) {
      if (xi[r] == 0) continue;  // coalition features are mostly 0 / 1
      const double wr = w[size_t(i)] * xi[r];
      b[size_t(r)] += wr * y[size_t(i)];
      for (int64_t c = 0; c <= r; ++c) A[size_t(r * d + c)] += wr * xi[c];
    }
  }
  for (int64_t r = 0; r < d; ++r) A[size_t(r * d + r)] += penalty[size_t(r)];
  // A = L L^T (lower triangle in place), then L u = b, L^T beta = u.
  for (int64_t j = 0; j < d; ++j) {
    double s = A[size_t(j * d + j)];
    for (int64_t k = 0; k < j; ++k) s -= A[size_t(j * d + k)] * A[size_t(j * d + k)];
    if (!(s > 1e-10 * A[size_t(j * d + j)]))  // relative to the diagonal: no scale is assumed
      throw Error("the surrogate's least squares are singular: " + std::to_string(n) + " samples do not tell " +
                  std::to_string(d) + " coefficients apart; take more --samples or fewer --segments");
    A[size_t(j * d + j)] = std::sqrt(s);
    for (int64_t i = j + 1; i < d; ++i) {
      double v = A[size_t(i * d + j)];
      for (int64_t k = 0; k < j; ++k) v -= A[size_t(i * d + k)] * A[size_t(j * d + k)];
      A[size_t(i * d + j)] = v / A[size_t(j * d + j)];
    }
  }
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t k = 0; k < i; ++k) b[size_t(i)] -= A[size_t(i * d + k)] * b[size_t(k)];
    b[size_t(i)] /= A[size_t(i * d + i)];
  }
  for (int64_t i = d - 1; i >= 0; --i) {
    for (int64_t k = i + 1; k < d; ++k) b[size_t(i)] -= A[size_t(k * d + i)] * b[size_t(k)];
    b[size_t(i)] /= A[size_t(i * d + i)];
  }
  return b;
}

// 1 - sum w (y - g)^2 / sum w (y - mean_w y)^2, g(z) = phi0 + phi . z, over rows i >= first
// (row i has weight w[i - first]).
double weighted_r2(const Coalitions& zs, const std::vector<double>& y, const std::vector<double>& w, double phi0,
                   const std::vector<double>& phi, size_t first = 0) {
  const double wsum = std::accumulate(w.begin(), w.end(), 0.0);
  double mean = 0;
  for (size_t i = first; i < y.size(); ++i) mean += w[i - first] * y[i] / wsum;
  double res = 0, tot = 0;
  for (size_t i = first; i < y.size(); ++i) {
    double g = phi0;
    for (size_t s = 0; s < phi.size(); ++s) g += zs[i][s] ? phi[s] : 0.0;
    res += w[i - first] * (y[i] - g) * (y[i] - g), tot += w[i - first] * (y[i] - mean) * (y[i] - mean);
  }
  return tot > 0 ? 1 - res / tot : 1.0;
}

Tensor paint(const Tensor& x, const Segments& seg, const std::vector<double>& phi) {
  const int64_t C = x.dim(1), HW = x.dim(2) * x.dim(3);
  std::vector<double> a(size_t(C * HW));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t p = 0; p < HW; ++p) a[size_t(c * HW + p)] = phi[size_t(seg.label[size_t(p)])];
  return Tensor::from_vector(x.shape(), a, x.dtype());
}

}  // namespace

SurrogateResult lime_fit(const Coalitions& zs, const std::vector<double>& y, double kernel_width, double ridge,
                         LimeDistance distance) {
  const size_t S = zs.empty() ? 0 : zs[0].size();
  // Rows [1, z]; pi(z) = sqrt(exp(-d^2 / w^2)), d = 1 - cos(z, 1) = 1 - sqrt(|z| / S) (lime_image), or
  // the Euclidean |z - 1| = sqrt(S - |z|) (lime_tabular, whose discretised rows are these z).
  std::vector<double> w(zs.size());
  for (size_t i = 0; i < zs.size(); ++i) {
    const auto ones = double(std::count(zs[i].begin(), zs[i].end(), 1));
    const double d = distance == LimeDistance::cosine ? 1 - std::sqrt(ones / double(S)) : std::sqrt(double(S) - ones);
    w[i] = std::sqrt(std::exp(-d * d / (kernel_width * kernel_width)));
  }
  std::vector<double> penalty(S + 1, ridge);
  penalty[0] = 0;
  const std::vector<double> beta = least_squares(int64_t(S + 1), y, w, penalty, [&](size_t i, double* xi) {
    xi[0] = 1;
    std::copy(zs[i].begin(), zs[i].end(), xi + 1);
  });
  SurrogateResult r;
  r.phi0 = beta[0];
  r.phi.assign(beta.begin() + 1, beta.end());
  r.r2 = weighted_r2(zs, y, w, r.phi0, r.phi);
  return r;
}

SurrogateResult lime(const Model& model, const Tensor& x, const Tensor& baseline, const Segments& seg, const Target& t,
                     const SurrogateOptions& o) {
  check(x, baseline, seg, "lime");
  if (o.samples < 2 || o.batch < 1 || !(o.kernel_width > 0) || !(o.ridge >= 0))
    throw Error("lime: samples must be >= 2, batch >= 1, the kernel width > 0 and the ridge >= 0");
  std::mt19937_64 rng(o.seed);
  Coalitions zs(size_t(o.samples), std::vector<uint8_t>(size_t(seg.count), 1));  // zs[0]: the image itself
  for (size_t i = 1; i < zs.size(); ++i)
    for (auto& v : zs[i]) v = uint8_t(rng() >> 63);
  zs.emplace_back(size_t(seg.count), 0);  // f(baseline), reported, not fit
  std::vector<double> y = scores(model, x, baseline, seg, t, zs, o);
  zs.pop_back();
  const double f_baseline = y.back();
  y.pop_back();
  SurrogateResult r = lime_fit(zs, y, o.kernel_width, o.ridge);
  r.f_x = y[0], r.f_baseline = f_baseline;
  r.evaluations = int64_t(zs.size()) + 1;
  r.attribution = paint(x, seg, r.phi);
  return r;
}

SurrogateResult kernel_shap(const Model& model, const Tensor& x, const Tensor& baseline, const Segments& seg,
                            const Target& t, const SurrogateOptions& o) {
  check(x, baseline, seg, "kernelshap");
  if (o.batch < 1) throw Error("kernelshap: batch must be >= 1");
  SurrogateResult r = kernel_shap_game(
      seg.count, [&](const Coalitions& zs) { return scores(model, x, baseline, seg, t, zs, o); }, o);
  r.attribution = paint(x, seg, r.phi);
  return r;
}

SurrogateResult kernel_shap_game(int64_t S, const std::function<std::vector<double>(const Coalitions&)>& value,
                                 const SurrogateOptions& o) {
  if (o.samples < 1) throw Error("kernelshap: samples must be >= 1");
  Coalitions zs{std::vector<uint8_t>(size_t(S), 1), std::vector<uint8_t>(size_t(S), 0)};
  std::vector<double> w;  // of the rows after the two ends
  SurrogateResult r;
  r.exact = S < 31 && (int64_t(1) << S) - 2 <= o.samples;
  if (r.exact) {  // every proper, non-empty coalition, with its weight pi(z)
    for (int64_t mask = 1; mask < (int64_t(1) << S) - 1; ++mask) {
      std::vector<uint8_t> z(static_cast<size_t>(S));
      for (int64_t s = 0; s < S; ++s) z[size_t(s)] = uint8_t(mask >> s & 1);
      const int64_t k = __builtin_popcountll(uint64_t(mask));
      zs.push_back(z);
      w.push_back(double(S - 1) / (std::exp(std::lgamma(S + 1.0) - std::lgamma(k + 1.0) - std::lgamma(S - k + 1.0)) *
                                   double(k) * double(S - k)));
    }
  } else if (S > 1) {  // sizes k ~ 1 / (k (S - k)), then k segments at random; z and its complement
    std::vector<double> size_weight;
    for (int64_t k = 1; k < S; ++k) size_weight.push_back(1.0 / (double(k) * double(S - k)));
    std::discrete_distribution<int64_t> size(size_weight.begin(), size_weight.end());
    std::mt19937_64 rng(o.seed);
    std::vector<int64_t> order(static_cast<size_t>(S));
    while (int64_t(zs.size()) - 2 < o.samples) {
      const int64_t k = size(rng) + 1;
      std::iota(order.begin(), order.end(), 0);
      std::vector<uint8_t> z(size_t(S), 0);
      for (int64_t i = 0; i < k; ++i) {  // a partial Fisher-Yates shuffle picks k of the S
        std::swap(order[size_t(i)], order[size_t(i + int64_t(rng() % uint64_t(S - i)))]);
        z[size_t(order[size_t(i)])] = 1;
      }
      zs.push_back(z);
      if (int64_t(zs.size()) - 2 < o.samples) {
        for (auto& v : z) v ^= 1;
        zs.push_back(z);
      }
    }
    w.assign(zs.size() - 2, 1.0);
  }
  const std::vector<double> y = value(zs);
  r.f_x = y[0], r.f_baseline = y[1], r.phi0 = y[1];
  r.evaluations = int64_t(zs.size());
  const double gap = r.f_x - r.f_baseline;
  if (S == 1) {
    r.phi = {gap};
    r.exact = true;
  } else {
    // sum phi = gap: phi_last = gap - sum_{s < last} phi_s, so for s < last
    //   y - f(baseline) - z_last gap = sum_s phi_s (z_s - z_last).
    const int64_t d = S - 1, n = int64_t(zs.size()) - 2;
    std::vector<double> yy(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      yy[size_t(i)] = y[size_t(i + 2)] - r.f_baseline - zs[size_t(i + 2)][size_t(d)] * gap;
    r.phi = least_squares(d, yy, w, std::vector<double>(size_t(d), 0.0), [&](size_t i, double* xi) {
      const std::vector<uint8_t>& z = zs[i + 2];
      for (int64_t s = 0; s < d; ++s) xi[s] = double(z[size_t(s)]) - double(z[size_t(d)]);
    });
    r.phi.push_back(gap - std::accumulate(r.phi.begin(), r.phi.end(), 0.0));
  }
  // R^2 over the fitted coalitions (the two ends hold exactly, by construction).
  r.r2 = S == 1 ? 1.0 : weighted_r2(zs, y, w, r.phi0, r.phi, 2);
  return r;
}

Tensor segment_means(const Tensor& x, const Segments& seg) {
  const int64_t C = x.dim(1), HW = x.dim(2) * x.dim(3);
  const std::vector<double> xv = x.to_vector_f64();
  std::vector<double> sum(size_t(C * seg.count), 0.0), count(size_t(seg.count), 0.0), out(xv.size());
  for (int64_t p = 0; p < HW; ++p) {
    const int32_t s = seg.label[size_t(p)];
    count[size_t(s)] += 1;
    for (int64_t c = 0; c < C; ++c) sum[size_t(c * seg.count + s)] += xv[size_t(c * HW + p)];
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t p = 0; p < HW; ++p) {
      const int32_t s = seg.label[size_t(p)];
      out[size_t(c * HW + p)] = sum[size_t(c * seg.count + s)] / count[size_t(s)];
    }
  return Tensor::from_vector(x.shape(), out, x.dtype());
}

// ---- registry entries ----
namespace {

// --fill: mean, blur, or a pixel value 0..255.
void check_hide(const std::string& v) {
  if (v == "mean" || v == "blur") return;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(d >= 0 && d <= 255))
    throw InvalidArgument("--fill must be mean, blur or a pixel value in [0, 255], got '" + v + "'");
}

// The superpixels of the subject's picture; a tensor input (.h5) is scaled to [0, 255] first.
Segments superpixels(const Subject& s, int64_t segments, double compactness) {
  const Tensor& img = s.pixels.defined() ? s.pixels : s.x;
  int64_t C = img.dim(1);
  const int64_t H = img.dim(2), W = img.dim(3);
  std::vector<float> v = img.to_vector();
  if (!s.pixels.defined()) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const float a = *lo, range = std::max(*hi - *lo, 1e-12f);
    for (float& e : v) e = 255 * (e - a) / range;
  }
  if (C != 1 && C != 3) {  // grey: the mean over channels
    std::vector<float> grey(size_t(H * W), 0.0f);
    for (int64_t k = 0; k < C; ++k)
      for (int64_t p = 0; p < H * W; ++p) grey[size_t(p)] += v[size_t(k * H * W + p)] / float(C);
    v = std::move(grey), C = 1;
  }
  return slic(v, C, H, W, segments, compactness);
}

// What a hidden superpixel shows, in model-input space.
Tensor hidden_fill(const Subject& s, const std::string& hide, const Segments& seg) {
  if (hide == "mean") return segment_means(s.x, seg);
  if (hide == "blur") return s.blurred();
  return s.pixel_fill(std::stod(hide));
}

MethodResult run_surrogate(Subject& s, const Target& t, const Options& o, const Progress& progress, bool is_lime) {
  const int64_t asked = o.integer("segments");
  const double compactness = o.real("compactness");
  const Segments seg = superpixels(s, asked, compactness);
  const Tensor fill = hidden_fill(s, o.text("fill"), seg);
  SurrogateOptions so;
  so.samples = int(o.integer("samples"));
  so.batch = int(o.integer("batch"));
  so.seed = uint64_t(o.integer("seed"));
  so.progress = progress;
  if (is_lime) so.kernel_width = o.real("kernel-width"), so.ridge = o.real("ridge");
  const SurrogateResult f = is_lime ? lime(s.fn, s.x, fill, seg, t, so) : kernel_shap(s.fn, s.x, fill, seg, t, so);
  MethodResult r;
  r.attribution = f.attribution;
  for (int32_t l : seg.label) r.map.push_back(float(f.phi[size_t(l)]));
  r.segments = seg.label;
  std::vector<double> labels(seg.label.begin(), seg.label.end());
  r.datasets = {{"segments", Tensor::from_vector({seg.height, seg.width}, labels, DType::f32)},
                {"phi", Tensor::from_vector({seg.count}, f.phi)}};
  r.params = fmt("%.0f superpixels (SLIC, compactness %g), %.0f images, fill ", double(seg.count), compactness,
                 double(f.evaluations)) +
             o.text("fill");
  if (is_lime) r.params += fmt(", kernel width %g, ridge %g", so.kernel_width, so.ridge);
  r.notes.push_back(
      fmt("%.0f superpixels (%.0f asked for); %.0f images", double(seg.count), double(asked), double(f.evaluations)) +
      (f.exact ? " (every coalition: the exact Shapley values)" : ""));
  const double sum = std::accumulate(f.phi.begin(), f.phi.end(), 0.0);
  r.notes.push_back(fmt("f(x) = %.6g, f(all hidden) = %.6g, sum(phi) = %.6g, ", f.f_x, f.f_baseline, sum) +
                    fmt(is_lime ? "intercept %.6g" : "phi_0 = f(all hidden) = %.6g", f.phi0));
  r.notes.push_back(
      fmt("the linear surrogate's fit: weighted R^2 = %.3f", f.r2) +
      (f.r2 < 0.5 ? " (low: the score is far from additive in the superpixels; read the map with care)" : ""));
  r.facts = {{"f_x", f.f_x}, {"f_baseline", f.f_baseline},    {"phi0", f.phi0},
             {"r2", f.r2},   {"segments", double(seg.count)}, {"evaluations", double(f.evaluations)}};
  return r;
}

// The options LIME and KernelSHAP share; `samples` differs in its help and lower bound. At most 1000
// superpixels: the fit solves an S x S system.
std::vector<OptionSpec> surrogate_options(OptionSpec samples, const std::string& fill_help,
                                          const std::string& seed_help) {
  return {int_option("segments", 50, 1, 1000, "N", "superpixels wanted (SLIC; 1 to 1000)"),
          real_option("compactness", 10, 1e-3, 1e4, "M",
                      "SLIC's weight of distance against colour: larger, squarer superpixels"),
          std::move(samples),
          text_option("fill", "mean", "F", fill_help, check_hide),
          batch_option(16, "images"),
          seed_option(seed_help)};
}

Method surrogate_entry(const std::string& name, bool is_lime) {
  Method m;
  m.name = name;
  m.signed_map = true;
  m.gradient_free = true;
  m.cost = Cost::hundreds;
  m.progress_unit = "images";
  m.run = [is_lime](Subject& s, const Target& t, const Options& o, const Progress& progress) {
    return run_surrogate(s, t, o, progress, is_lime);
  };
  return m;
}

}  // namespace

Method lime_entry() {
  Method m = surrogate_entry("lime", true);
  m.summary = "a linear model of the score on copies of the image with superpixels hidden";
  m.paper = "Ribeiro et al. 2016";
  m.options = surrogate_options(
      int_option("samples", 1000, 2, 100000, "N", "images with random superpixels hidden, the first with none"),
      "what a hidden superpixel shows: mean (its own mean colour, as lime_image does),\n"
      "blur (the image blurred, sigma 10 px) or a pixel value 0..255",
      "seed of the random samples");
  m.options.push_back(real_option("kernel-width", 0.25, 1e-6, 1e6, "W",
                                  "weight exp(-d^2 / 2 W^2) of a sample at cosine distance d from the image"));
  m.options.push_back(real_option("ridge", 1, 0, 1e12, "L", "ridge penalty on the coefficients (lime_image's)"));
  return m;
}

Method kernelshap_entry() {
  Method m = surrogate_entry("kernelshap", false);
  m.summary = "Shapley values of superpixels, by KernelSHAP's weighted regression";
  m.paper = "Lundberg & Lee 2017";
  m.options =
      surrogate_options(int_option("samples", 1000, 1, 100000, "N",
                                   "coalitions (images with some superpixels hidden), besides the image and the\n"
                                   "all-hidden one. When 2^S - 2 <= N for S superpixels, every coalition is taken,\n"
                                   "and the values are the exact Shapley values"),
                        "what a hidden superpixel shows: mean (its own mean colour), blur (the image\n"
                        "blurred, sigma 10 px) or a pixel value 0..255",
                        "seed of the sampled coalitions");
  return m;
}

}  // namespace gt::xai
