// Scalable Bayesian Rule Lists and their FP-growth miner, against brute force: every itemset counted,
// the posterior computed row by row from its definition, every list of a small problem scored.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>

#include "xai/fpgrowth.h"
#include "xai/rule_list.h"

using namespace gt;

namespace {

// Every itemset of up to max_size items of `items` with its count, by enumeration.
std::map<std::vector<int>, int64_t> brute_itemsets(const std::vector<std::vector<int>>& tx, int items, int max_size,
                                                   int64_t min_count) {
  std::map<std::vector<int>, int64_t> out;
  for (uint32_t mask = 1; mask < (1u << items); ++mask) {
    std::vector<int> set;
    for (int i = 0; i < items; ++i)
      if (mask & (1u << i)) set.push_back(i);
    if (int(set.size()) > max_size) continue;
    int64_t n = 0;
    for (const auto& t : tx) {
      bool all = true;
      for (int i : set) all = all && std::find(t.begin(), t.end(), i) != t.end();
      n += all;
    }
    if (n >= min_count) out[set] = n;
  }
  return out;
}

// A problem with a planted list: rows carry random antecedents (captures), and the class follows the
// first planted antecedent that holds (else the default's rate).
xai::SbrlProblem planted(int64_t N, int A, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution half(0.3);
  std::uniform_real_distribution<double> u(0, 1);
  xai::SbrlProblem p;
  p.rows = N, p.words = (N + 63) / 64, p.classes = 2;
  p.captures.assign(size_t(A * p.words), 0);
  p.labels.assign(size_t(2 * p.words), 0);
  for (int a = 0; a < A; ++a) p.cardinality.push_back(1 + a % 2);
  const double rate[] = {0.95, 0.1, 0.8};  // antecedents 0, 1, 2 in that order decide; else 0.3
  for (int64_t n = 0; n < N; ++n) {
    double r = 0.3;
    bool decided = false;
    for (int a = 0; a < A; ++a) {
      if (!half(rng)) continue;
      p.captures[size_t(a * p.words + n / 64)] |= uint64_t(1) << (n % 64);
      if (a < 3 && !decided) r = rate[a], decided = true;
    }
    const int y = u(rng) < r;
    p.labels[size_t(y * p.words + n / 64)] |= uint64_t(1) << (n % 64);
  }
  return p;
}

bool bit(const std::vector<uint64_t>& v, int64_t words, int64_t set, int64_t n) {
  return (v[size_t(set * words + n / 64)] >> (n % 64)) & 1;
}

// The log posterior by its definition, row by row: the prior's three factors, then each rule's
// Dirichlet-multinomial marginal of the rows it captures first.
double direct_log_posterior(const xai::SbrlProblem& p, const xai::RuleListOptions& o, const std::vector<int>& d) {
  const auto pois = [](double k, double mu) { return std::pow(mu, k) * std::exp(-mu) / std::tgamma(k + 1); };
  double lp = std::log(pois(double(d.size()), o.lambda));
  std::vector<int> used(size_t(p.antecedents()), 0);
  for (int a : d) {
    std::map<int, int> left;  // cardinality -> unused antecedents
    for (int64_t b = 0; b < p.antecedents(); ++b)
      if (!used[size_t(b)]) ++left[p.cardinality[size_t(b)]];
    double norm = 0;
    for (auto [c, n] : left) norm += pois(c, o.eta);
    lp += std::log(pois(p.cardinality[size_t(a)], o.eta) / norm / left[p.cardinality[size_t(a)]]);
    used[size_t(a)] = 1;
  }
  std::vector<std::vector<double>> counts(d.size() + 1, std::vector<double>(size_t(p.classes), 0));
  for (int64_t n = 0; n < p.rows; ++n) {
    size_t j = 0;
    while (j < d.size() && !bit(p.captures, p.words, d[j], n)) ++j;
    for (int k = 0; k < p.classes; ++k) counts[j][size_t(k)] += bit(p.labels, p.words, k, n);
  }
  const double a = o.alpha, K = p.classes;
  for (const auto& c : counts) {
    double total = 0;
    lp += std::lgamma(K * a) - K * std::lgamma(a);
    for (double v : c) lp += std::lgamma(v + a), total += v;
    lp -= std::lgamma(total + K * a);
  }
  return lp;
}

}  // namespace

TEST_CASE("FP-growth finds every frequent itemset and its count, as enumeration does") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const int items = 8;
    std::vector<std::vector<int>> tx(size_t(50 + trial * 13));
    std::bernoulli_distribution b(0.15 + 0.03 * (trial % 10));
    for (auto& t : tx)
      for (int i = 0; i < items; ++i)
        if (b(rng)) t.push_back(i);
    for (int max_size : {1, 2, 3}) {
      const int64_t min_count = 1 + trial % 7;
      INFO("trial " << trial << " max_size " << max_size);
      const auto want = brute_itemsets(tx, items, max_size, min_count);
      const auto got = xai::frequent_itemsets(tx, min_count, max_size);
      REQUIRE(got.size() == want.size());
      for (const auto& s : got) {
        REQUIRE(want.count(s.items));
        CHECK(want.at(s.items) == s.count);
      }
    }
  }
}

TEST_CASE("SBRL's posterior is its definition, computed row by row") {
  const xai::SbrlProblem p = planted(1000, 7, 3);
  xai::RuleListOptions o;
  o.lambda = 3, o.eta = 1.5, o.alpha = 1;
  for (const std::vector<int>& d : std::vector<std::vector<int>>{{}, {0}, {2, 0}, {0, 1, 2}, {6, 5, 4, 3, 2, 1, 0}}) {
    const double want = direct_log_posterior(p, o, d);
    CHECK(xai::sbrl_log_posterior(p, o, d) == Approx(want).epsilon(1e-12));
  }
  o.alpha = 0.5;
  CHECK(xai::sbrl_log_posterior(p, o, {1, 2}) == Approx(direct_log_posterior(p, o, {1, 2})).epsilon(1e-12));
}

TEST_CASE("SBRL's search reaches the maximum a posteriori list of every list, seeded, and its prefix bound holds") {
  const xai::SbrlProblem p = planted(2000, 5, 11);
  xai::RuleListOptions o;
  o.lambda = 3, o.eta = 1, o.chains = 4, o.iterations = 3000;
  // Every ordered list of distinct antecedents: 326 for 5.
  double best = -1e300;
  std::vector<int> best_d;
  std::function<void(std::vector<int>&)> all = [&](std::vector<int>& d) {
    const double v = xai::sbrl_log_posterior(p, o, d);
    if (v > best) best = v, best_d = d;
    for (int a = 0; a < 5; ++a)
      if (std::find(d.begin(), d.end(), a) == d.end()) {
        d.push_back(a);
        all(d);
        d.pop_back();
      }
  };
  std::vector<int> d;
  all(d);
  // The prefix bound holds for every list and each of its prefixes.
  std::function<void(std::vector<int>&)> bounds = [&](std::vector<int>& e) {
    const double v = xai::sbrl_log_posterior(p, o, e);
    for (size_t n = 0; n <= e.size(); ++n)
      REQUIRE(xai::sbrl_prefix_bound(p, o, std::vector<int>(e.begin(), e.begin() + std::ptrdiff_t(n))) >= v - 1e-9);
    for (int a = 0; a < 5; ++a)
      if (std::find(e.begin(), e.end(), a) == e.end()) {
        e.push_back(a);
        bounds(e);
        e.pop_back();
      }
  };
  bounds(d);
  // The planted order decides first: antecedents 0, 1, 2 lead the MAP list.
  REQUIRE(best_d.size() >= 3);
  CHECK(std::vector<int>(best_d.begin(), best_d.begin() + 3) == std::vector<int>{0, 1, 2});
  double got = 0;
  const std::vector<int> found = xai::sbrl_search(p, o, got);
  CHECK(found == best_d);
  CHECK(got == Approx(best).epsilon(1e-12));
  double again = 0;
  CHECK(xai::sbrl_search(p, o, again) == found);  // same seed, same list
}
