// The SBRL search (Yang, Rudin & Seltzer 2017, sections 2-3): Metropolis-Hastings over rule lists,
// scored on bit sets (a rule's captured rows are its antecedent's rows AND the rows no earlier rule
// captured; class counts are popcounts), with the prefix bound of their Theorem 1.
#include <cmath>
#include <limits>
#include <random>

#include "autodiff/tensor.h"
#include "xai/rule_list.h"

namespace gt::xai {
namespace {

constexpr double kNone = -std::numeric_limits<double>::infinity();

int64_t popcount(uint64_t w) { return __builtin_popcountll(w); }

double log_poisson(double k, double mu) { return k * std::log(mu) - mu - std::lgamma(k + 1); }

struct Scorer {
  const SbrlProblem& p;
  const RuleListOptions& o;
  std::vector<int64_t> per_card;     // antecedents of each cardinality
  std::vector<int64_t> class_count;  // training rows of each class
  double a, Ka, rule_const;          // alpha, K alpha, log G(K alpha) - K log G(alpha)

  Scorer(const SbrlProblem& pr, const RuleListOptions& op) : p(pr), o(op) {
    for (int c : p.cardinality) {
      if (size_t(c) >= per_card.size()) per_card.resize(size_t(c) + 1, 0);
      ++per_card[size_t(c)];
    }
    for (int k = 0; k < p.classes; ++k) {
      int64_t n = 0;
      for (int64_t w = 0; w < p.words; ++w) n += popcount(p.labels[size_t(k * p.words + w)]);
      class_count.push_back(n);
    }
    a = o.alpha, Ka = p.classes * o.alpha;
    rule_const = std::lgamma(Ka) - p.classes * std::lgamma(a);
  }

  // log p(y_j): the Dirichlet-multinomial marginal of one rule's class counts.
  double marginal(const std::vector<int64_t>& n) const {
    double s = rule_const;
    int64_t total = 0;
    for (int64_t c : n) s += std::lgamma(double(c) + a), total += c;
    return s - std::lgamma(double(total) + Ka);
  }
  // The best marginal `s` rows of one class can have: all in one rule, alone.
  double pure(int64_t s) const {
    return std::lgamma(Ka) - std::lgamma(a) + std::lgamma(double(s) + a) - std::lgamma(double(s) + Ka);
  }

  // log p(d) + log p(y | d), and the bound on every list that begins with d's
  // first `prefix` rules (Theorem 1): the prior of that prefix with the likeliest length >= prefix,
  // its rules' marginals, and the rows left after it as if each class were captured alone. When
  // that bound is <= `floor` the list is rejected: the score is -inf, and the rest is not computed.
  double score(const std::vector<int>& d, size_t prefix, double floor, double* bound_out = nullptr) const {
    const size_t m = d.size();
    std::vector<uint64_t> left(size_t(p.words), ~uint64_t(0));
    if (p.rows % 64) left.back() = (uint64_t(1) << (p.rows % 64)) - 1;
    std::vector<int64_t> avail = per_card, seen(size_t(p.classes), 0), n(size_t(p.classes));
    double norm = 0;
    for (size_t c = 1; c < avail.size(); ++c)
      if (avail[c] > 0) norm += std::exp(log_poisson(double(c), o.eta));
    double prior = log_poisson(double(m), o.lambda), lik = 0;
    double bound = log_poisson(std::max(double(prefix), std::floor(o.lambda)), o.lambda);
    for (size_t j = 0; j <= m; ++j) {
      if (j == prefix) {  // the prefix is scored: can anything after it beat `floor`?
        for (int k = 0; k < p.classes; ++k) bound += pure(class_count[size_t(k)] - seen[size_t(k)]);
        if (bound_out) *bound_out = bound;
        if (bound <= floor) return kNone;
      }
      std::fill(n.begin(), n.end(), 0);
      const uint64_t* cap = j < m ? &p.captures[size_t(d[j]) * size_t(p.words)] : nullptr;
      for (int64_t w = 0; w < p.words; ++w) {
        const uint64_t c = cap ? cap[w] & left[size_t(w)] : left[size_t(w)];
        left[size_t(w)] &= ~c;
        for (int k = 0; k < p.classes; ++k) n[size_t(k)] += popcount(c & p.labels[size_t(k * p.words + w)]);
      }
      const double l = marginal(n);
      lik += l;
      if (j == m) break;  // the default rule has no prior term
      const auto c = size_t(p.cardinality[size_t(d[j])]);
      const double t = log_poisson(double(c), o.eta) - std::log(norm) - std::log(double(avail[c]));
      prior += t;
      if (j < prefix) bound += t + l;
      for (int k = 0; k < p.classes; ++k) seen[size_t(k)] += n[size_t(k)];
      if (--avail[c] == 0) norm -= std::exp(log_poisson(double(c), o.eta));
    }
    return prior + lik;
  }
};

// One chain: from a one-rule list whose prefix bound clears the empty list's posterior, `iterations`
// proposals, each accepted with probability min(1, p(d') q(d | d') / (p(d) q(d' | d))) unless its
// prefix bound cannot beat the chain's best. Returns the best list it visited.
std::vector<int> run_chain(const Scorer& s, std::mt19937_64& rng, double& best) {
  const int64_t A = s.p.antecedents();
  std::uniform_real_distribution<double> u01(0, 1);
  std::uniform_int_distribution<int64_t> any(0, A - 1);
  std::vector<int> d;
  std::vector<char> used(size_t(A), 0);
  double cur = s.score(d, 0, kNone);
  const double empty = cur;
  for (int64_t tries = 0; tries < A; ++tries) {
    const int r = int(any(rng));
    if (const double v = s.score({r}, 1, empty); v != kNone) {
      d = {r}, used[size_t(r)] = 1, cur = v;
      break;
    }
  }
  best = cur;
  std::vector<int> best_d = d;
  // The moves allowed at length m, each equally likely: add (m < A), remove (m >= 1), swap (m >= 2).
  const auto p_move = [&](int64_t m, char move) {
    const int n = (m < A) + (m >= 1) + (m >= 2);
    const bool ok = move == 'a' ? m < A : move == 'r' ? m >= 1 : m >= 2;
    return ok ? 1.0 / n : 0.0;
  };
  for (int it = 0; it < s.o.iterations; ++it) {
    const auto m = int64_t(d.size());
    const double r = u01(rng);
    const double pa = p_move(m, 'a'), pr = p_move(m, 'r');
    std::vector<int> e = d;
    size_t prefix = 0;
    double log_q = 0;  // log q(d | d') - log q(d' | d)
    int added = -1, removed = -1;
    if (r < pa) {  // add an unused antecedent at one of m + 1 places
      do added = int(any(rng));
      while (used[size_t(added)]);
      const auto at = size_t(std::uniform_int_distribution<int64_t>(0, m)(rng));
      e.insert(e.begin() + std::ptrdiff_t(at), added);
      prefix = at + 1;
      log_q = std::log(p_move(m + 1, 'r')) - std::log(pa) + std::log(double(A - m));
    } else if (r < pa + pr) {  // remove one of the m rules
      const auto at = size_t(std::uniform_int_distribution<int64_t>(0, m - 1)(rng));
      removed = e[at];
      e.erase(e.begin() + std::ptrdiff_t(at));
      prefix = at;
      log_q = std::log(p_move(m - 1, 'a')) - std::log(pr) - std::log(double(A - m + 1));
    } else {  // swap two rules
      const auto i = size_t(std::uniform_int_distribution<int64_t>(0, m - 1)(rng));
      auto j = size_t(std::uniform_int_distribution<int64_t>(0, m - 2)(rng));
      if (j >= i) ++j;
      std::swap(e[i], e[j]);
      prefix = std::max(i, j) + 1;
    }
    const double v = s.score(e, prefix, best);
    if (v == kNone || !(std::log(u01(rng)) < v - cur + log_q)) continue;
    d.swap(e), cur = v;
    if (added >= 0) used[size_t(added)] = 1;
    if (removed >= 0) used[size_t(removed)] = 0;
    if (cur > best) best = cur, best_d = d;
  }
  return best_d;
}

}  // namespace

double sbrl_log_posterior(const SbrlProblem& p, const RuleListOptions& o, const std::vector<int>& d) {
  return Scorer(p, o).score(d, 0, kNone);
}

double sbrl_prefix_bound(const SbrlProblem& p, const RuleListOptions& o, const std::vector<int>& prefix) {
  double bound = 0;
  Scorer(p, o).score(prefix, prefix.size(), kNone, &bound);
  return bound;
}

std::vector<int> sbrl_search(const SbrlProblem& p, const RuleListOptions& o, double& log_posterior) {
  const Scorer s(p, o);
  std::vector<std::vector<int>> lists(size_t(o.chains));
  std::vector<double> scores(size_t(o.chains), kNone);
  int done = 0;
  if (p.antecedents() == 0) {
    log_posterior = s.score({}, 0, kNone);
    return {};
  }
#pragma omp parallel for schedule(dynamic)
  for (int c = 0; c < o.chains; ++c) {
    // Each chain's own stream: the same lists whatever the number of threads.
    std::seed_seq seq{uint32_t(o.seed), uint32_t(o.seed >> 32), uint32_t(c), 0x5b41u};
    std::mt19937_64 rng(seq);
    lists[size_t(c)] = run_chain(s, rng, scores[size_t(c)]);
#pragma omp critical
    if (o.progress) o.progress(++done, o.chains);
  }
  size_t best = 0;
  for (size_t c = 1; c < lists.size(); ++c)
    if (scores[c] > scores[best]) best = c;
  log_posterior = scores[best];
  return lists[best];
}

}  // namespace gt::xai
