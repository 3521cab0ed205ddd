#include "xai/anchors.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

namespace gt::xai {
namespace {

// KL(p || q) of two Bernoulli means, and the KL-LUCB confidence bounds of an empirical mean p
// (the q furthest from p with KL(p || q) <= level), by bisection as alibi computes them.
double kl(double p, double q) {
  p = std::clamp(p, 1e-12, 1 - 1e-12), q = std::clamp(q, 1e-12, 1 - 1e-12);
  return p * std::log(p / q) + (1 - p) * std::log((1 - p) / (1 - q));
}
double kl_upper(double p, double level) {
  double lo = p, hi = std::min(1.0, p + std::sqrt(level / 2));
  for (int i = 0; i < 17; ++i) (kl(p, (lo + hi) / 2) > level ? hi : lo) = (lo + hi) / 2;
  return hi;
}
double kl_lower(double p, double level) {
  double hi = p, lo = std::max(0.0, p - std::sqrt(level / 2));
  for (int i = 0; i < 17; ++i) (kl(p, (lo + hi) / 2) > level ? lo : hi) = (lo + hi) / 2;
  return lo;
}
// The LUCB exploration rate of round t among n arms (alibi's compute_beta).
double lucb_beta(size_t n, int64_t t, double delta) {
  const double temp = std::log(405.5 * double(n) * std::pow(double(t), 1.1) / delta);
  return temp + std::log(temp);
}

// The sampling space of one row's anchors.
struct Space {
  nn::Model& m;
  const data::TableSchema& s;
  const TableRows& train;
  const std::vector<double>& x;
  int64_t cls;
  LimeSampler bins;
  size_t F = 0;
  std::vector<std::vector<int64_t>> holds;  // per feature: training rows satisfying its predicate
  std::vector<std::vector<uint8_t>> sat;    // per training row, per feature
  int64_t evaluations = 0;                  // samples the search has asked the model about

  Space(nn::Model& m, const data::TableSchema& s, const TableRows& train, const std::vector<double>& x, int64_t cls)
      : m(m), s(s), train(train), x(x), cls(cls) {
    bins = lime_sampler(train);
    F = s.features.size();
    holds.resize(F);
    for (int64_t n = 0; n < train.rows(); ++n) {
      sat.emplace_back(F, 0);
      for (size_t j = 0; j < F; ++j)
        if (key(j, train.values[size_t(n) * F + j]) == key(j, x[j])) sat.back()[j] = 1, holds[j].push_back(n);
    }
  }
  int key(size_t j, double v) const { return s.features[j].categorical ? int(v) : bins.bin(j, v); }
  double coverage(const std::vector<size_t>& a) const {
    int64_t c = 0;
    for (const auto& row : sat) c += std::all_of(a.begin(), a.end(), [&](size_t j) { return row[j] != 0; });
    return double(c) / double(sat.size());
  }
  // How many of n samples of D(z | A) the model gives class cls (not counted in evaluations).
  int64_t hits(const std::vector<size_t>& a, int n, std::mt19937_64& rng) {
    std::vector<std::vector<double>> rows(static_cast<size_t>(n));
    std::uniform_int_distribution<int64_t> any(0, train.rows() - 1);
    for (auto& r : rows) {
      const int64_t base = any(rng);
      r.assign(train.values.begin() + long(size_t(base) * F), train.values.begin() + long(size_t(base + 1) * F));
      for (size_t j : a) {
        const auto& h = holds[j];
        r[j] = train.values[size_t(h[size_t(rng() % h.size())]) * F + j];
      }
    }
    int64_t K = 1;
    const std::vector<double> p = values_outputs(m, s, rows, K);
    int64_t c = 0;
    for (int i = 0; i < n; ++i) {
      const auto row = p.begin() + long(size_t(i) * size_t(K));
      c += std::max_element(row, row + K) - row == cls;
    }
    return c;
  }
  // The precision of A on n fresh samples drawn from their own seed.
  double precision(const std::vector<size_t>& a, int n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    return double(hits(a, n, rng)) / double(n);
  }
};

struct Arm {
  std::vector<size_t> a;
  double coverage = 0;  // of the training rows, computed once
  int64_t n = 0, pos = 0;
  double mean() const { return n ? double(pos) / double(n) : 0.0; }
  // `batch` more samples of the search.
  void pull(Space& sp, int batch, std::mt19937_64& rng) {
    pos += sp.hits(a, batch, rng);
    n += batch;
    sp.evaluations += batch;
  }
};

// KL-LUCB: the indices of the `top` arms of highest precision, to tolerance epsilon.
std::vector<size_t> kl_lucb(Space& sp, std::vector<Arm>& arms, size_t top, const AnchorOptions& o,
                            std::mt19937_64& rng) {
  for (Arm& arm : arms)
    if (arm.n == 0) arm.pull(sp, o.batch, rng);
  std::vector<size_t> order(arms.size());
  std::vector<double> ub(arms.size()), lb(arms.size());
  for (int64_t t = 1;; ++t) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return arms[i].mean() > arms[j].mean(); });
    if (arms.size() <= top || t > 1000) break;
    const double beta = lucb_beta(arms.size(), t, o.delta);
    for (size_t i = 0; i < arms.size(); ++i) {
      ub[i] = kl_upper(arms[i].mean(), beta / double(arms[i].n));
      lb[i] = kl_lower(arms[i].mean(), beta / double(arms[i].n));
    }
    // the least certain of the top arms and the most promising of the rest
    size_t ut = order[top], lt = order[0];
    for (size_t i = top; i < order.size(); ++i)
      if (ub[order[i]] > ub[ut]) ut = order[i];
    for (size_t i = 0; i < top; ++i)
      if (lb[order[i]] < lb[lt]) lt = order[i];
    if (ub[ut] - lb[lt] <= o.epsilon) break;
    arms[ut].pull(sp, o.batch, rng);
    arms[lt].pull(sp, o.batch, rng);
  }
  order.resize(std::min(top, order.size()));
  return order;
}

// Samples until the arm's precision is known to be above or below the threshold (to epsilon);
// true when it clears it.
bool confirm(Space& sp, Arm& arm, const AnchorOptions& o, std::mt19937_64& rng) {
  const double beta = std::log(1.0 / (o.delta / (1 + double(o.beam - 1) * double(sp.F))));
  for (int i = 0; i < 200; ++i) {
    const double mean = arm.mean(), level = beta / double(arm.n);
    const bool above_unsure = mean >= o.threshold && kl_lower(mean, level) < o.threshold - o.epsilon;
    const bool below_unsure = mean < o.threshold && kl_upper(mean, level) >= o.threshold + o.epsilon;
    if (!above_unsure && !below_unsure) break;
    arm.pull(sp, o.batch, rng);
  }
  return arm.mean() >= o.threshold && kl_lower(arm.mean(), beta / double(arm.n)) > o.threshold - o.epsilon;
}

}  // namespace

double anchor_precision(nn::Model& m, const data::TableSchema& s, const TableRows& training,
                        const std::vector<double>& x, int64_t cls, const std::vector<size_t>& features, int n,
                        uint64_t seed) {
  return Space(m, s, training, x, cls).precision(features, n, seed);
}

Anchor anchor(nn::Model& m, const data::TableSchema& s, const TableRows& training, const std::vector<double>& x,
              int64_t cls, const AnchorOptions& o) {
  if (s.task != "classify") throw InvalidArgument("anchors explain a classifier's answer; the model is a regression");
  Space sp(m, s, training, x, cls);
  std::mt19937_64 rng(o.seed);
  const size_t max_size = o.max_size > 0 ? std::min(size_t(o.max_size), sp.F) : sp.F;
  std::vector<std::vector<size_t>> beam = {{}};
  Arm best;  // the most precise anchor seen, should none clear the threshold
  Anchor r;
  for (size_t size = 1; size <= max_size; ++size) {
    std::set<std::vector<size_t>> seen;
    std::vector<Arm> arms;
    for (const auto& a : beam)
      for (size_t j = 0; j < sp.F; ++j) {
        if (std::find(a.begin(), a.end(), j) != a.end()) continue;
        std::vector<size_t> c = a;
        c.push_back(j);
        std::vector<size_t> sorted = c;
        std::sort(sorted.begin(), sorted.end());
        if (!seen.insert(sorted).second) continue;
        const double coverage = sp.coverage(c);
        if (coverage > 0) arms.push_back({c, coverage});
      }
    if (arms.empty()) break;
    const std::vector<size_t> top = kl_lucb(sp, arms, size_t(o.beam), o, rng);
    const Arm* found = nullptr;
    for (size_t i : top) {
      if (arms[i].mean() > best.mean() || best.a.empty()) best = arms[i];
      if (confirm(sp, arms[i], o, rng) && (!found || arms[i].coverage > found->coverage)) found = &arms[i];
    }
    // the candidate's precision on fresh samples, held to its lower confidence bound
    if (found && kl_lower(sp.precision(found->a, o.verify, o.seed + size), std::log(1 / o.delta) / double(o.verify)) >=
                     o.threshold) {
      best = *found;
      r.reached = true;
      break;
    }
    beam.clear();
    for (size_t i : top) beam.push_back(arms[i].a);
  }
  r.features = best.a;
  for (size_t j : best.a) r.predicates.push_back(feature_condition(s, sp.bins, j, x[j]));
  r.precision = sp.precision(best.a, o.verify, o.seed + 1000);
  r.coverage = sp.coverage(best.a);  // (best may be the empty anchor: coverage 1)
  r.samples = sp.evaluations;
  return r;
}

}  // namespace gt::xai
