// gradtrace evaluate on a table model: the rows of --dataset csv:FILE (its test split when it is the
// file the model was trained on, else every row) are the items. A row enters the metrics as a picture
// one pixel high, one "pixel" per encoded column (a number standardised, a category's one-hot
// columns): the perturbation metrics change columns, the map has one value per column, and the
// methods are the table gradient methods (xai/table_attribution.h: saliency, gradxinput, ig from the
// training rows' mean) and KernelSHAP against 100 training rows (xai/table_shap.h: the target's
// probability, each feature's Shapley value spread over its columns).
#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "cli/cli.h"
#include "cli/evaluate.h"
#include "xai/table_attribution.h"
#include "xai/table_shap.h"

namespace gt::cli {

const std::vector<std::string>& table_methods() {
  static const std::vector<std::string> m = {"saliency", "gradxinput", "ig", "kernelshap"};
  return m;
}

data::Items open_table_items(const nn::Model& m, const std::string& dataset, int64_t limit, TableRun& t) {
  t.table = load_table(m.info, dataset);
  if (t.table.schema.task != "classify")
    throw UsageError("evaluate scores class probabilities: " + m.info.arch + " predicts a number (" +
                     t.table.schema.target + ")");
  t.rows = split_rows(t.table, "test");
  t.background = sample_training_rows(t.table, 100, 0);  // kernelshap's, as the kernelshap command's
  if (limit && size_t(limit) < t.rows.size()) t.rows.resize(size_t(limit));
  data::Items items;
  items.source = dataset + (t.rows.size() == size_t(t.table.rows()) ? "" : " (test split)");
  for (int64_t r : t.rows) {
    items.names.push_back("row " + std::to_string(r) + " (line " + std::to_string(t.table.lines[size_t(r)]) + ")");
    const int32_t label = t.table.labels.empty() ? -1 : t.table.labels[size_t(r)];
    items.labels.push_back(label >= 0 ? t.table.schema.classes[size_t(label)] : "");
  }
  return items;
}

void set_table_input(xai::Subject& s, const TableRun& t, int64_t i) {
  const int64_t W = t.table.schema.width(), r = t.rows[size_t(i)];
  const std::vector<double> row(t.table.x.begin() + r * W, t.table.x.begin() + (r + 1) * W);
  s.x = Tensor::from_vector({1, 1, 1, W}, row, DType::f64).to(s.model->dtype()).to(s.model->device());
  nn::Model* m = s.model.get();
  s.fn = [m, W](const Tensor& in) { return (*m)(ops::reshape(in, {in.dim(0), W})); };
  NoGradGuard no_grad;
  s.probs = ops::softmax(s.fn(s.x)).to_vector();
  s.top1 = std::max_element(s.probs.begin(), s.probs.end()) - s.probs.begin();
  s.pixels = Tensor();
}

Explained explain_table_row(const std::string& method, xai::Subject& s, const TableRun& t, const xai::Target& target) {
  const data::TableSchema& schema = t.table.schema;
  const std::vector<double> baseline = xai::baseline_row(schema, "mean");
  nn::Model& m = *s.model;
  const TableRun* run = &t;
  const auto columns = [&m, &schema, baseline, method, run](const Tensor& x, int64_t c) {
    if (method == "kernelshap") {
      xai::SurrogateOptions o;
      o.samples = 2048;  // the kernelshap command's default
      return spread_over_columns(schema,
                                 xai::table_kernel_shap(m, schema, x.to_vector_f64(), run->background, c, o).phi);
    }
    return xai::table_attribution(m, schema, x.to_vector_f64(), c, method, baseline, xai::IgOptions{}).columns;
  };
  const std::vector<double> a = columns(s.x, target.index);
  Explained e;
  e.map.assign(a.begin(), a.end());
  e.attribution = Tensor::from_vector(s.x.shape(), a, DType::f64).to(s.x.dtype());
  e.again = [columns](const Tensor& x, int64_t c) {
    const std::vector<double> v = columns(x, c);
    return std::vector<float>(v.begin(), v.end());
  };
  return e;
}

}  // namespace gt::cli
