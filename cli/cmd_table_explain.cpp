// saliency, gradxinput, ig, kernelshap and lime on a table model's row (--row K or --csv-row): the
// gradient methods of xai/table_attribution.h, the Shapley values of xai/table_shap.h and LIME
// (xai/table_lime.h), per feature, largest first.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "render/chart.h"
#include "xai/table_attribution.h"
#include "xai/table_lime.h"
#include "xai/table_shap.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace saliency|gradxinput|ig|kernelshap|lime --weights TABLE_MODEL.h5 --dataset csv:FILE --row K\n"
    "       gradtrace saliency|gradxinput|ig --weights TABLE_MODEL.h5 --csv-row \"v1,v2,...\" [options]\n"
    "\n"
    "The gradient of the target's score (a class's logit, or the predicted value in the target's\n"
    "units) with respect to a table row, on the tape: saliency dF/dx, gradxinput x dF/dx, ig the\n"
    "integrated gradients from a baseline row (their sum is F(x) - F(baseline)). x is the encoded row:\n"
    "numbers standardised (0 = the training mean), categories one-hot; a categorical feature's\n"
    "attribution is the sum over its one-hot columns.\n"
    "kernelshap (Lundberg & Lee 2017, as shap's KernelExplainer): the Shapley values of the features,\n"
    "a coalition worth the model's mean answer (a class's probability, or the value) over background\n"
    "rows given the coalition's values from the row; exact when every coalition fits in --samples.\n"
    "lime (Ribeiro et al. 2016, as lime.lime_tabular): rows drawn from the training data's quartile\n"
    "bins and categories, a weighted ridge fit of the answer on \"falls in the row's own bin\"; the\n"
    "weight of each feature's condition (\"28 < age <= 37\").\n"
    "\n"
    "options:\n" GT_FLAG_ROW
    "  --target CLASS   a class name or index (default: the predicted class)\n"
    "  --baseline B     ig: mean (default: the training rows' means and category shares), median or zero\n"
    "  --steps N        ig: quadrature points (default 50); --method M its rule (default gausslegendre)\n"
    "  --background N   kernelshap: training rows of --dataset drawn as the background (default 100)\n"
    "  --samples N      kernelshap: coalitions (default 2048); lime: rows drawn (default 5000); --seed S\n"
    "                   for the draws\n"
    "  --out FILE.png   the bar chart (default METHOD.png)\n"
    "  --raw FILE.h5    write attribution [columns], features [features]; attributes f_x, f_baseline,\n"
    "                   delta (ig), target, method, features (names, one per line)\n" GT_FLAG_THREADS GT_FLAG_PRECISION;
}  // namespace

bool is_table_explain(int argc, char** argv) {
  const std::string cmd = argv[1];
  if (cmd != "saliency" && cmd != "gradxinput" && cmd != "ig" && cmd != "kernelshap" && cmd != "lime") return false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--row" || a == "--csv-row" || a.rfind("--row=", 0) == 0 || a.rfind("--csv-row=", 0) == 0) return true;
  }
  return false;
}

namespace {
// A row's attribution per feature, with its facts for the raw file and a line for the user.
struct Explained {
  std::vector<double> columns, features;
  std::vector<std::string> shown;  // per feature, what the value column shows ("" = the row's value)
  std::vector<std::pair<std::string, double>> facts;
  std::string note;
};

struct Settings {
  std::string method, baseline = "mean";
  xai::IgOptions ig;
  xai::SurrogateOptions so;
  long background = 100;
};

// Training rows of --dataset: all of them, or `count` drawn from the seed (0: all).
xai::TableRows training_rows(const nn::ModelInfo& info, const RowFlags& rf, long count, uint64_t seed,
                             data::Table& keep, const std::string& method) {
  if (rf.dataset.empty())
    throw UsageError(method + " on a table needs --dataset csv:FILE: its training rows are what it samples from");
  keep = load_table(info, rf.dataset);
  return sample_training_rows(keep, count, seed);
}

Explained explain(nn::Model& m, const data::TableSchema& s, const data::TableRow& row, int64_t target,
                  const RowFlags& rf, const Settings& st) {
  Explained r;
  char line[240];
  data::Table table;
  if (st.method == "kernelshap") {
    const xai::TableRows bg = training_rows(m.info, rf, st.background, st.so.seed, table, st.method);
    const xai::SurrogateResult k = xai::table_kernel_shap(m, s, row.x, bg, target, st.so);
    r.features = k.phi, r.columns = spread_over_columns(s, k.phi);
    r.facts = {{"f_x", k.f_x}, {"phi0", k.phi0}, {"evaluations", double(k.evaluations)}, {"r2", k.r2}};
    std::snprintf(line, sizeof line, "sum %.6g = f(x) %.6g - E f(background) %.6g (%ld background rows, %s)",
                  k.f_x - k.phi0, k.f_x, k.phi0, long(bg.rows()),
                  k.exact ? "every coalition: exact Shapley values" : "sampled coalitions");
  } else if (st.method == "lime") {
    const xai::LimeSampler sampler = xai::lime_sampler(training_rows(m.info, rf, 0, 0, table, st.method));
    const xai::TableLimeResult l = xai::table_lime(m, s, sampler, row.values, target, st.so.samples, st.so.seed);
    r.features = l.phi, r.columns = spread_over_columns(s, l.phi), r.shown = l.conditions;
    r.facts = {{"intercept", l.intercept}, {"score", l.score}, {"local_pred", l.local_pred}, {"f_x", l.f_x}};
    std::snprintf(line, sizeof line,
                  "intercept %.6g, local prediction %.6g (the model: %.6g), weighted R2 %.3f (%d samples)", l.intercept,
                  l.local_pred, l.f_x, l.score, st.so.samples);
  } else {
    const xai::TableAttribution g =
        xai::table_attribution(m, s, row.x, target, st.method, xai::baseline_row(s, st.baseline), st.ig);
    r.columns = g.columns, r.features = g.features;
    r.facts = {{"f_x", g.f_x}, {"f_baseline", g.f_baseline}, {"delta", g.delta}};
    std::snprintf(line, sizeof line, "sum %.6g = F(x) %.6g - F(baseline) %.6g, delta %.3g (%s baseline, %d points)",
                  std::accumulate(g.features.begin(), g.features.end(), 0.0), g.f_x, g.f_baseline, g.delta,
                  st.baseline.c_str(), st.ig.steps);
    if (st.method != "ig") line[0] = 0;
  }
  r.note = line;
  return r;
}

void write_raw(const std::string& raw, const data::TableSchema& s, const Explained& r, const std::string& method,
               int64_t target) {
  h5::File h(raw, h5::File::Mode::write);
  h.store_as(precision());
  h.write("attribution", Tensor::from_vector({s.width()}, r.columns));
  h.write("features", Tensor::from_vector({int64_t(r.features.size())}, r.features));
  std::string names;
  for (size_t i = 0; i < s.features.size(); ++i) names += (i ? "\n" : "") + s.features[i].name;
  h.set_attr("features", names);
  h.set_attr("method", method);
  h.set_attr("target", double(target));
  for (const auto& [k, v] : r.facts) h.set_attr(k, v);
  h.commit();
}
}  // namespace

int run_table_explain(int argc, char** argv) {
  Settings st;
  st.method = argv[1];
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), target_s = a.get("--target", ""), raw = a.get("--raw", "");
  const std::string out = a.get("--out", st.method + ".png");
  const RowFlags rf = row_flags(a);
  const bool sampled = st.method == "kernelshap" || st.method == "lime";
  if (sampled) {
    st.so.samples = int(a.get_int("--samples", st.method == "lime" ? 5000 : 2048, 2, 10000000));
    st.so.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
    if (st.method == "kernelshap") st.background = a.get_int("--background", 100, 1, 100000);
  } else {
    st.baseline = a.get("--baseline", "mean");
    st.ig.steps = int(a.get_int("--steps", 50, 1, 100000));
    st.ig.method = a.get("--method", "gausslegendre");
  }
  apply_threads(a);
  apply_precision(a);
  a.finish();
  if (!raw.empty()) check_out_folder("--raw", raw);
  check_out_folder("--out", out);
  auto m = load_model(weights, "");
  check_input_kind(m->info, "", rf);
  const data::TableSchema s = table_schema(m->info);
  const data::TableRow row = load_row(m->info, rf);
  int64_t target = 0;
  double p = 0;
  if (s.task == "classify") {
    const std::vector<double> probs = row_probabilities(*m, row);
    const int64_t top1 = std::max_element(probs.begin(), probs.end()) - probs.begin();
    target = resolve_target(target_s, m->info, top1, false).index;
    p = probs[size_t(target)];
  }
  const Explained r = explain(*m, s, row, target, rf, st);
  if (s.task == "classify")
    std::printf("%s of class %s (p = %.4f) on %s, %s\n", st.method.c_str(), s.classes[size_t(target)].c_str(), p,
                row.name.c_str(), m->info.arch.c_str());
  else
    std::printf("%s of %s on %s, %s\n", st.method.c_str(), s.target.c_str(), row.name.c_str(), m->info.arch.c_str());
  std::vector<size_t> order(s.features.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return std::abs(r.features[i]) > std::abs(r.features[j]); });
  std::printf("  %-24s %-36s %s\n", "feature", r.shown.empty() ? "value" : "condition", "attribution");
  for (size_t i : order) {
    const size_t col = size_t(std::find(s.header.begin(), s.header.end(), s.features[i].name) - s.header.begin());
    std::string v = col < row.fields.size() && !row.fields[col].empty() ? row.fields[col] : "(missing)";
    if (!r.shown.empty()) v = r.shown[i];
    std::printf("  %-24s %-36s %+.6g\n", s.features[i].name.c_str(), v.substr(0, 36).c_str(), r.features[i]);
  }
  if (!r.note.empty()) std::printf("%s\n", r.note.c_str());
  std::vector<viz::Bar> bars;
  for (size_t i = 0; i < s.features.size(); ++i) {
    const size_t col = size_t(std::find(s.header.begin(), s.header.end(), s.features[i].name) - s.header.begin());
    bars.push_back({s.features[i].name, r.features[i], 0,
                    !r.shown.empty()          ? r.shown[i]
                    : col < row.fields.size() ? "= " + row.fields[col]
                                              : ""});
  }
  const std::string of = s.task == "classify" ? s.classes[size_t(target)] : s.target;
  viz::write_png(out, viz::bar_chart(bars, st.method + " of " + of + ", " + row.name, "attribution per feature"));
  std::printf("wrote %s\n", out.c_str());
  if (!raw.empty()) write_raw(raw, s, r, st.method, target);
  return 0;
}

}  // namespace gt::cli
