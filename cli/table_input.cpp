// A table model's input row on the command line (cli.h: RowFlags).
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "cli/cli.h"

namespace gt::cli {

RowFlags row_flags(Args& a) {
  RowFlags rf;
  rf.dataset = a.get("--dataset", "");
  rf.row = a.given("--row") ? a.get_int("--row", 0, 0, 1L << 40) : -1;
  rf.csv_row = a.get("--csv-row", "");
  if (rf.row >= 0 && !rf.csv_row.empty()) throw UsageError("give --row K or --csv-row, not both");
  if (rf.row >= 0 && rf.dataset.rfind("csv:", 0) != 0) throw UsageError("--row K reads a row of --dataset csv:FILE");
  return rf;
}

void check_input_kind(const nn::ModelInfo& info, const std::string& image, const RowFlags& rf) {
  if (info.features && !image.empty())
    throw UsageError("the model " + info.arch +
                     " takes table rows: --dataset csv:FILE --row K or --csv-row, not --image");
  if (info.features && !rf.given()) throw UsageError("the model " + info.arch + " takes a row: --row K or --csv-row");
  if (!info.features && rf.given())
    throw UsageError("--row and --csv-row go with a table model; " + info.arch + " takes --image");
}

std::vector<double> row_probabilities(nn::Model& m, const data::TableRow& row) {
  NoGradGuard no_grad;
  return ops::softmax(m(Tensor::from_vector({1, int64_t(row.x.size())}, row.x, precision()))).to_vector_f64();
}

data::TableSchema table_schema(const nn::ModelInfo& info) {
  return data::TableSchema::from_json(info.table, "the model " + info.arch);
}

data::TableRow load_row(const nn::ModelInfo& info, const RowFlags& rf) {
  const data::TableSchema s = table_schema(info);
  const auto warn = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
  return rf.row >= 0 ? data::file_row(s, rf.dataset.substr(4), rf.row, warn) : data::pasted_row(s, rf.csv_row, warn);
}

std::string split_flag(Args& a) {
  const std::string split = a.get("--split", "test");
  if (split != "test" && split != "val" && split != "train" && split != "all")
    throw UsageError("--split must be test, val, train or all, got '" + split + "'");
  return split;
}

data::Table load_table(const nn::ModelInfo& info, const std::string& dataset) {
  if (dataset.rfind("csv:", 0) != 0)
    throw UsageError("the model " + info.arch + " takes table rows: --dataset csv:FILE");
  return data::apply_schema(data::read_csv(dataset.substr(4)), table_schema(info),
                            [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); });
}

std::vector<int64_t> split_rows(const data::Table& t, const std::string& split) {
  std::vector<int64_t> rows;
  if (split == "all" || t.test.size() == size_t(t.rows())) {
    if (split != "all" && split != "test")
      throw Error(t.source + " is not the file the model was trained on (" + std::to_string(t.rows()) +
                  " rows with a target, not " + std::to_string(t.schema.split_rows) + "): it has no " + split +
                  " split");
    rows.resize(size_t(t.rows()));
    std::iota(rows.begin(), rows.end(), 0);
  } else {
    rows = split == "test" ? t.test : split == "val" ? t.val : t.train;
  }
  if (rows.empty()) throw Error(t.source + ": the " + split + " split has no rows");
  return rows;
}

data::Dataset table_split(const data::Table& t, const std::string& split) {
  const std::vector<int64_t> rows = split_rows(t, split);
  return data::table_dataset(t, rows, t.source + " (" + (rows.size() == size_t(t.rows()) ? "all" : split) + ")");
}

TableInput load_table_input(const std::string& weights, const std::string& dataset, const std::string& split,
                            long max_rows, const std::string& command) {
  if (dataset.empty()) throw UsageError("--dataset csv:FILE is required");
  TableInput in;
  in.model = load_model(weights, "");
  if (!in.model->info.features)
    throw UsageError("the model " + in.model->info.arch + " takes images; " + command + " is for table models");
  in.table = load_table(in.model->info, dataset);
  in.rows = split_rows(in.table, split);
  if (max_rows && size_t(max_rows) < in.rows.size()) in.rows.resize(size_t(max_rows));
  return in;
}

xai::TableRows sample_training_rows(const data::Table& t, long count, uint64_t seed) {
  std::vector<int64_t> rows = split_rows(t, t.train.empty() ? "all" : "train");
  std::mt19937_64 rng(seed);
  std::shuffle(rows.begin(), rows.end(), rng);
  if (count && size_t(count) < rows.size()) rows.resize(size_t(count));
  return xai::table_rows(t, rows);
}

std::vector<double> spread_over_columns(const data::TableSchema& s, const std::vector<double>& per_feature) {
  std::vector<double> columns;
  for (size_t j = 0; j < s.features.size(); ++j)
    for (int64_t c = 0; c < s.features[j].width(); ++c)
      columns.push_back(per_feature[j] / double(s.features[j].width()));
  return columns;
}

}  // namespace gt::cli
