// Scalable Bayesian Rule Lists: the data discretised into items, the antecedents mined, the list
// searched (xai/sbrl.cpp) and its rules' outputs read off the training rows.
#include "xai/rule_list.h"

#include <algorithm>
#include <map>

#include "autodiff/tensor.h"
#include "xai/ale.h"
#include "xai/fpgrowth.h"
#include "xai/table_lime.h"

namespace gt::xai {
namespace {

// The quantile cuts of each numeric feature and the items: every bin and category of each feature.
void discretise(const data::TableSchema& s, const std::vector<double>& values, int64_t N, int bins, RuleList& r) {
  const size_t F = s.features.size();
  r.cuts.assign(F, {});
  r.categorical.assign(F, 0);
  for (size_t j = 0; j < F; ++j) {
    const data::TableColumn& c = s.features[j];
    int n = int(c.width());
    r.categorical[j] = c.categorical;
    if (!c.categorical) {
      std::vector<double> v;
      for (int64_t i = 0; i < N; ++i) v.push_back(values[size_t(i) * F + j]);
      std::sort(v.begin(), v.end());
      for (int b = 1; b < bins; ++b) {
        const double q = percentile(v, 100.0 * b / bins);
        if (q < v.back() && (r.cuts[j].empty() || q > r.cuts[j].back())) r.cuts[j].push_back(q);
      }
      n = r.cuts[j].empty() ? 0 : int(r.cuts[j].size()) + 1;  // one bin: no item
    }
    for (int b = 0; b < n; ++b) {
      r.items.emplace_back(j, b);
      r.item_names.push_back(c.categorical ? c.name + " = " + c.categories[size_t(b)]
                                           : bin_condition(c.name, r.cuts[j], b));
    }
  }
}

}  // namespace

int64_t Rule::support() const {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  return n;
}

int RuleList::item_value(size_t j, double v) const {
  if (categorical[j]) return v >= 0 ? int(v) : -1;
  return int(std::lower_bound(cuts[j].begin(), cuts[j].end(), v) - cuts[j].begin());
}

size_t RuleList::rule_of(const double* values) const {
  for (size_t j = 0; j + 1 < rules.size(); ++j) {
    bool all = true;
    for (int i : rules[j].items)
      all = all && item_value(items[size_t(i)].first, values[items[size_t(i)].first]) == items[size_t(i)].second;
    if (all) return j;
  }
  return rules.size() - 1;
}

int64_t RuleList::predict(const double* values) const {
  const auto& p = rules[rule_of(values)].p;
  return int64_t(std::max_element(p.begin(), p.end()) - p.begin());
}

RuleList fit_rule_list(const data::TableSchema& s, const std::vector<double>& values,
                       const std::vector<int32_t>& labels, int64_t K, const RuleListOptions& o) {
  const size_t F = s.features.size();
  const auto N = int64_t(labels.size());
  if (N < 1 || F == 0 || values.size() != size_t(N) * F) throw InvalidArgument("rules: no rows to fit");
  if (K < 2) throw InvalidArgument("rules: a rule list needs two classes or more");
  if (o.bins < 2 || o.max_card < 1 || !(o.min_support > 0 && o.min_support <= 1) || !(o.lambda > 0) || !(o.eta > 0) ||
      !(o.alpha > 0) || o.chains < 1 || o.iterations < 0)
    throw InvalidArgument("rules: bins >= 2, max-card >= 1, 0 < min-support <= 1, lambda, eta, alpha > 0, chains >= 1");
  for (int32_t y : labels)
    if (y < 0 || y >= K) throw InvalidArgument("rules: a class out of range");
  RuleList r;
  discretise(s, values, N, o.bins, r);
  // Each row as a transaction: its items (one per feature, none for an unseen category).
  std::map<std::pair<size_t, int>, int> item_id;
  for (size_t i = 0; i < r.items.size(); ++i) item_id[r.items[i]] = int(i);
  std::vector<std::vector<int>> rows(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    for (size_t j = 0; j < F; ++j)
      if (const int b = r.item_value(j, values[size_t(n) * F + j]); b >= 0) rows[size_t(n)].push_back(item_id[{j, b}]);
  const auto min_count = int64_t(std::ceil(o.min_support * double(N) - 1e-9));
  std::vector<Itemset> mined = frequent_itemsets(rows, min_count, o.max_card);
  // An antecedent that captures exactly what one of its sub-itemsets does adds nothing: left out.
  std::map<std::vector<int>, int64_t> count_of;
  for (const Itemset& m : mined) count_of[m.items] = m.count;
  std::vector<Itemset> ante;
  for (const Itemset& m : mined) {
    bool redundant = false;
    for (size_t i = 0; m.items.size() > 1 && i < m.items.size(); ++i) {
      std::vector<int> sub = m.items;
      sub.erase(sub.begin() + std::ptrdiff_t(i));
      redundant = redundant || count_of[sub] == m.count;
    }
    if (!redundant) ante.push_back(m);
  }
  // The bit sets: per antecedent its rows, per class its rows.
  SbrlProblem p;
  p.rows = N, p.words = (N + 63) / 64, p.classes = int(K);
  p.labels.assign(size_t(K * p.words), 0);
  for (int64_t n = 0; n < N; ++n) p.labels[size_t(labels[size_t(n)] * p.words + n / 64)] |= uint64_t(1) << (n % 64);
  std::vector<uint64_t> item_rows(r.items.size() * size_t(p.words), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int i : rows[size_t(n)]) item_rows[size_t(i) * size_t(p.words) + size_t(n / 64)] |= uint64_t(1) << (n % 64);
  p.captures.assign(ante.size() * size_t(p.words), ~uint64_t(0));
  for (size_t a = 0; a < ante.size(); ++a) {
    p.cardinality.push_back(int(ante[a].items.size()));
    for (int i : ante[a].items)
      for (int64_t w = 0; w < p.words; ++w)
        p.captures[a * size_t(p.words) + size_t(w)] &= item_rows[size_t(i) * size_t(p.words) + size_t(w)];
  }
  if (N % 64)
    for (size_t a = 0; a < ante.size(); ++a) p.captures[(a + 1) * size_t(p.words) - 1] &= (uint64_t(1) << (N % 64)) - 1;
  r.antecedents = int64_t(ante.size());
  const std::vector<int> d = sbrl_search(p, o, r.log_posterior);

  // The rules, their class counts (rows not captured before) and theta's posterior means.
  std::vector<char> taken(size_t(N), 0);
  for (size_t j = 0; j <= d.size(); ++j) {
    Rule rule;
    rule.counts.assign(size_t(K), 0);
    if (j < d.size()) rule.items = ante[size_t(d[j])].items;
    for (size_t t = 0; t < rule.items.size(); ++t)
      rule.text += (t ? " AND " : "") + r.item_names[size_t(rule.items[t])];
    for (int64_t n = 0; n < N; ++n) {
      if (taken[size_t(n)]) continue;
      bool in = true;
      for (int i : rule.items) in = in && std::binary_search(rows[size_t(n)].begin(), rows[size_t(n)].end(), i);
      if (in) taken[size_t(n)] = 1, ++rule.counts[size_t(labels[size_t(n)])];
    }
    for (int64_t c : rule.counts)
      rule.p.push_back((double(c) + o.alpha) / (double(rule.support()) + double(K) * o.alpha));
    r.rules.push_back(rule);
  }
  return r;
}

}  // namespace gt::xai
