// gradtrace pdp and ale: partial dependence and ICE curves of a table model on one feature or a pair,
// and accumulated local effects of a numeric feature.
#include <cstdio>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "render/chart.h"
#include "xai/ale.h"
#include "xai/partial_dependence.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace pdp --weights TABLE_MODEL.h5 --dataset csv:FILE --feature NAME [--feature2 NAME]\n"
    "\n"
    "Partial dependence (Friedman 2001) and ICE curves (Goldstein et al. 2015), as scikit-learn's\n"
    "partial_dependence(kind='both', method='brute'): every row is given each grid value of the\n"
    "feature, and the model's answer is read: one curve per row (ICE) and their mean (PD). The answer\n"
    "is the probability of each class (of the second alone for two classes) or the predicted value.\n"
    "A numeric grid is the feature's values when it has fewer than --grid, else --grid points between\n"
    "its 5th and 95th percentiles; a categorical grid is its categories. Two features: 2-D PD.\n"
    "\n"
    "options:\n"
    "  --weights FILE   a table model (gradtrace train --dataset csv:...)\n"
    "  --dataset csv:FILE  the rows (the training file: its test rows, see --split)\n"
    "  --feature NAME   the feature; --feature2 NAME a second one (2-D partial dependence)\n"
    "  --grid N         grid points of a numeric feature (default 100)\n"
    "  --centered       centred ICE: every curve (and the PD) minus its value at the first grid point\n"
    "  --split S        test (default), val, train or all\n"
    "  --rows N         at most N rows, the first of the split (default: all)\n"
    "  --out FILE.png   the PD curve over 50 rows' ICE curves and a rug of the values, or for a pair a\n"
    "                   heat map (default pdp.png)\n"
    "  --raw FILE.h5    write average [outputs, grid] and individual [outputs, rows, grid] (ICE), and\n"
    "                   grid_0 (grid_1) for a numeric axis; attributes features, outputs\n" GT_FLAG_THREADS
        GT_FLAG_PRECISION;

const char* kAleHelp =
    "usage: gradtrace ale --weights TABLE_MODEL.h5 --dataset csv:FILE --feature NAME [options]\n"
    "\n"
    "Accumulated local effects (Apley & Zhu 2020), first order, as alibi's ALE: the feature's range is\n"
    "cut at quantiles into intervals holding more than --min-bin-points rows (at most 10 distinct\n"
    "values: those are the grid); each row moves to its interval's two ends, the mean change of the\n"
    "model's answer is the interval's local effect, and the effects are summed from the left and\n"
    "centred to mean 0 over the rows. Unlike a PD curve it asks the model only about values near each\n"
    "row's own, so correlated features do not create rows the data never has. Numeric features only.\n"
    "\n"
    "options:\n"
    "  --weights FILE   a table model; --dataset csv:FILE, --split S, --rows N as for pdp\n"
    "  --feature NAME   a numeric feature\n"
    "  --min-bin-points N  rows an interval must exceed (default 4)\n"
    "  --out FILE.png   the curve (two classes: the second's; default ale.png)\n"
    "  --raw FILE.h5    write grid [G], ale [G, outputs], ale0 [outputs]; attributes feature, outputs\n" GT_FLAG_THREADS
        GT_FLAG_PRECISION;

int64_t feature_index(const data::TableSchema& s, const std::string& name) {
  std::vector<std::string> names;
  for (size_t k = 0; k < s.features.size(); ++k) {
    if (s.features[k].name == name) return int64_t(k);
    names.push_back(s.features[k].name);
  }
  std::string known;
  for (const auto& n : nn::closest_names(name, names, 4)) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("--feature: the model has no feature '" + name + "' (closest: " + known + ")");
}
}  // namespace

Image pdp_ice_chart(const xai::PdpResult& r, const xai::TableRows& tr, int64_t feature, const std::string& title) {
  // The first output's PD over up to 50 rows' ICE curves; the rows' values as a rug.
  const size_t G = r.average.size() / r.outputs.size(), N = size_t(tr.rows());
  std::vector<viz::Curve> curves;
  for (size_t n = 0; n < std::min<size_t>(N, 50) && !r.individual.empty(); ++n)
    curves.push_back({std::vector<double>(r.individual.begin() + long(n * G), r.individual.begin() + long((n + 1) * G)),
                      {200, 200, 200},
                      1});
  curves.push_back({std::vector<double>(r.average.begin(), r.average.begin() + long(G)), {200, 40, 30}, 3});
  std::vector<double> rug;
  const size_t F = tr.schema->features.size();
  if (!r.axes[0].categorical)
    for (size_t n = 0; n < std::min<size_t>(N, 1000); ++n) rug.push_back(tr.values[n * F + size_t(feature)]);
  return viz::line_chart(r.axes[0].values, r.axes[0].labels, curves, rug, title, r.axes[0].feature, r.outputs[0]);
}

int run_pdp(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--centered"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), dataset = a.get("--dataset", ""), raw = a.get("--raw", "");
  const std::string f1 = a.get("--feature", ""), f2 = a.get("--feature2", ""), split = split_flag(a);
  const std::string out = a.get("--out", "pdp.png");
  const long max_rows = a.get_int("--rows", 0, 0, 1L << 40);
  xai::PdpOptions o;
  o.grid = int(a.get_int("--grid", 100, 2, 100000));
  o.centered = a.flag("--centered");
  apply_threads(a);
  apply_precision(a);
  a.finish();
  if (f1.empty()) throw UsageError("--feature NAME is required");
  if (!raw.empty()) check_out_folder("--raw", raw);
  check_out_folder("--out", out);
  const TableInput in = load_table_input(weights, dataset, split, max_rows, "pdp");
  nn::Model* m = in.model.get();
  const data::Table& t = in.table;
  const std::vector<int64_t>& rows = in.rows;
  std::vector<int64_t> features = {feature_index(t.schema, f1)};
  if (!f2.empty()) features.push_back(feature_index(t.schema, f2));
  o.ice = features.size() == 1;
  const xai::TableRows tr = xai::table_rows(t, rows);
  const xai::PdpResult r = xai::partial_dependence(*m, tr, features, o);

  const size_t G = r.average.size() / r.outputs.size();
  std::printf("partial dependence of %s on %s over %zu rows of %s (%s)\n", m->info.arch.c_str(),
              (f1 + (f2.empty() ? "" : " x " + f2)).c_str(), rows.size(), t.source.c_str(), split.c_str());
  std::printf("  %-24s", f2.empty() ? f1.c_str() : (f1 + ", " + f2).c_str());
  for (const auto& out : r.outputs) std::printf(" %12s", out.c_str());
  std::printf("\n");
  for (size_t g = 0; g < G; ++g) {
    const std::string at = r.axes.size() == 1
                               ? r.axes[0].labels[g]
                               : r.axes[0].labels[g / r.axes[1].size()] + ", " + r.axes[1].labels[g % r.axes[1].size()];
    std::printf("  %-24s", at.c_str());
    for (size_t k = 0; k < r.outputs.size(); ++k) std::printf(" %12.6g", r.average[k * G + g]);
    std::printf("\n");
  }
  if (r.axes.size() == 2) {  // the first output's PD over the product grid
    viz::write_png(
        out, viz::heat_chart(std::vector<double>(r.average.begin(), r.average.begin() + long(G)), r.axes[0].labels,
                             r.axes[1].labels, "partial dependence, " + m->info.arch + " on " + t.source, f1, f2,
                             r.outputs[0]));
    std::printf("wrote %s\n", out.c_str());
  } else {
    viz::write_png(
        out, pdp_ice_chart(r, tr, features[0], "partial dependence and ICE, " + m->info.arch + " on " + t.source));
    std::printf("wrote %s\n", out.c_str());
  }
  if (!raw.empty()) {
    h5::File h(raw, h5::File::Mode::write);
    const auto K = int64_t(r.outputs.size()), N = int64_t(rows.size());
    h.write("average", Tensor::from_vector({K, int64_t(G)}, r.average));
    if (o.ice) h.write("individual", Tensor::from_vector({K, N, int64_t(G)}, r.individual));
    std::string outs;
    for (size_t k = 0; k < r.outputs.size(); ++k) outs += (k ? "\n" : "") + r.outputs[k];
    for (size_t i = 0; i < r.axes.size(); ++i)
      if (!r.axes[i].categorical)
        h.write("grid_" + std::to_string(i), Tensor::from_vector({int64_t(r.axes[i].size())}, r.axes[i].values));
    h.set_attr("features", f2.empty() ? f1 : f1 + "\n" + f2);
    h.set_attr("outputs", outs);
    h.commit();
  }
  return 0;
}

int run_ale(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kAleHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), dataset = a.get("--dataset", ""), raw = a.get("--raw", "");
  const std::string feature = a.get("--feature", ""), split = split_flag(a), out = a.get("--out", "ale.png");
  const long max_rows = a.get_int("--rows", 0, 0, 1L << 40);
  xai::AleOptions o;
  o.min_bin_points = int(a.get_int("--min-bin-points", 4, 0, 1000000));
  apply_threads(a);
  apply_precision(a);
  a.finish();
  if (feature.empty()) throw UsageError("--feature NAME is required");
  if (!raw.empty()) check_out_folder("--raw", raw);
  check_out_folder("--out", out);
  const TableInput in = load_table_input(weights, dataset, split, max_rows, "ale");
  nn::Model* m = in.model.get();
  const data::Table& t = in.table;
  const std::vector<int64_t>& rows = in.rows;
  const int64_t j = feature_index(t.schema, feature);
  if (t.schema.features[size_t(j)].categorical)
    throw UsageError("--feature " + feature + " is categorical; ALE is defined for numeric features (see pdp)");
  const xai::AleResult r = xai::ale(*m, xai::table_rows(t, rows), j, o);
  const size_t K = r.outputs.size();
  std::printf("accumulated local effects of %s on %s over %zu rows of %s (%s)\n", feature.c_str(), m->info.arch.c_str(),
              rows.size(), t.source.c_str(), split.c_str());
  std::printf("  %-14s", feature.c_str());
  for (const auto& out : r.outputs) std::printf(" %12s", out.c_str());
  std::printf("\n");
  for (size_t g = 0; g < r.grid.size(); ++g) {
    std::printf("  %-14.6g", r.grid[g]);
    for (size_t k = 0; k < K; ++k) std::printf(" %+12.6g", r.ale[g * K + k]);
    std::printf("\n");
  }
  const size_t shown = K == 2 ? 1 : 0;  // two classes: the second's curve (the first's is its mirror)
  std::vector<double> y;
  for (size_t g = 0; g < r.grid.size(); ++g) y.push_back(r.ale[g * K + shown]);
  viz::write_png(out, viz::line_chart(r.grid, {}, {{y, {200, 40, 30}, 3}}, {},
                                      "accumulated local effects, " + m->info.arch + " on " + t.source, feature,
                                      "ALE of " + r.outputs[shown]));
  std::printf("wrote %s\n", out.c_str());
  if (!raw.empty()) {
    h5::File h(raw, h5::File::Mode::write);
    h.write("grid", Tensor::from_vector({int64_t(r.grid.size())}, r.grid));
    h.write("ale", Tensor::from_vector({int64_t(r.grid.size()), int64_t(K)}, r.ale));
    h.write("ale0", Tensor::from_vector({int64_t(K)}, r.ale0));
    std::string outs;
    for (size_t k = 0; k < K; ++k) outs += (k ? "\n" : "") + r.outputs[k];
    h.set_attr("feature", feature);
    h.set_attr("outputs", outs);
    h.commit();
  }
  return 0;
}

}  // namespace gt::cli
