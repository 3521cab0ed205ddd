#include "xai/anchors.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <tuple>

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

}  // namespace

std::vector<AnchorPredicate> anchor_predicates(const data::TableSchema& s, const LimeSampler& bins,
                                               const std::vector<double>& x) {
  std::vector<AnchorPredicate> out;
  for (size_t j = 0; j < s.features.size(); ++j) {
    const data::TableColumn& c = s.features[j];
    if (c.categorical) {
      const int v = int(x[j]);
      out.push_back({j, v, v, c.name + " = " + (v >= 0 ? c.categories[size_t(v)] : std::string("other"))});
      continue;
    }
    const auto& q = bins.features[j].cuts;
    const int b = bins.bin(j, x[j]), last = int(q.size());
    for (int k = 0; k < last; ++k) {
      if (k > 0 && q[size_t(k)] == q[size_t(k - 1)]) continue;  // equal quartiles: the same half-line
      out.push_back(b <= k ? AnchorPredicate{j, 0, k, c.name + " <= " + data::number_text(q[size_t(k)])}
                           : AnchorPredicate{j, k + 1, last, c.name + " > " + data::number_text(q[size_t(k)])});
    }
  }
  return out;
}

namespace {

// The sampling space of one row's anchors.
struct Space {
  nn::Model& m;
  const data::TableSchema& s;
  const TableRows& train;
  const std::vector<double>& x;
  int64_t cls;
  LimeSampler bins;
  size_t F = 0;
  std::vector<AnchorPredicate> preds;
  std::vector<std::vector<uint8_t>> sat;                      // per training row, per predicate
  std::map<std::vector<size_t>, std::vector<int64_t>> holds;  // an anchor's training rows (its ids, sorted)
  int64_t evaluations = 0;                                    // samples the search has asked the model about

  Space(nn::Model& m, const data::TableSchema& s, const TableRows& train, const std::vector<double>& x, int64_t cls)
      : m(m), s(s), train(train), x(x), cls(cls) {
    bins = lime_sampler(train);
    F = s.features.size();
    preds = anchor_predicates(s, bins, x);
    for (int64_t n = 0; n < train.rows(); ++n) {
      sat.emplace_back(preds.size(), 0);
      for (size_t i = 0; i < preds.size(); ++i) sat.back()[i] = in(preds[i].feature, preds[i].lo, preds[i].hi, n);
    }
  }
  // Is training row n's value of feature j in bins (or category) lo..hi?
  bool in(size_t j, int lo, int hi, int64_t n) const {
    const double v = train.values[size_t(n) * F + j];
    const int k = s.features[j].categorical ? int(v) : bins.bin(j, v);
    return k >= lo && k <= hi;
  }
  double coverage(const std::vector<size_t>& a) const {
    int64_t c = 0;
    for (const auto& row : sat) c += std::all_of(a.begin(), a.end(), [&](size_t i) { return row[i] != 0; });
    return double(c) / double(sat.size());
  }
  // How many of n samples of D(z | A) the model gives class cls (not counted in evaluations).
  int64_t hits(const std::vector<size_t>& a, int n, std::mt19937_64& rng) {
    std::vector<size_t> key = a, feats;
    std::sort(key.begin(), key.end());
    for (size_t i : a) feats.push_back(preds[i].feature);
    std::sort(feats.begin(), feats.end());
    feats.erase(std::unique(feats.begin(), feats.end()), feats.end());
    auto [it, fresh] = holds.try_emplace(key);
    if (fresh)
      for (int64_t k = 0; k < train.rows(); ++k)
        if (std::all_of(a.begin(), a.end(), [&](size_t i) { return sat[size_t(k)][i] != 0; })) it->second.push_back(k);
    const std::vector<int64_t>& h = it->second;
    std::vector<std::vector<double>> rows(static_cast<size_t>(n));
    std::uniform_int_distribution<int64_t> any(0, train.rows() - 1);
    for (auto& r : rows) {
      const int64_t base = any(rng);
      r.assign(train.values.begin() + long(size_t(base) * F), train.values.begin() + long(size_t(base + 1) * F));
      if (h.empty()) continue;
      const int64_t from = h[size_t(rng() % h.size())];
      for (size_t j : feats) r[j] = train.values[size_t(from) * F + j];
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

// Samples until the arm's precision is known to be above or below the threshold (to epsilon_stop);
// true when it clears it.
bool confirm(Space& sp, Arm& arm, const AnchorOptions& o, std::mt19937_64& rng) {
  const double beta = std::log(1.0 / (o.delta / (1 + double(o.beam - 1) * double(sp.preds.size()))));
  for (int i = 0; i < 200; ++i) {
    const double mean = arm.mean(), level = beta / double(arm.n);
    const bool above_unsure = mean >= o.threshold && kl_lower(mean, level) < o.threshold - o.epsilon_stop;
    const bool below_unsure = mean < o.threshold && kl_upper(mean, level) >= o.threshold + o.epsilon_stop;
    if (!above_unsure && !below_unsure) break;
    arm.pull(sp, o.batch, rng);
  }
  return arm.mean() >= o.threshold && kl_lower(arm.mean(), beta / double(arm.n)) > o.threshold - o.epsilon_stop;
}

}  // namespace

double anchor_precision(nn::Model& m, const data::TableSchema& s, const TableRows& training,
                        const std::vector<double>& x, int64_t cls, const std::vector<size_t>& ids, int n,
                        uint64_t seed) {
  return Space(m, s, training, x, cls).precision(ids, n, seed);
}

Anchor anchor(nn::Model& m, const data::TableSchema& s, const TableRows& training, const std::vector<double>& x,
              int64_t cls, const AnchorOptions& o) {
  if (s.task != "classify") throw InvalidArgument("anchors explain a classifier's answer; the model is a regression");
  Space sp(m, s, training, x, cls);
  std::mt19937_64 rng(o.seed);
  const size_t P = sp.preds.size(), max_size = o.max_size > 0 ? std::min(size_t(o.max_size), P) : P;
  std::vector<std::vector<size_t>> beam = {{}};
  Arm best;  // the anchor found (the most precise one seen, should none clear the threshold)
  Anchor r;
  // As alibi: after an anchor is found the search goes on, among the candidates that would cover more.
  double best_coverage = -1;
  for (size_t size = 1; size <= max_size && best_coverage < 1; ++size) {
    std::set<std::vector<size_t>> seen;
    std::vector<Arm> arms;
    for (const auto& a : beam)
      for (size_t j = 0; j < P; ++j) {
        if (std::find(a.begin(), a.end(), j) != a.end()) continue;
        std::vector<size_t> c = a;
        c.push_back(j);
        std::vector<size_t> sorted = c;
        std::sort(sorted.begin(), sorted.end());
        if (!seen.insert(sorted).second) continue;
        const double coverage = sp.coverage(c);
        if (coverage > 0 && coverage > best_coverage) arms.push_back({c, coverage});
      }
    if (arms.empty()) break;
    std::vector<size_t> top = kl_lucb(sp, arms, size_t(o.beam), o, rng);
    std::stable_sort(top.begin(), top.end(), [&](size_t i, size_t j) { return arms[i].coverage > arms[j].coverage; });
    for (size_t i : top) {
      if (!r.reached && (arms[i].mean() > best.mean() || best.a.empty())) best = arms[i];
      // A confirmed candidate that covers more must also hold on fresh samples, to its lower bound.
      if (arms[i].coverage > best_coverage && confirm(sp, arms[i], o, rng) &&
          kl_lower(sp.precision(arms[i].a, o.verify, o.seed + size), std::log(1 / o.delta) / double(o.verify)) >=
              o.threshold) {
        best = arms[i], best_coverage = arms[i].coverage, r.reached = true;
      }
    }
    beam.clear();
    for (size_t i : top) beam.push_back(arms[i].a);
  }
  r.ids = best.a;
  for (size_t i : best.a) r.predicates.push_back(sp.preds[i].text), r.features.push_back(sp.preds[i].feature);
  r.precision = sp.precision(best.a, o.verify, o.seed + 1000);
  r.coverage = sp.coverage(best.a);  // (best may be the empty anchor: coverage 1)
  r.samples = sp.evaluations;
  return r;
}

}  // namespace gt::xai
