// Scalable Bayesian Rule Lists (Yang, Rudin & Seltzer 2017): a decision list
//   IF a_1 THEN y ~ Cat(theta_1) ELSE IF a_2 THEN ... ELSE y ~ Cat(theta_0)
// whose antecedents a_j are conjunctions of items of the discretised data ("sex = Male",
// "28 < age <= 37"), mined beforehand as frequent itemsets (FP-growth, xai/fpgrowth.h).
//   prior       the list's length m ~ Poisson(lambda); each antecedent's cardinality c_j ~
//               Poisson(eta) truncated to the cardinalities with antecedents left unused, and the
//               antecedent uniform among the unused ones of that cardinality
//   likelihood  theta_j ~ Dirichlet(alpha); the rows a_j captures first (not captured before)
//               are Multinomial(theta_j), marginally Dirichlet-multinomial:
//               p(y_j) = G(K alpha) / G(N_j + K alpha) * prod_k G(N_jk + alpha) / G(alpha)
// The maximum a posteriori list is searched by Metropolis-Hastings over lists (add an antecedent,
// remove one, swap two), in several seeded chains, with the paper's prefix bound: a proposal whose
// prefix cannot reach the chain's best posterior, whatever follows it, is rejected unscored.
// Each rule's output is theta's posterior mean (N_jk + alpha) / (N_j + K alpha).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/table.h"

namespace gt::xai {

struct RuleListOptions {
  int bins = 4;               // a numeric feature's items: its training quantile bins (4: quartiles)
  int max_card = 2;           // items per antecedent at most
  double min_support = 0.15;  // an antecedent holds for at least this share of the training rows
  double lambda = 5, eta = 1, alpha = 1;
  int chains = 10, iterations = 10000;
  uint64_t seed = 0;
  std::function<void(int64_t done, int64_t total)> progress;  // chains done
};

struct Rule {
  std::vector<int> items;       // empty: the default rule (ELSE)
  std::string text;             // "marital-status = Married-civ-spouse AND education-num > 12"
  std::vector<double> p;        // per class: (N_k + alpha) / (N + K alpha)
  std::vector<int64_t> counts;  // per class: training rows the rule captures (not captured before)
  int64_t support() const;
};

struct RuleList {
  // The discretisation: numeric feature j's bins are (-inf, cuts[0]], (cuts[0], cuts[1]], ...,
  // (cuts.back(), inf); an item is (feature, bin) or (feature, category).
  std::vector<std::vector<double>> cuts;
  std::vector<char> categorical;  // per feature
  std::vector<std::pair<size_t, int>> items;
  std::vector<std::string> item_names;
  std::vector<Rule> rules;  // in order, the default rule last
  int64_t antecedents = 0;  // mined (after leaving out those that capture what a sub-itemset does)
  double log_posterior = 0;
  // Feature j's bin or category for value v (-1: a category unseen in training, in no item).
  int item_value(size_t j, double v) const;
  // The rule that decides row `values` (values form, data::Table::values).
  size_t rule_of(const double* values) const;
  int64_t predict(const double* values) const;  // the most probable class of that rule
};

// Fits the list on rows (values form, N x features) with their classes (0 .. K-1). Throws
// gt::InvalidArgument for no rows, a class out of range, or options out of range.
RuleList fit_rule_list(const data::TableSchema& s, const std::vector<double>& values,
                       const std::vector<int32_t>& labels, int64_t K, const RuleListOptions& o);

// The search itself, on bit sets (xai/sbrl.cpp): rows W = ceil(N / 64) words per set; captures
// [antecedent][W], labels [class][W]. Returns the MAP list (antecedent ids, the default rule implied)
// and its log posterior.
struct SbrlProblem {
  int64_t rows = 0, words = 0;
  int classes = 0;
  std::vector<uint64_t> captures, labels;
  std::vector<int> cardinality;  // per antecedent
  int64_t antecedents() const { return int64_t(cardinality.size()); }
};
std::vector<int> sbrl_search(const SbrlProblem& p, const RuleListOptions& o, double& log_posterior);
// The log posterior of list d (up to the constants that no list changes): log p(d) + log p(y | d).
double sbrl_log_posterior(const SbrlProblem& p, const RuleListOptions& o, const std::vector<int>& d);
// The prefix bound: no list that begins with `prefix` has a log posterior above it.
double sbrl_prefix_bound(const SbrlProblem& p, const RuleListOptions& o, const std::vector<int>& prefix);

}  // namespace gt::xai
