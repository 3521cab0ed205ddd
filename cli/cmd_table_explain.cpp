// saliency, gradxinput, ig and kernelshap on a table model's row (--row K or --csv-row): the gradient
// methods of xai/table_attribution.h and the Shapley values of xai/table_shap.h, per feature, largest first.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "cli/cli.h"
#include "io/hdf5.h"
#include "xai/table_attribution.h"
#include "xai/table_shap.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace saliency|gradxinput|ig|kernelshap --weights TABLE_MODEL.h5 --dataset csv:FILE --row K\n"
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
    "\n"
    "options:\n" GT_FLAG_ROW
    "  --target CLASS   a class name or index (default: the predicted class)\n"
    "  --baseline B     ig: mean (default: the training rows' means and category shares), median or zero\n"
    "  --steps N        ig: quadrature points (default 50); --method M its rule (default gausslegendre)\n"
    "  --background N   kernelshap: training rows of --dataset drawn as the background (default 100)\n"
    "  --samples N      kernelshap: coalitions (default 2048); --seed S for their draws and the background\n"
    "  --raw FILE.h5    write attribution [columns], features [features]; attributes f_x, f_baseline,\n"
    "                   delta (ig), target, method, features (names, one per line)\n" GT_FLAG_THREADS GT_FLAG_PRECISION;
}  // namespace

bool is_table_explain(int argc, char** argv) {
  const std::string cmd = argv[1];
  if (cmd != "saliency" && cmd != "gradxinput" && cmd != "ig" && cmd != "kernelshap") return false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--row" || a == "--csv-row" || a.rfind("--row=", 0) == 0 || a.rfind("--csv-row=", 0) == 0) return true;
  }
  return false;
}

namespace {
// The background rows of a table's KernelSHAP: `count` training rows of --dataset, drawn from the seed.
xai::TableRows background_rows(const nn::ModelInfo& info, const RowFlags& rf, long count, uint64_t seed,
                               data::Table& keep) {
  if (rf.dataset.empty())
    throw UsageError("kernelshap on a table needs --dataset csv:FILE: its rows are the background");
  keep = load_table(info, rf.dataset);
  std::vector<int64_t> rows = split_rows(keep, keep.train.empty() ? "all" : "train");
  std::mt19937_64 rng(seed);
  std::shuffle(rows.begin(), rows.end(), rng);
  if (size_t(count) < rows.size()) rows.resize(size_t(count));
  return xai::table_rows(keep, rows);
}

// A row's attribution per feature by `method`, with its facts (f_x, f_baseline, delta or phi0).
struct Explained {
  std::vector<double> columns, features;
  std::vector<std::pair<std::string, double>> facts;
  std::string note;
};
}  // namespace

int run_table_explain(int argc, char** argv) {
  const std::string method = argv[1];
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), target_s = a.get("--target", ""), raw = a.get("--raw", "");
  const RowFlags rf = row_flags(a);
  const bool shap = method == "kernelshap";
  const std::string baseline_kind = shap ? "" : a.get("--baseline", "mean");
  xai::IgOptions ig;
  xai::SurrogateOptions so;
  long background = 100;
  if (shap) {
    so.samples = int(a.get_int("--samples", 2048, 1, 10000000));
    so.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
    background = a.get_int("--background", 100, 1, 100000);
  } else {
    ig.steps = int(a.get_int("--steps", 50, 1, 100000));
    ig.method = a.get("--method", "gausslegendre");
  }
  apply_threads(a);
  apply_precision(a);
  a.finish();
  if (!raw.empty()) check_out_folder("--raw", raw);
  auto m = load_model(weights, "");
  check_input_kind(m->info, "", rf);
  const data::TableSchema s = table_schema(m->info);
  const data::TableRow row = load_row(m->info, rf);
  int64_t target = 0;
  double p = 0;
  if (s.task == "classify") {
    NoGradGuard no_grad;
    const std::vector<double> probs =
        ops::softmax((*m)(Tensor::from_vector({1, s.width()}, row.x, precision()))).to_vector_f64();
    const int64_t top1 = std::max_element(probs.begin(), probs.end()) - probs.begin();
    target = resolve_target(target_s, m->info, top1, false).index;
    p = probs[size_t(target)];
  }
  Explained r;
  if (shap) {
    data::Table table;
    const xai::TableRows bg = background_rows(m->info, rf, background, so.seed, table);
    const xai::SurrogateResult k = xai::table_kernel_shap(*m, s, row.x, bg, target, so);
    r.features = k.phi;
    for (const data::TableColumn& f : s.features)  // (a feature's value spread over its columns)
      for (int64_t c = 0; c < f.width(); ++c)
        r.columns.push_back(k.phi[size_t(&f - &s.features[0])] / double(f.width()));
    r.facts = {{"f_x", k.f_x}, {"phi0", k.phi0}, {"evaluations", double(k.evaluations)}, {"r2", k.r2}};
    char line[200];
    std::snprintf(line, sizeof line, "sum %.6g = f(x) %.6g - E f(background) %.6g (%ld background rows, %s)",
                  k.f_x - k.phi0, k.f_x, k.phi0, long(bg.rows()),
                  k.exact ? "every coalition: exact Shapley values" : "sampled coalitions");
    r.note = line;
  } else {
    const xai::TableAttribution g =
        xai::table_attribution(*m, s, row.x, target, method, xai::baseline_row(s, baseline_kind), ig);
    r.columns = g.columns, r.features = g.features;
    r.facts = {{"f_x", g.f_x}, {"f_baseline", g.f_baseline}, {"delta", g.delta}};
    char line[200];
    std::snprintf(line, sizeof line, "sum %.6g = F(x) %.6g - F(baseline) %.6g, delta %.3g (%s baseline, %d points)",
                  std::accumulate(g.features.begin(), g.features.end(), 0.0), g.f_x, g.f_baseline, g.delta,
                  baseline_kind.c_str(), ig.steps);
    if (method == "ig") r.note = line;
  }

  if (s.task == "classify")
    std::printf("%s of class %s (p = %.4f) on %s, %s\n", method.c_str(), s.classes[size_t(target)].c_str(), p,
                row.name.c_str(), m->info.arch.c_str());
  else
    std::printf("%s of %s on %s, %s\n", method.c_str(), s.target.c_str(), row.name.c_str(), m->info.arch.c_str());
  std::vector<size_t> order(s.features.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return std::abs(r.features[i]) > std::abs(r.features[j]); });
  std::printf("  %-24s %-20s %s\n", "feature", "value", "attribution");
  for (size_t i : order) {
    const size_t col = size_t(std::find(s.header.begin(), s.header.end(), s.features[i].name) - s.header.begin());
    const std::string v = col < row.fields.size() && !row.fields[col].empty() ? row.fields[col] : "(missing)";
    std::printf("  %-24s %-20s %+.6g\n", s.features[i].name.c_str(), v.substr(0, 20).c_str(), r.features[i]);
  }
  if (!r.note.empty()) std::printf("%s\n", r.note.c_str());
  if (!raw.empty()) {
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
  return 0;
}

}  // namespace gt::cli
