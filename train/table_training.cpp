// Training on a CSV table (--dataset csv:FILE --target COLUMN): the table read, typed, split and
// encoded (data/table.h), an mlp or linear model of its rows, and linear regression fitted exactly.
#include <Eigen/Dense>

#include "nn/init.h"
#include "train/training.h"

namespace gt::train {
namespace {

std::vector<std::string> comma_list(const std::string& s) {
  std::vector<std::string> out;
  for (size_t a = 0; a < s.size();) {
    const size_t b = std::min(s.find(',', a), s.size());
    if (b > a) out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

}  // namespace

TrainData load_table_data(const RunSettings& r, const std::function<void(const std::string&)>& note) {
  const std::string file = data::parse_dataset(r.dataset).dir;
  data::TableOptions o;
  o.target = r.target;
  o.task = r.task;
  o.categorical = comma_list(r.categorical);
  o.numeric = comma_list(r.numeric);
  o.drop = comma_list(r.drop);
  o.val = r.val < 0 ? 0.1 : r.val;
  o.test = r.test;
  o.seed = r.config.seed;
  const data::Csv csv = data::read_csv(file);
  if (csv.latin1) note(file + " is not UTF-8: read as Latin-1");
  auto t = std::make_shared<data::Table>(data::build_table(csv, o, note));
  std::vector<int64_t> train = t->train;
  if (r.limit > 0 && r.limit < int64_t(train.size())) train.resize(size_t(r.limit));
  TrainData d;
  d.train = data::table_dataset(*t, train, file + " (train)");
  // Validation rows, else the test rows, else (--val 0 --test 0: every row trains) the training rows.
  const std::vector<int64_t>& held = !t->val.empty() ? t->val : !t->test.empty() ? t->test : t->train;
  d.val_name = !t->val.empty() ? "validation" : !t->test.empty() ? "test" : "train";
  d.val = data::table_dataset(*t, held, file + " (" + d.val_name + ")");
  d.table = std::move(t);
  return d;
}

std::unique_ptr<nn::Model> make_table_model(const RunSettings& r, const TrainData& d) {
  const data::TableSchema& s = d.table->schema;
  if (r.model != "mlp" && r.model != "linear")
    throw InvalidArgument("--model " + r.model + " takes images; a table trains --model mlp or --model linear");
  nn::ModelOptions o;
  o.features = s.width();
  o.classes = s.task == "classify" ? int64_t(s.classes.size()) : 1;
  if (r.model == "mlp")
    for (const std::string& w : comma_list(r.hidden)) {
      char* end = nullptr;
      const long v = std::strtol(w.c_str(), &end, 10);
      if (*end || v < 1 || v > 100000)
        throw InvalidArgument("--hidden: '" + w + "' is not a layer width (1 to 100000)");
      o.hidden.push_back(v);
    }
  o.dropout = r.dropout;
  auto m = nn::make_model(r.model, o);
  m->info.variant = "gradtrace";
  m->info.table = s.to_json();
  if (s.task == "classify") {
    m->info.labels = "custom";
    m->info.class_names = s.classes;
  }
  nn::init_parameters(*m, r.config.seed);
  return m;
}

// Least squares with an intercept on the training rows, in double:
//   [X 1] [w; b] ~ y_std   (y standardised, as the model predicts it)
// with the minimum-norm solution where one-hot columns make [X 1] rank-deficient (numpy's lstsq).
void fit_least_squares(nn::Model& m, const data::Table& t) {
  const int64_t W = t.schema.width(), N = int64_t(t.train.size());
  Eigen::MatrixXd A(N, W + 1);
  Eigen::VectorXd y(N);
  for (int64_t n = 0; n < N; ++n) {
    const auto i = size_t(t.train[size_t(n)]);
    for (int64_t j = 0; j < W; ++j) A(n, j) = t.x[i * size_t(W) + size_t(j)];
    A(n, W) = 1;
    y(n) = (t.y[i] - t.schema.target_mean) / t.schema.target_scale;
  }
  const Eigen::VectorXd w = A.completeOrthogonalDecomposition().solve(y);
  auto* out = dynamic_cast<nn::Dense*>(m.find("output"));
  if (!out) throw Error("fit_least_squares: the model has no dense layer 'output'");
  std::vector<double> weight(w.data(), w.data() + W);
  out->weight = Tensor::from_vector({1, W}, weight, out->weight.dtype());
  out->bias = Tensor::from_vector({1}, std::vector<double>{w(W)}, out->bias.dtype());
}

}  // namespace gt::train
