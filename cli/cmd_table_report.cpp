// gradtrace report --dataset csv:FILE: a table model's global view (permutation importance, partial
// dependence of the top features, a rule list as its surrogate) and a few rows explained (KernelSHAP,
// integrated gradients, an anchor), as a static HTML page next to its PNGs.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>

#include "cli/cli.h"
#include "render/chart.h"
#include "xai/anchors.h"
#include "xai/table_attribution.h"
#include "xai/table_shap.h"

namespace gt::cli {
namespace {
namespace fs = std::filesystem;

const char* kHelp =
    "usage: gradtrace report --weights TABLE_MODEL.h5 --dataset csv:FILE --out DIR [options]\n"
    "\n"
    "A table model's report, DIR/index.html, offline (no scripts, nothing fetched):\n"
    "  - its test accuracy (or R2) on the file's test rows;\n"
    "  - the global view: permutation importance, partial dependence with ICE curves of the most\n"
    "    important features, and a rule list (SBRL) fit on the model's answers, with its fidelity;\n"
    "  - rows explained: the prediction, KernelSHAP and integrated gradients per feature, an anchor.\n"
    "See gradtrace permutation-importance, pdp, rules, kernelshap, ig and anchors for each method.\n"
    "\n"
    "options:\n"
    "  --weights FILE   a table model (gradtrace train --dataset csv:...)\n"
    "  --dataset csv:FILE  the model's table (its test rows are scored; its training rows sampled)\n"
    "  --out DIR        output folder (required; created if missing)\n"
    "  --rows K,...     the rows explained, 0-based in the file as pandas counts (default: the first 3\n"
    "                   test rows)\n"
    "  --top N          features with a partial dependence plot (default 3)\n"
    "  --repeats R      permutation importance's shuffles (default 5)\n"
    "  --seed S         the shuffles', samples' and chains' seed (default 0)\n" GT_FLAG_THREADS;

const char* kStyle =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}"
    ".k{color:#555}.row{margin:2em 0;padding-top:1em;border-top:2px solid #888}img{max-width:100%}"
    "pre{background:#f4f4f4;padding:8px;overflow-x:auto}";

struct Report {
  nn::Model* m;
  const data::Table* t;
  std::string dir;
  uint64_t seed = 0;
  std::ostringstream html;
  // Writes `img` as DIR/name and puts it on the page.
  void figure(const Image& img, const std::string& name, const std::string& alt) {
    viz::write_png(dir + "/" + name, img);
    html << "<p><img src=\"" << name << "\" alt=\"" << html_escape(alt) << "\"></p>\n";
  }
};

// Permutation importance; returns the features by decreasing importance.
std::vector<size_t> global_importance(Report& r, const xai::TableRows& test, int repeats) {
  xai::PermutationOptions o;
  o.repeats = repeats, o.seed = r.seed;
  const xai::PermutationResult p = xai::permutation_importance(*r.m, test, o);
  const auto& f = r.t->schema.features;
  std::vector<size_t> order(f.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return p.mean[i] > p.mean[j]; });
  r.html << "<h2>What the model relies on: permutation importance</h2>\n<p class=\"k\">The drop of " << p.metric
         << " (from " << xai::fmt("%.4f", p.baseline) << ") when a feature's values are shuffled over the "
         << test.rows() << " test rows, mean and std of " << repeats << " shuffles.</p>\n";
  std::vector<viz::Bar> bars;
  for (size_t i = 0; i < f.size(); ++i) bars.push_back({f[i].name, p.mean[i], p.std[i], ""});
  r.figure(viz::bar_chart(bars, "permutation importance", "drop of " + p.metric), "importance.png",
           "permutation importance");
  return order;
}

// Partial dependence with ICE curves of the `top` first features of `order`.
void global_dependence(Report& r, const xai::TableRows& test, const std::vector<size_t>& order, int top) {
  r.html << "<h2>How the answer moves with the top features: partial dependence and ICE</h2>\n<p class=\"k\">The "
            "model's mean answer (red) and single rows' answers (grey) as one feature sweeps its range, the rest "
            "of each row kept.</p>\n";
  xai::PdpOptions o;
  o.grid = 50;
  for (size_t i = 0; i < order.size() && int(i) < top; ++i) {
    const auto j = int64_t(order[i]);
    const xai::PdpResult p = xai::partial_dependence(*r.m, test, {j}, o);
    r.figure(pdp_ice_chart(p, test, j, "partial dependence and ICE: " + p.axes[0].feature),
             "pdp_" + std::to_string(i) + ".png", "partial dependence of " + p.axes[0].feature);
  }
}

// A rule list fit on the model's answers for the training rows, with its fidelity on the test rows.
void global_rules(Report& r, const std::vector<int64_t>& fit, const xai::TableRows& train,
                  const std::vector<int64_t>& test) {
  const data::Table& t = *r.t;
  xai::RuleListOptions o;
  o.seed = r.seed;
  const xai::RuleList l =
      xai::fit_rule_list(t.schema, train.values, model_classes(*r.m, t, fit), int64_t(t.schema.classes.size()), o);
  const double fidelity = rule_agreement(l, t, test, model_classes(*r.m, t, test));
  r.html << "<h2>The model as rules: a Bayesian rule list (SBRL) of its answers</h2>\n<p class=\"k\">Fit on the "
            "model's answers for the training rows; it agrees with the model on "
         << xai::fmt("%.1f%%", 100.0 * fidelity) << " of the test rows (its fidelity).</p>\n<pre>"
         << html_escape(rule_list_text(l, t.schema.classes)) << "</pre>\n";
  r.figure(rule_list_chart(l, t.schema.classes, "rule list of the model's answers"), "rules.png", "the rule list");
}

// One row: its values and prediction, KernelSHAP and IG per feature, and its anchor.
void explain_row(Report& r, int64_t n, const xai::TableRows& background, const xai::TableRows& train) {
  const data::Table& t = *r.t;
  const data::TableSchema& s = t.schema;
  const size_t F = s.features.size();
  const auto W = size_t(s.width());
  const std::vector<double> x(&t.x[size_t(n) * W], &t.x[size_t(n + 1) * W]);
  const std::vector<double> v(&t.values[size_t(n) * F], &t.values[size_t(n + 1) * F]);
  int64_t K = 0;
  const std::vector<double> p = xai::values_outputs(*r.m, s, {v}, K);
  const auto cls = int64_t(std::max_element(p.begin(), p.end()) - p.begin());
  const std::string id = "line " + std::to_string(t.lines[size_t(n)]);
  r.html << "<div class=\"row\"><h3>Row " << t.lines[size_t(n)] - 2 << " (" << id << "): the model says "
         << html_escape(s.classes[size_t(cls)]) << xai::fmt(" (p = %.3f)", p[size_t(cls)]) << ", the file says "
         << html_escape(s.classes[size_t(t.labels[size_t(n)])]) << "</h3>\n<table><tr>";
  for (const auto& c : s.features) r.html << "<th>" << html_escape(c.name) << "</th>";
  r.html << "</tr><tr>";
  for (size_t j = 0; j < F; ++j)
    r.html << "<td>"
           << html_escape(s.features[j].categorical
                              ? (v[j] >= 0 ? s.features[j].categories[size_t(v[j])] : std::string("other"))
                              : data::number_text(v[j]))
           << "</td>";
  r.html << "</tr></table>\n";
  xai::SurrogateOptions so;
  so.samples = 2048, so.seed = r.seed;
  const xai::SurrogateResult k = xai::table_kernel_shap(*r.m, s, x, background, cls, so);
  const xai::TableAttribution g = xai::table_attribution(*r.m, s, x, cls, "ig", xai::baseline_row(s, "mean"), {});
  const auto bars = [&](const std::vector<double>& phi) {
    std::vector<viz::Bar> b;
    for (size_t j = 0; j < F; ++j) b.push_back({s.features[j].name, phi[j], 0, ""});
    return b;
  };
  const std::string stem = "row" + std::to_string(t.lines[size_t(n)] - 2);
  r.figure(viz::bar_chart(bars(k.phi), "KernelSHAP, " + id, "p(" + s.classes[size_t(cls)] + ") - its mean"),
           stem + "_shap.png", "KernelSHAP of " + id);
  r.figure(viz::bar_chart(bars(g.features), "integrated gradients from the mean row, " + id,
                          "logit(" + s.classes[size_t(cls)] + ") - at the mean row"),
           stem + "_ig.png", "integrated gradients of " + id);
  xai::AnchorOptions ao;
  ao.seed = r.seed;
  const xai::Anchor a = xai::anchor(*r.m, s, train, v, cls, ao);
  std::string rule;
  for (const auto& pred : a.predicates) rule += (rule.empty() ? "" : " AND ") + pred;
  r.html << "<p>Anchor: <b>IF " << html_escape(rule.empty() ? "(anything)" : rule) << " THEN "
         << html_escape(s.classes[size_t(cls)]) << "</b>"
         << xai::fmt(" (precision %.3f, coverage %.3f)", a.precision, a.coverage)
         << (a.reached ? "" : " &mdash; no anchor reached 0.95; the most precise found") << "</p></div>\n";
}

// --rows K,...: file rows (0-based, as pandas counts) as the table's row indices.
std::vector<int64_t> chosen_rows(const data::Table& t, const std::string& list) {
  std::vector<int64_t> out;
  std::stringstream ss(list);
  for (std::string k; std::getline(ss, k, ',');) {
    char* end = nullptr;
    const long row = std::strtol(k.c_str(), &end, 10);
    if (k.empty() || *end || row < 0) throw UsageError("--rows: '" + k + "' is not a row number");
    const auto at = std::find(t.lines.begin(), t.lines.end(), int64_t(row) + 2);  // the header is line 1
    if (at == t.lines.end()) throw UsageError("--rows: " + t.source + " has no row " + k + " with a target value");
    out.push_back(at - t.lines.begin());
  }
  return out;
}

}  // namespace

int run_table_report(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), dataset = a.get("--dataset", ""), out = a.get("--out", "");
  const std::string rows_flag = a.get("--rows", "");
  const int top = int(a.get_int("--top", 3, 0, 1000)), repeats = int(a.get_int("--repeats", 5, 1, 1000));
  const auto seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
  apply_threads(a);
  a.finish();
  if (out.empty()) throw UsageError("--out DIR is required");
  TableInput in = load_table_input(weights, dataset, "test", 0, "report");
  const data::Table& t = in.table;
  if (t.schema.task != "classify")
    throw UsageError("the table report explains a classifier; " + weights + " is a regression");
  const std::vector<int64_t> fit = split_rows(t, t.train.empty() ? "all" : "train");
  std::vector<int64_t> explained = rows_flag.empty() ? in.rows : chosen_rows(t, rows_flag);
  if (rows_flag.empty() && explained.size() > 3) explained.resize(3);
  fs::create_directories(out);
  Report r;
  r.m = in.model.get(), r.t = &t, r.dir = out, r.seed = seed;
  const xai::TableRows test = xai::table_rows(t, in.rows), train = xai::table_rows(t, fit);
  std::vector<int64_t> bg = fit;  // KernelSHAP's background: 100 training rows, drawn from the seed
  std::shuffle(bg.begin(), bg.end(), std::mt19937_64(seed));
  bg.resize(std::min<size_t>(bg.size(), 100));
  const xai::TableRows background = xai::table_rows(t, bg);

  r.html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gradtrace table report</title><style>"
         << kStyle << "</style></head><body>\n<h1>Why " << html_escape(r.m->info.arch) << " predicts "
         << html_escape(t.schema.target) << "</h1>\n<p class=\"k\">weights " << html_escape(weights) << ", data "
         << html_escape(t.source) << ": " << t.rows() << " rows, " << t.schema.features.size() << " features; "
         << xai::fmt("test accuracy %.4f", xai::table_score(*r.m, test, test.x)) << " on " << test.rows()
         << " rows.</p>\n";
  std::printf("permutation importance...\n");
  const std::vector<size_t> order = global_importance(r, test, repeats);
  std::printf("partial dependence...\n");
  global_dependence(r, test, order, top);
  std::printf("rule list...\n");
  global_rules(r, fit, train, in.rows);
  r.html << "<h2>Rows explained</h2>\n<p class=\"k\">KernelSHAP: each feature's Shapley value for the predicted "
            "class's probability, against 100 training rows. Integrated gradients: each feature's share of the "
            "logit's change from the mean row. Anchor: a rule on the row's own values under which the model "
            "keeps its answer for 95% of rows.</p>\n";
  for (int64_t n : explained) {
    std::printf("row %lld...\n", (long long)t.lines[size_t(n)] - 2);
    std::fflush(stdout);
    explain_row(r, n, background, train);
  }
  r.html << "<p class=\"k\">Made by gradtrace.</p></body></html>\n";
  write_text_file(out + "/index.html", r.html.str());
  std::printf("wrote %s/index.html\n", out.c_str());
  return 0;
}

}  // namespace gt::cli
