// gradtrace rules: a Scalable Bayesian Rule List (xai/rule_list.h), as a classifier of a CSV table or
// as a global surrogate of a table model, fit on its answers.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "render/chart.h"
#include "train/training.h"
#include "xai/rule_list.h"
#include "xai/table_lime.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace rules --dataset csv:FILE --target COLUMN [options]      a rule list of the data\n"
    "       gradtrace rules --weights TABLE_MODEL.h5 --dataset csv:FILE [options]   ... of the model\n"
    "\n"
    "Scalable Bayesian Rule Lists (Yang, Rudin & Seltzer 2017): an IF-THEN-ELSE list whose rules are\n"
    "conjunctions of the discretised data's items (numbers by their training quantile bin, categories\n"
    "by equality), mined with FP-growth, and ordered by a Metropolis-Hastings search for the list of\n"
    "highest posterior under a prior on the list's length (lambda) and rules' widths (eta). Each rule\n"
    "says the class probabilities of the training rows it captures first.\n"
    "  With --target: the list is a classifier of the table, fit on its training rows (the split of\n"
    "  gradtrace train with the same --seed, --val and --test); its test accuracy is printed.\n"
    "  With --weights: the list is a global surrogate of the model, fit on the model's answers for the\n"
    "  training rows; its fidelity (agreement with the model on the test rows) is printed.\n"
    "\n"
    "options:\n"
    "  --target COLUMN  the class column (a table classifier); with --categorical L, --numeric L,\n"
    "                   --drop L, --val F (default 0.1), --test F (default 0.2) as for gradtrace train\n"
    "  --weights FILE   a table classifier (gradtrace train --dataset csv:...) to explain instead\n"
    "  --bins N         quantile bins of a numeric feature (default 4: quartiles)\n"
    "  --max-card C     items per rule at most (default 2)\n"
    "  --min-support S  the share of training rows a rule's conjunction must hold for (default 0.15:\n"
    "                   short lists; lower it for longer, finer ones)\n"
    "  --lambda L       the prior's expected list length (default 5)\n"
    "  --eta E          the prior's expected items per rule (default 1)\n"
    "  --alpha A        the Dirichlet prior of each rule's class probabilities (default 1)\n"
    "  --chains N       Markov chains, each from its own seeded stream (default 10)\n"
    "  --iterations N   proposals per chain (default 10000)\n"
    "  --seed S         the split's and the chains' seed (default 0)\n"
    "  --out FILE.png   the rule list drawn (default rules.png)\n"
    "  --raw FILE.h5    write p [rules, classes] and counts [rules, classes]; attributes rules (one per\n"
    "                   line, the default rule empty), classes, log_posterior, antecedents, and\n"
    "                   test_accuracy or fidelity\n" GT_FLAG_THREADS;

// "12,345"
std::string grouped(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

// "p(>50K) = 0.45" for two classes, else the likeliest class and its probability.
std::string outcome(const xai::Rule& r, const std::vector<std::string>& classes) {
  char b[64];
  if (classes.size() == 2) {
    std::snprintf(b, sizeof b, " = %.2f", r.p[1]);
    return "p(" + classes[1] + ")" + b;
  }
  const auto k = size_t(std::max_element(r.p.begin(), r.p.end()) - r.p.begin());
  std::snprintf(b, sizeof b, ", p = %.2f", r.p[k]);
  return classes[k] + b;
}

std::vector<int32_t> labels_of(const data::Table& t, const std::vector<int64_t>& rows) {
  std::vector<int32_t> out;
  for (int64_t n : rows) out.push_back(t.labels[size_t(n)]);
  return out;
}

// --raw: p and counts [rules, classes], the rules' texts and the fit's numbers.
void write_raw(const std::string& raw, const xai::RuleList& l, const std::vector<std::string>& classes,
               const std::string& score_name, double score) {
  h5::File h(raw, h5::File::Mode::write);
  std::vector<double> p, counts;
  std::string texts, names;
  for (size_t j = 0; j < l.rules.size(); ++j) {
    p.insert(p.end(), l.rules[j].p.begin(), l.rules[j].p.end());
    for (int64_t c : l.rules[j].counts) counts.push_back(double(c));
    texts += (j ? "\n" : "") + l.rules[j].text;
  }
  for (const std::string& c : classes) names += (names.empty() ? "" : "\n") + c;
  const auto R = int64_t(l.rules.size()), K = int64_t(classes.size());
  h.write("p", Tensor::from_vector({R, K}, p));
  h.write("counts", Tensor::from_vector({R, K}, counts));
  h.set_attr("rules", texts);
  h.set_attr("classes", names);
  h.set_attr("log_posterior", l.log_posterior);
  h.set_attr("antecedents", double(l.antecedents));
  h.set_attr(score_name, score);
  h.commit();
}

}  // namespace

// The share of rows whose list prediction equals `want`.
double rule_agreement(const xai::RuleList& l, const data::Table& t, const std::vector<int64_t>& rows,
                      const std::vector<int32_t>& want) {
  const size_t F = t.schema.features.size();
  int64_t same = 0;
  for (size_t i = 0; i < rows.size(); ++i) same += l.predict(&t.values[size_t(rows[i]) * F]) == want[i];
  return rows.empty() ? 0 : double(same) / double(rows.size());
}

// The model's classes for rows of t.
std::vector<int32_t> model_classes(nn::Model& m, const data::Table& t, const std::vector<int64_t>& rows) {
  std::vector<std::vector<double>> v;
  const size_t F = t.schema.features.size();
  for (int64_t n : rows) v.emplace_back(&t.values[size_t(n) * F], &t.values[size_t(n + 1) * F]);
  int64_t K = 0;
  const std::vector<double> p = xai::values_outputs(m, t.schema, v, K);
  std::vector<int32_t> out;
  for (size_t i = 0; i < rows.size(); ++i)
    out.push_back(int32_t(std::max_element(&p[i * size_t(K)], &p[(i + 1) * size_t(K)]) - &p[i * size_t(K)]));
  return out;
}

std::string rule_list_text(const xai::RuleList& l, const std::vector<std::string>& classes) {
  std::string text;
  for (size_t j = 0; j < l.rules.size(); ++j) {
    const xai::Rule& rule = l.rules[j];
    const std::string head = j + 1 == l.rules.size() ? (j ? "ELSE " : "") : (j ? "ELSE IF " : "IF ");
    text += "  " + head + rule.text + (rule.text.empty() ? "" : " THEN ") + outcome(rule, classes) + " (support " +
            grouped(rule.support()) + ")\n";
  }
  return text;
}

Image rule_list_chart(const xai::RuleList& l, const std::vector<std::string>& classes, const std::string& title) {
  std::vector<viz::RuleRow> rows;
  for (size_t j = 0; j < l.rules.size(); ++j) {
    const xai::Rule& rule = l.rules[j];
    const std::string head = j + 1 == l.rules.size() ? (j ? "ELSE" : "ALWAYS") : (j ? "ELSE IF " : "IF ");
    const auto k = size_t(std::max_element(rule.p.begin(), rule.p.end()) - rule.p.begin());
    const size_t shown = classes.size() == 2 ? 1 : k;
    rows.push_back({head + rule.text, rule.p[shown], classes[shown] + ", " + grouped(rule.support()) + " rows"});
  }
  return viz::rule_chart(rows, title, classes.size() == 2 ? "p(" + classes[1] + ")" : "p(the likeliest class)");
}

int run_rules(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  train::RunSettings r;
  r.dataset = a.get("--dataset", "");
  r.target = a.get("--target", "");
  r.categorical = a.get("--categorical", "");
  r.numeric = a.get("--numeric", "");
  r.drop = a.get("--drop", "");
  r.val = a.get_double("--val", 0.1, 0, 0.9);
  r.test = a.get_double("--test", 0.2, 0, 0.9);
  const std::string weights = a.get("--weights", ""), out = a.get("--out", "rules.png"), raw = a.get("--raw", "");
  xai::RuleListOptions o;
  o.bins = int(a.get_int("--bins", 4, 2, 100));
  o.max_card = int(a.get_int("--max-card", 2, 1, 5));
  o.min_support = a.get_double("--min-support", 0.15, 1e-6, 1);
  o.lambda = a.get_double("--lambda", 5, 1e-3, 1e4);
  o.eta = a.get_double("--eta", 1, 1e-3, 100);
  o.alpha = a.get_double("--alpha", 1, 1e-6, 1e6);
  o.chains = int(a.get_int("--chains", 10, 1, 10000));
  o.iterations = int(a.get_int("--iterations", 10000, 0, 100000000));
  o.seed = r.config.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
  apply_threads(a);
  a.finish();
  if (r.dataset.rfind("csv:", 0) != 0) throw UsageError("rules needs --dataset csv:FILE");
  if (weights.empty() == r.target.empty())
    throw UsageError("give --target COLUMN (a rule list of the data) or --weights MODEL (of the model), one of them");
  if (!weights.empty())
    for (const char* f : {"--categorical", "--numeric", "--drop", "--val", "--test"})
      if (a.given(f)) throw UsageError(std::string(f) + " goes with --target; a model's table and split are its own");
  if (!raw.empty()) check_out_folder("--raw", raw);
  check_out_folder("--out", out);

  // The table, its split, and what the list learns: the true classes, or the model's answers.
  std::unique_ptr<nn::Model> m;
  data::Table t;
  if (!weights.empty()) {
    TableInput in = load_table_input(weights, r.dataset, "all", 0, "rules");
    m = std::move(in.model);
    t = std::move(in.table);
  } else {
    r.task = "classify";
    const auto note = [](const std::string& s) { std::fprintf(stderr, "note: %s\n", s.c_str()); };
    t = std::move(*train::load_table_data(r, note).table);
  }
  const data::TableSchema& s = t.schema;
  if (s.task != "classify") throw UsageError("rules explain a classifier; " + weights + " is a regression");
  if (s.classes.size() > 30)
    throw UsageError("rules: " + s.target + " has " + std::to_string(s.classes.size()) +
                     " values; a rule list predicts one of a few classes (bin a numeric target first)");
  // Fit on the training rows and score on the test rows; a file that is not the model's own (no
  // split) or a split without test rows: fit and score on every row.
  const std::vector<int64_t> fit_rows = split_rows(t, t.train.empty() ? "all" : "train");
  const bool own_test = !t.train.empty() && !t.test.empty();
  const std::vector<int64_t>& held = own_test ? t.test : fit_rows;
  const std::vector<int32_t> fit_y = m ? model_classes(*m, t, fit_rows) : labels_of(t, fit_rows);
  if (isatty(fileno(stderr)))
    o.progress = [](int64_t done, int64_t total) {
      std::fprintf(stderr, "\rrules: %lld/%lld chains", (long long)done, (long long)total);
      if (done == total) std::fputc('\n', stderr);
    };
  const auto t0 = std::chrono::steady_clock::now();
  const xai::RuleList l =
      xai::fit_rule_list(s, xai::table_rows(t, fit_rows).values, fit_y, int64_t(s.classes.size()), o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf(
      "rule list of %s on %s: %zu rules from %lld antecedents (min support %g, max card %d), "
      "log posterior %.1f, %.2f s\n",
      m ? (m->info.arch + "'s answers").c_str() : s.target.c_str(), t.source.c_str(), l.rules.size() - 1,
      (long long)l.antecedents, o.min_support, o.max_card, l.log_posterior, secs);
  std::fputs(rule_list_text(l, s.classes).c_str(), stdout);
  // The list against what it learnt (the model's answers, or the classes), and the list's accuracy.
  const std::vector<int32_t> held_y = m ? model_classes(*m, t, held) : labels_of(t, held);
  const double score = rule_agreement(l, t, held, held_y), fit_score = rule_agreement(l, t, fit_rows, fit_y);
  const std::string what = m ? "fidelity to " + m->info.arch + ":" : "accuracy";
  if (own_test)
    std::printf("%s %.4f on the test rows (%s), %.4f on the training rows (%s)", what.c_str(), score,
                grouped(int64_t(held.size())).c_str(), fit_score, grouped(int64_t(fit_rows.size())).c_str());
  else
    std::printf("%s %.4f on the training rows (%s; no test rows)", what.c_str(), fit_score,
                grouped(int64_t(fit_rows.size())).c_str());
  if (m) std::printf("; the list's accuracy %.4f", rule_agreement(l, t, held, labels_of(t, held)));
  std::printf("\n");

  viz::write_png(
      out, rule_list_chart(l, s.classes, "rule list (SBRL) of " + (m ? m->info.arch : s.target) + " on " + t.source));
  std::printf("wrote %s\n", out.c_str());
  if (!raw.empty()) write_raw(raw, l, s.classes, m ? "fidelity" : "test_accuracy", score);
  return 0;
}

}  // namespace gt::cli
