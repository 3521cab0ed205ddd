// gradtrace anchors: the rule that keeps a table model's answer for a row (xai/anchors.h).
#include <algorithm>
#include <cstdio>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "xai/anchors.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace anchors --weights TABLE_MODEL.h5 --dataset csv:FILE --row K | --csv-row \"...\" [options]\n"
    "\n"
    "Anchors (Ribeiro, Singh & Guestrin 2018), searched as alibi's AnchorTabular: the shortest rule on\n"
    "the row's own values (numbers by their training quartile, categories by equality) under which the\n"
    "model keeps its answer with precision >= --threshold: rows drawn from the training data with the\n"
    "rule's features taken from rows that satisfy it. Beam search with KL-LUCB; the rule's precision is\n"
    "then measured on fresh samples, and its coverage is the share of training rows it holds for.\n"
    "\n"
    "options:\n" GT_FLAG_ROW
    "  --threshold P    the precision an anchor must reach (default 0.95)\n"
    "  --delta D        KL-LUCB's confidence 1 - D (default 0.1); --epsilon E its tolerance (default 0.15)\n"
    "  --beam B         anchors kept per size (default 2)\n"
    "  --seed S         the samples' seed (default 0)\n"
    "  --raw FILE.h5    write features [predicates] (each predicate's feature index); attributes rule\n"
    "                   (the predicates, one per line), class, precision, coverage, reached (1 or 0),\n"
    "                   samples\n" GT_FLAG_THREADS GT_FLAG_PRECISION;
}  // namespace

int run_anchors(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), raw = a.get("--raw", "");
  const RowFlags rf = row_flags(a);
  xai::AnchorOptions o;
  o.threshold = a.get_double("--threshold", 0.95, 0.5, 1.0);
  o.delta = a.get_double("--delta", 0.1, 1e-6, 0.5);
  o.epsilon = a.get_double("--epsilon", 0.15, 1e-4, 0.5);
  o.beam = int(a.get_int("--beam", 2, 1, 100));
  o.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
  apply_threads(a);
  apply_precision(a);
  a.finish();
  if (rf.dataset.empty()) throw UsageError("anchors needs --dataset csv:FILE: its training rows are what it samples");
  if (!raw.empty()) check_out_folder("--raw", raw);
  auto m = load_model(weights, "");
  check_input_kind(m->info, "", rf);
  const data::TableSchema s = table_schema(m->info);
  if (s.task != "classify") throw UsageError("anchors explain a classifier; " + weights + " is a regression");
  const data::TableRow row = load_row(m->info, rf);
  const data::Table t = load_table(m->info, rf.dataset);
  const xai::TableRows train = xai::table_rows(t, split_rows(t, t.train.empty() ? "all" : "train"));
  const std::vector<double> p = row_probabilities(*m, row);
  const int64_t cls = std::max_element(p.begin(), p.end()) - p.begin();
  const xai::Anchor r = xai::anchor(*m, s, train, row.values, cls, o);
  std::string rule;
  for (const auto& pred : r.predicates) rule += (rule.empty() ? "" : " AND ") + pred;
  std::printf("anchor of %s's answer %s (p = %.4f) on %s:\n", m->info.arch.c_str(), s.classes[size_t(cls)].c_str(),
              p[size_t(cls)], row.name.c_str());
  if (r.reached)
    std::printf("  IF %s THEN %s\n", rule.empty() ? "(anything)" : rule.c_str(), s.classes[size_t(cls)].c_str());
  else
    std::printf("  no anchor reached %.2f; the most precise found: IF %s\n", o.threshold, rule.c_str());
  std::printf("  precision %.4f (%d fresh samples), coverage %.4f of %lld training rows, %lld model evaluations\n",
              r.precision, o.verify, r.coverage, (long long)train.rows(), (long long)r.samples);
  if (!raw.empty()) {
    h5::File h(raw, h5::File::Mode::write);
    std::vector<double> features(r.features.begin(), r.features.end());
    std::string lines;
    for (size_t i = 0; i < r.predicates.size(); ++i) lines += (i ? "\n" : "") + r.predicates[i];
    if (!features.empty()) h.write("features", Tensor::from_vector({int64_t(features.size())}, features));
    h.set_attr("rule", lines);
    h.set_attr("class", s.classes[size_t(cls)]);
    h.set_attr("precision", r.precision);
    h.set_attr("coverage", r.coverage);
    h.set_attr("reached", r.reached ? 1.0 : 0.0);
    h.set_attr("samples", double(r.samples));
    h.commit();
    std::printf("wrote %s\n", raw.c_str());
  }
  return 0;
}

}  // namespace gt::cli
