#include "autodiff/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt {
namespace {
// L = sum_k y_k r_k, accumulated in double whatever y's dtype.
double weighted_sum(const Tensor& y, const std::vector<double>& r) {
  const std::vector<double> v = y.to_vector_f64();
  double s = 0;
  for (size_t k = 0; k < v.size(); ++k) s += v[k] * r[k];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const OpFn& f, const std::vector<Tensor>& inputs_in, const GradcheckOptions& o) {
  std::vector<Tensor> x;
  for (const Tensor& t : inputs_in) x.push_back(t.to(DType::f64).clone());
  std::vector<bool> check = o.check.empty() ? std::vector<bool>(x.size(), true) : o.check;
  if (check.size() != x.size()) throw Error("gradcheck: 'check' has the wrong length");

  // Analytic gradients of L = sum(f(x) * R).
  Tape tape;
  TapeGuard guard(tape);
  std::vector<Tensor> wrt;
  for (size_t i = 0; i < x.size(); ++i)
    if (check[i]) wrt.push_back(x[i].set_requires_grad(true));
  Tensor y = f(x);
  const Tensor R = Tensor::uniform(y.shape(), -1.0, 1.0, o.seed, DType::f64);
  std::vector<Tensor> ana = tape.grad(ops::sum(ops::mul(y, R)), wrt);
  for (Tensor& t : x) t.set_requires_grad(false);

  NoGradGuard no_grad;
  const std::vector<double> r = R.to_vector_f64();
  auto loss = [&] { return weighted_sum(f(x), r); };
  const double L0 = loss();

  GradcheckResult res;
  std::ostringstream rep;
  size_t w = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!check[i]) continue;
    const std::vector<double> a = ana[w++].to_vector_f64();
    double* p = x[i].data<double>();
    double worst = 0;
    int64_t fails = 0;
    for (int64_t k = 0; k < x[i].numel(); ++k) {
      const double orig = p[k];
      p[k] = orig + o.eps;
      const double Lp = loss();
      p[k] = orig - o.eps;
      const double Lm = loss();
      p[k] = orig;
      const double num = (Lp - Lm) / (2 * o.eps);
      const double right = (Lp - L0) / o.eps, left = (L0 - Lm) / o.eps;
      if (std::abs(right - left) > 1e-3 * (1 + std::abs(num))) {
        ++res.skipped;
        continue;
      }
      ++res.checked;
      const double err = std::abs(num - a[k]);
      worst = std::max(worst, err);
      if (err > o.atol + o.rtol * std::abs(num)) {
        if (fails++ < 3)
          rep << "  input " << i << " element " << k << ": numerical " << num << " analytic " << a[k] << "\n";
        res.ok = false;
      }
    }
    res.max_abs_err = std::max(res.max_abs_err, worst);
    rep << "input " << i << " " << x[i].shape().str() << ": max |numerical - analytic| = " << worst
        << (fails ? " (" + std::to_string(fails) + " mismatches)" : "") << "\n";
  }
  rep << res.checked << " elements checked, " << res.skipped << " skipped at kinks\n";
  res.report = rep.str();
  return res;
}

std::vector<SampledCheck> gradcheck_sampled(const OpFn& f_in, const std::vector<Tensor>& inputs_in,
                                            const SampledOptions& o) {
  std::vector<Tensor> x;
  for (const Tensor& t : inputs_in) x.push_back(t.to(Device::cpu).clone());
  const OpFn f = [&](const std::vector<Tensor>& v) {  // on o.device; taped moves carry the gradient back
    std::vector<Tensor> d;
    for (const Tensor& t : v) d.push_back(ops::to_device(t, o.device));
    return f_in(d);
  };
  std::vector<Tensor> ana;
  Tensor R;
  double out_rms = 0;
  {
    Tape tape;
    TapeGuard guard(tape);
    if (o.setup) o.setup(tape);
    for (Tensor& t : x) t.set_requires_grad(true);
    const Tensor y = f(x);
    R = Tensor::uniform(y.shape(), -1.0, 1.0, o.seed, y.dtype()).to(y.device());
    for (double v : y.to_vector_f64()) out_rms += v * v;
    out_rms = std::sqrt(out_rms / double(std::max<int64_t>(1, y.numel())));
    ana = tape.grad(ops::sum(ops::mul(y, R)), x);
    for (Tensor& t : x) t.set_requires_grad(false);
  }
  NoGradGuard no_grad;
  const std::vector<double> r = R.to_vector_f64();
  auto loss = [&] { return weighted_sum(f(x), r); };
  const double L0 = loss();
  std::mt19937_64 rng(o.seed);
  std::vector<SampledCheck> out;
  for (size_t i = 0; i < x.size(); ++i) {
    SampledCheck c;
    c.shape = x[i].shape();
    const std::vector<double> a = ana[i].to_vector_f64();
    double rms = 0, amax = 0;
    for (double v : x[i].to_vector_f64()) rms += v * v;
    for (double v : a) amax = std::max(amax, std::abs(v));
    rms = std::sqrt(rms / double(std::max<int64_t>(1, x[i].numel())));
    // A tensor smaller than the output it feeds (a fresh, all-zero bias; a He-initialised kernel under
    // large activations) steps by at least 1e-3 of the output's RMS (of 0.1 at least), far above the
    // output's float32 rounding; the kink test below catches the ReLUs such a step switches.
    const double h = o.eps * std::max(rms, 1e-2 * std::max(out_rms, 0.1));
    std::vector<double> rels;
    for (int s = 0; s < o.samples; ++s) {
      const int64_t k = int64_t(rng() % uint64_t(x[i].numel()));
      const double orig = x[i].at(k);
      auto set = [&](double v) {
        if (x[i].dtype() == DType::f64)
          x[i].data<double>()[k] = v;
        else
          x[i].data<float>()[k] = float(v);
      };
      set(orig + h);
      const double Lp = loss();
      set(orig - h);
      const double Lm = loss();
      set(orig);
      const double num = (Lp - Lm) / (2 * h), right = (Lp - L0) / h, left = (L0 - Lm) / h;
      // A kink (a ReLU switching) inside [x - h, x + h] shifts the central difference by exactly
      // (right - left) / 2: skip the element where that could reach half a percent.
      if (std::abs(right - left) > 0.01 * (std::abs(num) + 1e-3 * amax)) {
        ++c.skipped;
        continue;
      }
      const double rel =
          std::abs(num - a[size_t(k)]) / std::max({std::abs(num), std::abs(a[size_t(k)]), 1e-3 * amax, 1e-30});
      c.points.push_back({k, num, a[size_t(k)], rel});
      rels.push_back(rel);
      ++c.checked;
    }
    if (!rels.empty()) {
      std::sort(rels.begin(), rels.end());
      c.max_rel = rels.back();
      c.median_rel = rels[rels.size() / 2];
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace gt
