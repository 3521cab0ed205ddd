// A CSV table as a model's input. The schema says how a row becomes numbers, and is stored in the
// weights file (as JSON), so that a row is encoded the same way at explanation time:
//   numeric column      x -> (x - mean) / scale      (a missing value -> the training rows' median)
//   categorical column  one 0/1 column per category  (a missing value -> the most frequent category;
//                                                      one unseen in training -> all 0: "other")
// Types are inferred (a column whose every present value is a number is numeric) and may be forced;
// the statistics come from the training rows only.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/dataset.h"

namespace gt::data {

struct TableColumn {
  std::string name;
  bool categorical = false;
  double mean = 0, scale = 1, fill = 0;  // numeric: standardisation (population std) and the median
  std::vector<std::string> categories;   // categorical: sorted (numerically when all are numbers)
  int64_t fill_category = 0;             // categorical: the most frequent category
  std::vector<double> frequencies;       // categorical: each category's share of the training rows
  int64_t offset = 0;                    // its first column in the encoded row
  int64_t width() const { return categorical ? int64_t(categories.size()) : 1; }
};

struct TableSchema {
  std::vector<std::string> header;           // every column of the file, in its order (a pasted row has these)
  std::vector<TableColumn> features;         // the model's inputs, in file order
  std::string target, task;                  // task: classify | regress
  std::vector<std::string> classes;          // classify: the target's values in class order
  double target_mean = 0, target_scale = 1;  // regress: the model predicts (y - mean) / scale
  // The split the model was trained with: `eval` on the same file evaluates the same test rows.
  uint64_t split_seed = 0;
  double split_val = 0, split_test = 0;
  int64_t split_rows = 0;  // the rows with a target value
  int64_t width() const;   // columns of an encoded row
  // Per encoded column: "age", "sex=Male".
  std::vector<std::string> encoded_names() const;
  // The feature that encoded column j belongs to.
  int64_t feature_of(int64_t j) const;
  std::string to_json() const;
  // Throws gt::Error naming `where` for malformed or inconsistent JSON (it comes from a weights file).
  static TableSchema from_json(const std::string& text, const std::string& where);
};

// "%.6g": a number as messages, conditions and tables print it.
std::string number_text(double v);

// True for the spellings of a missing value: "", NA, N/A, NaN, null, None, ? (any case).
bool is_missing(const std::string& field);

struct TableOptions {
  std::string target;
  std::string task;  // classify | regress | "" (inferred: text or a few integer values -> classify)
  std::vector<std::string> categorical, numeric, drop;  // columns forced to a type, or left out
  double val = 0.1, test = 0.2;                         // split fractions
  uint64_t seed = 0;
};

// The rows of a table, encoded.
struct Table {
  std::string source;  // "adult.csv"
  TableSchema schema;
  std::vector<double> x;                  // rows x schema.width()
  std::vector<double> values;             // rows x features: each numeric feature's number (a missing
                                          // one: its fill), each categorical's category index (-1: other)
  std::vector<int32_t> labels;            // classify: per row
  std::vector<double> y;                  // regress: per row, in the target's own units
  std::vector<int64_t> lines;             // per row, its line in the file
  std::vector<int64_t> train, val, test;  // the split: row indices
  int64_t rows() const { return int64_t(lines.size()); }
};

// Reads the target, splits the rows (stratified by class for classify, seeded), fits the schema on the
// training rows and encodes every row. `note` receives one line per decision a user should see
// (missing values imputed, columns dropped). Throws gt::Error "FILE:LINE: column K (NAME): ..." for
// text in a numeric column, and for an unknown target, a target with one class or a non-numeric
// regression target; options naming unknown columns are errors too.
Table build_table(const Csv& c, const TableOptions& o, const std::function<void(const std::string&)>& note);

// The rows `rows` of t as a training Dataset (float32 values; class names; standardised targets).
Dataset table_dataset(const Table& t, const std::vector<int64_t>& rows, const std::string& source);

// A table read with a stored schema (eval, the explainers): every row with a target value, encoded;
// a target value that is not one of the classes is an error naming its line. When the file has
// the rows the model was trained on (as many), the split is the training run's; otherwise every row
// is in `test`. `warn` hears of categories unseen in training (once per column).
Table apply_schema(const Csv& c, const TableSchema& s, const std::function<void(const std::string&)>& warn);

// One row to explain or classify, encoded: from a CSV file (`row`, 0-based as pandas counts) or
// pasted (--csv-row: the values of the file's columns or of the model's features, comma-separated).
struct TableRow {
  std::vector<double> x;            // the encoded row (schema.width())
  std::vector<double> values;       // per feature: its number or category index (Table::values)
  std::vector<std::string> fields;  // header order ("" for the columns a pasted row leaves out)
  std::string name;                 // "adult.csv row 12 (line 14)", "the --csv-row"
  int32_t label = -1;               // classify: the row's class in the file (-1: none or unknown)
  double y = 0;                     // regress: the row's target in the file
  bool has_y = false;
};
TableRow file_row(const TableSchema& s, const std::string& path, int64_t row,
                  const std::function<void(const std::string&)>& warn);
TableRow pasted_row(const TableSchema& s, const std::string& text, const std::function<void(const std::string&)>& warn);

// One row of fields (header order) as the schema encodes it into out[0..width). `warn` hears of a
// category unseen in training. Throws for text in a numeric column. With `values`, also each
// feature's value there (Table::values).
void encode_row(const TableSchema& s, const std::vector<std::string>& fields, double* out,
                const std::function<void(const std::string&)>& warn, const std::string& where,
                double* values = nullptr);

}  // namespace gt::data
