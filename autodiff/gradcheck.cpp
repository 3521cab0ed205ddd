#include "autodiff/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt {

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
  auto loss = [&] {
    const std::vector<double> v = f(x).to_vector_f64();
    double s = 0;
    for (size_t k = 0; k < v.size(); ++k) s += v[k] * r[k];
    return s;
  };
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
        if (fails++ < 3) rep << "  input " << i << " element " << k << ": numerical " << num << " analytic " << a[k] << "\n";
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

}  // namespace gt
