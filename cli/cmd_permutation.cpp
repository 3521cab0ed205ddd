// gradtrace permutation-importance: how much a table model's score drops when each feature is shuffled.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "render/chart.h"
#include "xai/permutation_importance.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace permutation-importance --weights TABLE_MODEL.h5 --dataset csv:FILE [options]\n"
    "\n"
    "Permutation importance (Breiman 2001; Fisher, Rudin & Dominici 2019), as scikit-learn computes\n"
    "it: each feature's values are shuffled across the rows, which breaks its link to the target, and\n"
    "the drop of the model's score is the feature's importance (mean and std over --repeats shuffles).\n"
    "The score is the eval metric: accuracy, or R2 for a regression model. A categorical feature's\n"
    "one-hot columns move together. A global explanation: it says what the model relies on, over rows.\n"
    "\n"
    "options:\n"
    "  --weights FILE   a table model (gradtrace train --dataset csv:...)\n"
    "  --dataset csv:FILE  the rows to score (the training file: its test rows, see --split)\n"
    "  --split S        test (default), val, train or all\n"
    "  --rows N         at most N rows, the first of the split (default: all)\n"
    "  --repeats R      shuffles per feature (default 5)\n"
    "  --seed S         the shuffles' seed (default 0)\n"
    "  --out FILE.png   the bar chart, with +- one std (default permutation-importance.png)\n"
    "  --raw FILE.h5    write importances [features, repeats], mean and std [features]; attributes\n"
    "                   baseline, metric, features (names, one per line)\n" GT_FLAG_THREADS GT_FLAG_PRECISION;
}  // namespace

int run_permutation_importance(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), dataset = a.get("--dataset", ""), raw = a.get("--raw", "");
  const std::string split = split_flag(a), out = a.get("--out", "permutation-importance.png");
  const long max_rows = a.get_int("--rows", 0, 0, 1L << 40);
  xai::PermutationOptions o;
  o.repeats = int(a.get_int("--repeats", 5, 1, 10000));
  o.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
  apply_threads(a);
  apply_precision(a);
  a.finish();
  if (!raw.empty()) check_out_folder("--raw", raw);
  check_out_folder("--out", out);
  const TableInput in = load_table_input(weights, dataset, split, max_rows, "permutation importance");
  nn::Model* m = in.model.get();
  const data::Table& t = in.table;
  const std::vector<int64_t>& rows = in.rows;
  const xai::TableRows r = xai::table_rows(t, rows);
  if (isatty(fileno(stderr)))
    o.progress = [](int64_t done, int64_t total) {
      std::fprintf(stderr, "\rpermutation importance: %lld/%lld shuffles", (long long)done, (long long)total);
      if (done == total) std::fputc('\n', stderr);
    };
  const xai::PermutationResult res = xai::permutation_importance(*m, r, o);

  const auto& f = t.schema.features;
  std::vector<size_t> order(f.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return res.mean[i] > res.mean[j]; });
  std::printf("permutation importance of %s on %s (%s, %lld rows): %s %.4f, %d repeats\n", m->info.arch.c_str(),
              t.source.c_str(), split.c_str(), (long long)r.rows(), res.metric.c_str(), res.baseline, o.repeats);
  std::printf("  %-24s drop of %s (mean +- std)\n", "feature", res.metric.c_str());
  for (size_t i : order) std::printf("  %-24s %8.4f +- %.4f\n", f[i].name.c_str(), res.mean[i], res.std[i]);
  std::vector<viz::Bar> bars;
  for (size_t i = 0; i < f.size(); ++i) bars.push_back({f[i].name, res.mean[i], res.std[i], ""});
  viz::write_png(out, viz::bar_chart(bars, "permutation importance, " + m->info.arch + " on " + t.source,
                                     "drop of " + res.metric + " when the feature is shuffled"));
  std::printf("wrote %s\n", out.c_str());
  if (!raw.empty()) {
    h5::File h(raw, h5::File::Mode::write);
    std::vector<double> all;
    std::string names;
    for (size_t i = 0; i < f.size(); ++i) {
      all.insert(all.end(), res.importances[i].begin(), res.importances[i].end());
      names += (i ? "\n" : "") + f[i].name;
    }
    const auto F = int64_t(f.size());
    h.write("importances", Tensor::from_vector({F, o.repeats}, all));
    h.write("mean", Tensor::from_vector({F}, res.mean));
    h.write("std", Tensor::from_vector({F}, res.std));
    h.set_attr("baseline", res.baseline);
    h.set_attr("metric", res.metric);
    h.set_attr("features", names);
    h.commit();
  }
  return 0;
}

}  // namespace gt::cli
