#include "xai/integrated_gradients.h"

#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "xai/method.h"

namespace gt::xai {
namespace {

// Gauss-Legendre nodes and weights on [-1, 1]: the roots of P_n by Newton's method from the
// Chebyshev-like guess cos(pi (i + 3/4) / (n + 1/2)), and w_i = 2 / ((1 - x_i^2) P_n'(x_i)^2).
void gauss_legendre(int n, std::vector<double>& x, std::vector<double>& w) {
  x.assign(size_t(n), 0.0);
  w.assign(size_t(n), 0.0);
  for (int i = 0; i < n; ++i) {
    double z = std::cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
    for (int iter = 0; iter < 100; ++iter) {
      double p0 = 1, p1 = z;  // P_0, P_1; the recurrence (k+1) P_{k+1} = (2k+1) z P_k - k P_{k-1}
      for (int k = 1; k < n; ++k) {
        const double p2 = ((2 * k + 1) * z * p1 - k * p0) / (k + 1);
        p0 = p1;
        p1 = p2;
      }
      dp = n * (z * p1 - p0) / (z * z - 1);  // P_n'(z)
      const double dz = p1 / dp;
      z -= dz;
      if (std::abs(dz) < 1e-15) break;
    }
    x[size_t(n - 1 - i)] = z;  // ascending
    w[size_t(n - 1 - i)] = 2 / ((1 - z * z) * dp * dp);
  }
}

}  // namespace

std::vector<std::string> ig_methods() {
  return {"riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"};
}

Quadrature quadrature(const std::string& method, int n) {
  if (n < 1) throw Error("integrated gradients: steps must be at least 1, got " + std::to_string(n));
  Quadrature q;
  if (method == "gausslegendre") {
    gauss_legendre(n, q.alphas, q.weights);
    for (int k = 0; k < n; ++k) q.alphas[k] = 0.5 * (q.alphas[k] + 1), q.weights[k] *= 0.5;
    return q;
  }
  if (method == "riemann_trapezoid") {
    if (n < 2) throw Error("integrated gradients: riemann_trapezoid needs at least 2 steps, got " + std::to_string(n));
    for (int k = 0; k < n; ++k) {
      q.alphas.push_back(double(k) / (n - 1));
      q.weights.push_back((k == 0 || k == n - 1 ? 0.5 : 1.0) / (n - 1));
    }
    return q;
  }
  const double shift = method == "riemann_left"     ? 0.0
                       : method == "riemann_right"  ? 1.0
                       : method == "riemann_middle" ? 0.5
                                                    : -1;
  if (shift < 0) {
    std::string known;
    for (const auto& m : ig_methods()) known += (known.empty() ? "" : ", ") + m;
    throw Error("integrated gradients: unknown method '" + method + "' (known: " + known + ")");
  }
  for (int k = 0; k < n; ++k) {
    q.alphas.push_back((k + shift) / n);
    q.weights.push_back(1.0 / n);
  }
  return q;
}

IgResult integrated_gradients(const Model& model, const Tensor& x_in, const Tensor& baseline_in, const Target& t,
                              const IgOptions& o) {
  if ((x_in.ndim() != 4 && x_in.ndim() != 2) || x_in.dim(0) != 1)
    throw Error("integrated gradients: expected one image (1,C,H,W) or table row (1,F), got " + x_in.shape().str());
  if (baseline_in.shape() != x_in.shape())
    throw Error("integrated gradients: the baseline has shape " + baseline_in.shape().str() + ", the input " +
                x_in.shape().str());
  if (o.batch < 1) throw Error("integrated gradients: batch must be at least 1, got " + std::to_string(o.batch));
  const Quadrature q = quadrature(o.method, o.steps);
  // Everything below happens on o.device (the model's): the points, the gradients and their sum.
  // Nothing here requires a gradient, so these ops record nothing; input_gradient has its own tape.
  const Tensor x = x_in.detach().to(o.device), baseline = baseline_in.detach().to(o.device);
  const Tensor diff = ops::sub(x, baseline);  // x - x'
  // The path's points x' + a_k (x - x') for a batch of a_k: (n,1,1,1) broadcast against (1,C,H,W)
  // (a table row: (n,1) against (1,F)).
  const auto column = [&](const std::vector<double>& v) {
    std::vector<int64_t> dims(size_t(x.ndim()), 1);
    dims[0] = int64_t(v.size());
    return Tensor::from_vector(Shape(dims), v, x.dtype()).to(x.device());
  };
  const auto points = [&](const std::vector<double>& alpha) {
    return ops::add(baseline, ops::mul(column(alpha), diff));
  };
  Tensor acc = Tensor::zeros(x.shape(), x.dtype(), x.device());  // sum_k w_k grad F(x' + a_k (x - x'))
  for (size_t k0 = 0; k0 < q.alphas.size(); k0 += size_t(o.batch)) {
    const size_t k1 = std::min(k0 + size_t(o.batch), q.alphas.size());
    const std::vector<double> a(q.alphas.begin() + long(k0), q.alphas.begin() + long(k1));
    const std::vector<double> w(q.weights.begin() + long(k0), q.weights.begin() + long(k1));
    const Tensor g = input_gradient(model, points(a), t);
    acc = ops::add(acc, ops::sum_to(ops::mul(column(w), g), x.shape()));
    if (o.progress) o.progress(int64_t(k1), int64_t(q.alphas.size()));
  }
  IgResult r;
  // IG(x) = (x - x') (.) sum_k w_k grad F(x' + a_k (x - x'))
  const Tensor attribution = ops::mul(diff, acc);
  r.attribution = attribution.to(x_in.device());
  NoGradGuard no_grad;
  // F(x) and F(x') in one batch of two: the path's ends, a = 1 and a = 0 (one pass and one wait)
  const std::vector<double> f = row_scores(model(points({1.0, 0.0})), t);
  r.f_x = f[0], r.f_baseline = f[1];
  r.delta = ops::sum(attribution).item() - (r.f_x - r.f_baseline);
  return r;
}

// ---- registry entry ----
namespace {

// An unknown rule, or too few steps for it, is the caller's to fix.
void check_quadrature(const std::string& method, int steps) {
  try {
    quadrature(method, steps);
  } catch (const Error& e) {
    throw InvalidArgument(e.what());
  }
}

}  // namespace

Method ig_entry() {
  Method m;
  m.name = "ig";
  m.summary = "Integrated Gradients from a baseline to the input";
  m.paper = "Sundararajan et al. 2017";
  m.options = {text_option("baseline", "black", "B", kBaselineNames),
               int_option("steps", 50, 1, 100000, "N",
                          "points on the path, as Captum's n_steps. The course's TF recipe\n"
                          "with m_steps intervals is --method riemann_trapezoid --steps m_steps+1"),
               text_option("method", "gausslegendre", "M",
                           "riemann_left, riemann_right, riemann_middle, riemann_trapezoid or\ngausslegendre",
                           [](const std::string& v) { check_quadrature(v, 2); }),
               batch_option(10, "points"), seed_option("seed of the noise baseline")};
  m.target_all = true;
  m.cost = Cost::tens;
  m.progress_unit = "points";
  m.intro = [](const Options& o) {
    return fmt("integrated gradients: %.0f points (", double(o.integer("steps"))) + o.text("method") + ") from the " +
           o.text("baseline") + fmt(" baseline, in batches of %.0f", double(o.integer("batch")));
  };
  m.run = [](Subject& s, const Target& t, const Options& o, const Progress& progress) {
    const Tensor base = s.baseline(o.text("baseline"), uint64_t(o.integer("seed")));
    IgOptions io;
    io.steps = int(o.integer("steps"));
    io.method = o.text("method");
    io.batch = int(o.integer("batch"));
    io.progress = progress;
    io.device = s.model->device();
    check_quadrature(io.method, io.steps);
    const IgResult ig = integrated_gradients(s.fn, s.x, base, t, io);
    MethodResult r;
    r.attribution = ig.attribution;
    // Completeness: sum(attribution) = f(x) - f(x') up to the quadrature's error.
    const double gap = ig.f_x - ig.f_baseline, rel = std::abs(ig.delta) / std::max(std::abs(gap), 1e-12);
    r.params = fmt("%.0f steps, ", io.steps) + io.method + ", " + o.text("baseline") + " baseline";
    r.notes.push_back(completeness_note(ig.f_x, ig.f_baseline, ig.delta));
    if (rel > 0.05)
      r.notes.push_back("warning: the completeness error is above 5%: use more --steps or --method gausslegendre");
    r.facts = {{"f_x", ig.f_x}, {"f_baseline", ig.f_baseline}, {"delta", ig.delta}, {"steps", io.steps}};
    r.labels = {{"method", io.method}, {"baseline", o.text("baseline")}};
    return r;
  };
  return m;
}

}  // namespace gt::xai
