#include "xai/table_lime.h"

#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "xai/ale.h"

namespace gt::xai {
namespace {

// A value of bin b of numeric feature f: normal(mean, std) truncated to [lo, hi], by rejection.
double draw_in_bin(const LimeSampler::Feature& f, int b, std::mt19937_64& rng) {
  const double lo = f.lo[size_t(b)], hi = f.hi[size_t(b)], mean = f.mean[size_t(b)], sd = f.stdev[size_t(b)];
  if (!(hi > lo) || !(sd > 1e-9)) return std::clamp(mean, lo, hi);
  std::normal_distribution<double> normal(mean, sd);
  for (int tries = 0; tries < 1000; ++tries)
    if (const double v = normal(rng); v >= lo && v <= hi) return v;
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

}  // namespace

std::vector<double> values_outputs(nn::Model& m, const data::TableSchema& s,
                                   const std::vector<std::vector<double>>& rows, int64_t& K) {
  const int64_t W = s.width();
  const DType dtype = model_dtype(m);
  std::vector<double> f;
  NoGradGuard no_grad;
  for (size_t r0 = 0; r0 < rows.size(); r0 += 4096) {
    const size_t r1 = std::min(rows.size(), r0 + 4096);
    std::vector<double> x((r1 - r0) * size_t(W), 0.0);
    for (size_t i = r0; i < r1; ++i)
      for (size_t j = 0; j < s.features.size(); ++j) {
        const data::TableColumn& c = s.features[j];
        double* o = &x[(i - r0) * size_t(W) + size_t(c.offset)];
        const double v = rows[i][j];
        if (!c.categorical)
          o[0] = (v - c.mean) / c.scale;
        else if (v >= 0 && v < double(c.width()))
          o[int64_t(v)] = 1;  // (-1: other, all 0)
      }
    Tensor out = m(Tensor::from_vector({int64_t(r1 - r0), W}, x, dtype));
    out =
        s.task == "classify" ? ops::softmax(out) : ops::add_scalar(ops::mul_scalar(out, s.target_scale), s.target_mean);
    const std::vector<double> v = out.to_vector_f64();
    K = out.dim(1);
    f.insert(f.end(), v.begin(), v.end());
  }
  return f;
}

std::string bin_condition(const std::string& name, const std::vector<double>& cuts, int b) {
  return b == 0 ? name + " <= " + data::number_text(cuts[0])
         : size_t(b) == cuts.size()
             ? name + " > " + data::number_text(cuts.back())
             : data::number_text(cuts[size_t(b - 1)]) + " < " + name + " <= " + data::number_text(cuts[size_t(b)]);
}

std::string feature_condition(const data::TableSchema& s, const LimeSampler& bins, size_t j, double v) {
  const data::TableColumn& c = s.features[j];
  if (c.categorical) return c.name + " = " + (v >= 0 ? c.categories[size_t(v)] : std::string("other"));
  return bin_condition(c.name, bins.features[j].cuts, bins.bin(j, v));
}

int LimeSampler::bin(size_t j, double v) const {
  const auto& c = features[j].cuts;
  return int(std::lower_bound(c.begin(), c.end(), v) - c.begin());
}

LimeSampler lime_sampler(const TableRows& training) {
  const data::TableSchema& s = *training.schema;
  const auto F = s.features.size();
  const int64_t N = training.rows();
  if (N < 1) throw InvalidArgument("lime: no training rows to sample from");
  LimeSampler ls;
  for (size_t j = 0; j < F; ++j) {
    LimeSampler::Feature f;
    std::vector<double> v;
    for (int64_t n = 0; n < N; ++n) v.push_back(training.values[size_t(n) * F + j]);
    if (s.features[j].categorical) {
      f.p.assign(size_t(s.features[j].width()), 0.0);
      for (double c : v)
        if (c >= 0) f.p[size_t(c)] += 1.0 / double(N);
    } else {
      std::vector<double> sorted = v;
      std::sort(sorted.begin(), sorted.end());
      f.cuts = {percentile(sorted, 25), percentile(sorted, 50), percentile(sorted, 75)};
      std::vector<std::vector<double>> in(4);
      for (double x : v) in[size_t(std::lower_bound(f.cuts.begin(), f.cuts.end(), x) - f.cuts.begin())].push_back(x);
      for (size_t b = 0; b < 4; ++b) {
        double mean = 0, var = 0;
        for (double x : in[b]) mean += x / double(in[b].size());
        for (double x : in[b]) var += (x - mean) * (x - mean) / double(in[b].size());
        f.p.push_back(double(in[b].size()) / double(N));
        f.mean.push_back(in[b].empty() ? 0 : mean);
        f.stdev.push_back(std::sqrt(var) + 1e-11);
        f.lo.push_back(b == 0 ? sorted.front() : f.cuts[b - 1]);  // lime's bin ranges: [min, q1], (q1, q2] ...
        f.hi.push_back(b == 3 ? sorted.back() : f.cuts[b]);
      }
    }
    ls.features.push_back(f);
  }
  return ls;
}

TableLimeResult table_lime(nn::Model& m, const data::TableSchema& s, const LimeSampler& sampler,
                           const std::vector<double>& x, int64_t target, int n, uint64_t seed,
                           const std::vector<std::vector<double>>& given) {
  const size_t F = s.features.size();
  std::vector<std::vector<double>> rows = given;
  if (rows.empty()) {
    if (n < 2) throw InvalidArgument("lime: at least 2 samples");
    rows.assign(size_t(n), x);
    std::mt19937_64 rng(seed);
    for (size_t i = 1; i < rows.size(); ++i)
      for (size_t j = 0; j < F; ++j) {
        const LimeSampler::Feature& f = sampler.features[j];
        const int b = int(std::discrete_distribution<int>(f.p.begin(), f.p.end())(rng));
        rows[i][j] = s.features[j].categorical ? double(b) : draw_in_bin(f, b, rng);
      }
  }
  Coalitions zs(rows.size(), std::vector<uint8_t>(F, 1));
  for (size_t i = 1; i < rows.size(); ++i)
    for (size_t j = 0; j < F; ++j)
      zs[i][j] = s.features[j].categorical ? rows[i][j] == x[j] : sampler.bin(j, rows[i][j]) == sampler.bin(j, x[j]);
  int64_t K = 1;
  const std::vector<double> out = values_outputs(m, s, rows, K);
  std::vector<double> y;
  for (size_t i = 0; i < rows.size(); ++i) y.push_back(out[i * size_t(K) + size_t(s.task == "classify" ? target : 0)]);
  const SurrogateResult fit = lime_fit(zs, y, 0.75 * std::sqrt(double(F)), 1.0, LimeDistance::euclidean);
  TableLimeResult r;
  r.phi = fit.phi;
  r.intercept = fit.phi0;
  r.score = fit.r2;
  r.f_x = y[0];
  r.local_pred = fit.phi0;
  for (double p : fit.phi) r.local_pred += p;  // g(z = 1)
  for (size_t j = 0; j < F; ++j) r.conditions.push_back(feature_condition(s, sampler, j, x[j]));
  return r;
}

}  // namespace gt::xai
