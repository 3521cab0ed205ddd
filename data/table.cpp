#include "data/table.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "autodiff/tensor.h"
#include "nn/init.h"
#include "nn/model.h"

namespace gt::data {
namespace {

// A whole field as a finite number ("1e3", " 2.5" after trimming); false for anything else.
bool parse_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(v);
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string count_text(int64_t n, const std::string& what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// "FILE:LINE: column K (NAME): " for an error about one field.
std::string at(const Csv& c, int64_t row, size_t col) {
  return c.name + ":" + std::to_string(c.lines[size_t(row)]) + ": column " + std::to_string(col + 1) + " (" +
         c.header[col] + "): ";
}

size_t column_index(const Csv& c, const std::string& name, const std::string& flag) {
  const auto it = std::find(c.header.begin(), c.header.end(), name);
  if (it != c.header.end()) return size_t(it - c.header.begin());
  std::string known;
  for (const std::string& k : nn::closest_names(name, c.header, 4)) known += (known.empty() ? "" : ", ") + k;
  throw InvalidArgument(flag + ": " + c.name + " has no column '" + name + "' (closest: " + known + ")");
}

// Sorted distinct values: numerically when every one is a number, else as text.
std::vector<std::string> sorted_values(const std::set<std::string>& values) {
  std::vector<std::string> v(values.begin(), values.end());
  double a = 0, b = 0;
  if (std::all_of(v.begin(), v.end(), [&](const std::string& s) { return parse_number(s, a); }))
    std::sort(v.begin(), v.end(), [&](const std::string& x, const std::string& y) {
      parse_number(x, a);
      parse_number(y, b);
      return a < b;
    });
  return v;
}

// Rows into train/val/test, each class on its own when `labels` is given (stratified), from the seed.
void split_rows(Table& t, const TableSchema& o, int64_t classes) {
  std::vector<std::vector<int64_t>> groups(size_t(std::max<int64_t>(classes, 1)));
  for (int64_t i = 0; i < t.rows(); ++i) groups[t.labels.empty() ? 0 : size_t(t.labels[size_t(i)])].push_back(i);
  std::mt19937_64 rng(nn::mix(o.split_seed, 11, 0));
  for (auto& g : groups) {
    std::shuffle(g.begin(), g.end(), rng);
    const auto n = double(g.size());
    const auto n_test = size_t(std::lround(o.split_test * n)), n_val = size_t(std::lround(o.split_val * n));
    for (size_t k = 0; k < g.size(); ++k) (k < n_test ? t.test : k < n_test + n_val ? t.val : t.train).push_back(g[k]);
  }
  for (auto* part : {&t.train, &t.val, &t.test}) std::sort(part->begin(), part->end());
}

// The target column: the task, the class names or the scale, one label or value per row; rows
// without a target are left out (with a note).
std::vector<int64_t> read_target(const Csv& c, size_t tc, const TableOptions& o, Table& t,
                                 const std::function<void(const std::string&)>& note) {
  TableSchema& s = t.schema;
  std::vector<int64_t> keep;
  std::set<std::string> values;
  bool numeric = true, integers = true;
  for (int64_t i = 0; i < c.rows(); ++i) {
    const std::string& f = c.columns[tc][size_t(i)];
    if (is_missing(f)) continue;
    keep.push_back(i);
    values.insert(f);
    double v = 0;
    if (!parse_number(f, v))
      numeric = false;
    else if (v != std::floor(v))
      integers = false;
  }
  if (keep.size() < size_t(c.rows()))
    note(s.target + ": " + count_text(c.rows() - int64_t(keep.size()), "row") + " without a value left out");
  s.task = !o.task.empty() ? o.task : (!numeric || (integers && values.size() <= 20)) ? "classify" : "regress";
  if (s.task == "regress") {
    for (int64_t i : keep)
      if (double v = 0; !parse_number(c.columns[tc][size_t(i)], v))
        throw Error(at(c, i, tc) + quote(c.columns[tc][size_t(i)]) +
                    " is not a number: a regression target must be one (--task classify treats its values as classes)");
  } else {
    s.classes = sorted_values(values);
    if (s.classes.size() < 2)
      throw Error(c.name + ": the target " + s.target + " has one class (" +
                  (s.classes.empty() ? std::string("no values at all") : quote(s.classes[0])) + ") in its " +
                  count_text(int64_t(keep.size()), "row") + ": there is nothing to classify");
  }
  for (int64_t i : keep) {
    const std::string& f = c.columns[tc][size_t(i)];
    if (s.task == "regress") {
      double v = 0;
      parse_number(f, v);
      t.y.push_back(v);
    } else {
      t.labels.push_back(int32_t(std::find(s.classes.begin(), s.classes.end(), f) - s.classes.begin()));
    }
    t.lines.push_back(c.lines[size_t(i)]);
  }
  return keep;
}

bool listed(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// One feature column fitted on the training rows; false when it carries nothing (all missing or a
// single value: dropped with a note).
bool fit_column(const Csv& c, size_t j, const std::vector<int64_t>& rows, const std::vector<int64_t>& train,
                const TableOptions& o, TableColumn& col, const std::function<void(const std::string&)>& note) {
  const std::vector<std::string>& v = c.columns[j];
  col.name = c.header[j];
  std::set<std::string> present;
  int64_t numbers = 0, first_text = -1, missing = 0;
  for (int64_t i : rows) {
    const std::string& f = v[size_t(i)];
    if (is_missing(f)) continue;
    present.insert(f);
    double x = 0;
    if (parse_number(f, x))
      ++numbers;
    else if (first_text < 0)
      first_text = i;
  }
  if (present.size() < 2) {
    note(col.name + ": dropped, " +
         (present.empty() ? "every value is missing" : "every value is " + quote(*present.begin())));
    return false;
  }
  const auto n_present =
      int64_t(std::count_if(rows.begin(), rows.end(), [&](int64_t i) { return !is_missing(v[size_t(i)]); }));
  col.categorical = listed(o.categorical, col.name) ||
                    (!listed(o.numeric, col.name) && numbers < n_present && double(numbers) < 0.9 * double(n_present));
  if (!col.categorical && first_text >= 0)
    throw Error(at(c, first_text, j) + quote(v[size_t(first_text)]) + " is text in a numeric column (" +
                std::to_string(numbers) + " of its " + std::to_string(n_present) +
                " values are numbers); --categorical " + col.name + " reads it as categories, --drop " + col.name +
                " leaves it out");
  std::vector<double> xs;  // the training rows' present values (numeric)
  std::map<std::string, int64_t> freq;
  for (int64_t i : train) {
    const std::string& f = v[size_t(i)];
    if (is_missing(f)) {
      ++missing;
      continue;
    }
    double x = 0;
    if (col.categorical)
      ++freq[f];
    else if (parse_number(f, x))
      xs.push_back(x);
  }
  if (col.categorical) {
    std::set<std::string> seen;
    for (const auto& [k, n] : freq) seen.insert(k);
    if (seen.empty()) seen = present;  // no training row has a value: the categories of the others
    col.categories = sorted_values(seen);
    if (col.categories.size() > 100 && 2 * col.categories.size() > train.size())  // one-hot of an identifier
      note(col.name + ": " + std::to_string(col.categories.size()) + " distinct values in " +
           count_text(int64_t(train.size()), "training row") + " (an identifier? --drop " + col.name +
           " leaves it out)");
    int64_t best = -1;
    for (size_t k = 0; k < col.categories.size(); ++k)
      if (freq[col.categories[k]] > best) best = freq[col.categories[k]], col.fill_category = int64_t(k);
    for (size_t k = 0; k < col.categories.size(); ++k)  // (a missing value counts as the fill)
      col.frequencies.push_back(double(freq[col.categories[k]] + (int64_t(k) == col.fill_category ? missing : 0)) /
                                double(std::max<size_t>(train.size(), 1)));
    if (missing)
      note(col.name + ": " + count_text(missing, "missing value") + " filled with " +
           quote(col.categories[size_t(col.fill_category)]) + " (the most frequent)");
    return true;
  }
  if (xs.empty()) xs.push_back(0);
  std::vector<double> sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  const size_t m = sorted.size();
  col.fill = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
  xs.insert(xs.end(), size_t(missing), col.fill);  // standardised after imputation, as a pipeline would
  col.mean = std::accumulate(xs.begin(), xs.end(), 0.0) / double(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - col.mean) * (x - col.mean);
  col.scale = std::sqrt(ss / double(xs.size()));
  if (!(col.scale > 0)) col.scale = 1;  // one value in the training rows, others elsewhere
  if (missing)
    note(col.name + ": " + count_text(missing, "missing value") + " filled with " + number_text(col.fill) +
         " (the median)");
  return true;
}

}  // namespace

bool is_missing(const std::string& f) {
  if (f.empty() || f == "?") return true;
  std::string l(f);
  for (char& ch : l) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return l == "na" || l == "n/a" || l == "nan" || l == "null" || l == "none";
}

int64_t TableSchema::width() const { return features.empty() ? 0 : features.back().offset + features.back().width(); }

std::vector<std::string> TableSchema::encoded_names() const {
  std::vector<std::string> names;
  for (const TableColumn& f : features) {
    if (!f.categorical) names.push_back(f.name);
    for (const std::string& k : f.categories) names.push_back(f.name + "=" + k);
  }
  return names;
}

int64_t TableSchema::feature_of(int64_t j) const {
  for (size_t k = 0; k < features.size(); ++k)
    if (j < features[k].offset + features[k].width()) return int64_t(k);
  throw Error("encoded column " + std::to_string(j) + " is past the table's " + std::to_string(width()));
}

void encode_row(const TableSchema& s, const std::vector<std::string>& fields, double* out,
                const std::function<void(const std::string&)>& warn, const std::string& where, double* values) {
  const bool full = fields.size() == s.header.size();
  if (!full && fields.size() != s.features.size())
    throw InvalidArgument(where + ": " + std::to_string(fields.size()) + " values; the model takes a row of its " +
                          std::to_string(s.features.size()) + " features or of the file's " +
                          std::to_string(s.header.size()) + " columns");
  for (size_t k = 0; k < s.features.size(); ++k) {
    const TableColumn& f = s.features[k];
    const size_t pos = full ? size_t(std::find(s.header.begin(), s.header.end(), f.name) - s.header.begin()) : k;
    const std::string& v = fields[pos];
    double* o = out + f.offset;
    if (!f.categorical) {
      double x = f.fill;
      if (!is_missing(v) && !parse_number(v, x))
        throw InvalidArgument(where + ": column " + std::to_string(pos + 1) + " (" + f.name + "): " + quote(v) +
                              " is not a number, and the model reads " + f.name + " as one");
      o[0] = (x - f.mean) / f.scale;
      if (values) values[k] = x;
      continue;
    }
    std::fill(o, o + f.width(), 0.0);
    const auto it =
        is_missing(v) ? f.categories.begin() + f.fill_category : std::find(f.categories.begin(), f.categories.end(), v);
    if (values) values[k] = it != f.categories.end() ? double(it - f.categories.begin()) : -1.0;
    if (it != f.categories.end())
      o[it - f.categories.begin()] = 1;
    else if (warn)
      warn(where + ": " + f.name + " = " + quote(v) +
           " was not seen in training: read as 'other' (all its one-hot columns 0)");
  }
}

Table build_table(const Csv& c, const TableOptions& o, const std::function<void(const std::string&)>& note) {
  if (o.target.empty())
    throw InvalidArgument("--target: name the column to predict (" + c.name + " has " +
                          std::to_string(c.header.size()) + " columns)");
  if (!o.task.empty() && o.task != "classify" && o.task != "regress")
    throw InvalidArgument("--task: classify or regress, not '" + o.task + "'");
  if (!(o.val >= 0 && o.test >= 0 && o.val + o.test < 1))
    throw InvalidArgument("the validation and test fractions must be at least 0 and leave rows to train on");
  Table t;
  t.source = c.name;
  t.schema.header = c.header;
  t.schema.target = o.target;
  const size_t tc = column_index(c, o.target, "--target");
  for (const auto* list : {&o.categorical, &o.numeric, &o.drop})
    for (const std::string& n : *list) column_index(c, n, "column list");
  const std::vector<int64_t> rows = read_target(c, tc, o, t, note);
  t.schema.split_seed = o.seed;
  t.schema.split_val = o.val;
  t.schema.split_test = o.test;
  t.schema.split_rows = t.rows();
  split_rows(t, t.schema, int64_t(t.schema.classes.size()));
  if (t.train.empty()) throw Error(c.name + ": no rows left to train on after the split");
  std::vector<int64_t> train;  // the training rows as rows of the file
  for (int64_t i : t.train) train.push_back(rows[size_t(i)]);
  for (size_t j = 0; j < c.header.size(); ++j) {
    if (j == tc || listed(o.drop, c.header[j])) continue;
    TableColumn col;
    if (!fit_column(c, j, rows, train, o, col, note)) continue;
    col.offset = t.schema.width();
    t.schema.features.push_back(std::move(col));
  }
  if (t.schema.features.empty()) throw Error(c.name + ": no feature column is left to learn from");
  if (t.schema.task == "regress") {
    double sum = 0, ss = 0;
    for (int64_t i : t.train) sum += t.y[size_t(i)];
    t.schema.target_mean = sum / double(t.train.size());
    for (int64_t i : t.train) ss += std::pow(t.y[size_t(i)] - t.schema.target_mean, 2);
    t.schema.target_scale = std::sqrt(ss / double(t.train.size()));
    if (!(t.schema.target_scale > 0)) t.schema.target_scale = 1;
  }
  const auto W = size_t(t.schema.width());
  t.x.resize(size_t(t.rows()) * W);
  t.values.resize(size_t(t.rows()) * t.schema.features.size());
  std::vector<std::string> fields(c.header.size());
  for (int64_t i = 0; i < t.rows(); ++i) {
    for (size_t j = 0; j < fields.size(); ++j) fields[j] = c.columns[j][size_t(rows[size_t(i)])];
    encode_row(t.schema, fields, &t.x[size_t(i) * W], {}, c.name + ":" + std::to_string(t.lines[size_t(i)]),
               &t.values[size_t(i) * t.schema.features.size()]);
  }
  return t;
}

Table apply_schema(const Csv& c, const TableSchema& s, const std::function<void(const std::string&)>& warn) {
  Table t;
  t.source = c.name;
  t.schema = s;
  std::vector<size_t> pos;  // the file's column of each header name the schema knows
  for (const std::string& name : s.header) {
    const auto it = std::find(c.header.begin(), c.header.end(), name);
    if (it == c.header.end() && name != s.target)
      throw Error(c.name + " has no column '" + name + "', which the model was trained with");
    pos.push_back(size_t(it - c.header.begin()));
  }
  const size_t tc = size_t(std::find(c.header.begin(), c.header.end(), s.target) - c.header.begin());
  if (tc == c.header.size()) throw Error(c.name + " has no column '" + s.target + "' (the target) to evaluate against");
  std::set<std::string> warned;
  const auto warn_once = [&](const std::string& w) {
    const std::string column = w.substr(w.find(": ") + 2, w.find(" = ") - w.find(": ") - 2);
    if (warn && warned.insert(column).second) warn(w + " (further rows not listed)");
  };
  const auto W = size_t(s.width());
  std::vector<std::string> fields(s.header.size());
  for (int64_t i = 0; i < c.rows(); ++i) {
    const std::string& v = c.columns[tc][size_t(i)];
    if (is_missing(v)) continue;
    if (s.task == "classify") {
      const auto k = std::find(s.classes.begin(), s.classes.end(), v) - s.classes.begin();
      if (size_t(k) == s.classes.size())
        throw Error(at(c, i, tc) + quote(v) + " is not one of the classes the model knows");
      t.labels.push_back(int32_t(k));
    } else {
      double y = 0;
      if (!parse_number(v, y)) throw Error(at(c, i, tc) + quote(v) + " is not a number (the target is numeric)");
      t.y.push_back(y);
    }
    for (size_t j = 0; j < fields.size(); ++j) fields[j] = pos[j] < c.header.size() ? c.columns[pos[j]][size_t(i)] : "";
    t.x.resize(t.x.size() + W);
    t.values.resize(t.values.size() + s.features.size());
    encode_row(s, fields, &t.x[t.x.size() - W], warn_once, c.name + ":" + std::to_string(c.lines[size_t(i)]),
               &t.values[t.values.size() - s.features.size()]);
    t.lines.push_back(c.lines[size_t(i)]);
  }
  if (t.rows() == 0) throw Error(c.name + ": no row has a value in the target column " + s.target);
  if (t.rows() == s.split_rows) {
    split_rows(t, s, int64_t(s.classes.size()));
  } else {
    t.test.resize(size_t(t.rows()));
    std::iota(t.test.begin(), t.test.end(), 0);
  }
  return t;
}

namespace {
// The label or target value of a row's target field, when it has a known one.
void read_row_target(const TableSchema& s, TableRow& r) {
  const size_t tc = size_t(std::find(s.header.begin(), s.header.end(), s.target) - s.header.begin());
  if (tc >= r.fields.size() || is_missing(r.fields[tc])) return;
  if (s.task == "classify") {
    const auto k = std::find(s.classes.begin(), s.classes.end(), r.fields[tc]) - s.classes.begin();
    if (size_t(k) < s.classes.size()) r.label = int32_t(k);
  } else {
    r.has_y = parse_number(r.fields[tc], r.y);
  }
}
}  // namespace

TableRow file_row(const TableSchema& s, const std::string& path, int64_t row,
                  const std::function<void(const std::string&)>& warn) {
  const Csv c = read_csv(path);
  if (row < 0 || row >= c.rows())
    throw InvalidArgument("--row " + std::to_string(row) + ": " + path + " has " + std::to_string(c.rows()) +
                          " rows (0 to " + std::to_string(c.rows() - 1) + ")");
  TableRow r;
  r.name = path + " row " + std::to_string(row) + " (line " + std::to_string(c.lines[size_t(row)]) + ")";
  for (const std::string& name : s.header) {
    const auto it = std::find(c.header.begin(), c.header.end(), name);
    if (it == c.header.end() && name != s.target &&
        std::any_of(s.features.begin(), s.features.end(), [&](const TableColumn& f) { return f.name == name; }))
      throw Error(path + " has no column '" + name + "', which the model takes");
    r.fields.push_back(it == c.header.end() ? "" : c.columns[size_t(it - c.header.begin())][size_t(row)]);
  }
  r.x.resize(size_t(s.width()));
  r.values.resize(s.features.size());
  encode_row(s, r.fields, r.x.data(), warn, r.name, r.values.data());
  read_row_target(s, r);
  return r;
}

TableRow pasted_row(const TableSchema& s, const std::string& text,
                    const std::function<void(const std::string&)>& warn) {
  const char sep = text.find(',') == std::string::npos && text.find(';') != std::string::npos ? ';' : ',';
  const std::vector<std::string> given = split_csv_line(text, sep, "--csv-row");
  TableRow r;
  r.name = "the --csv-row";
  if (given.size() == s.features.size() && given.size() != s.header.size()) {  // the features alone
    r.fields.assign(s.header.size(), "");
    for (size_t k = 0; k < given.size(); ++k)
      r.fields[size_t(std::find(s.header.begin(), s.header.end(), s.features[k].name) - s.header.begin())] = given[k];
  } else {
    r.fields = given;
  }
  r.x.resize(size_t(s.width()));
  r.values.resize(s.features.size());
  encode_row(s, r.fields, r.x.data(), warn, "--csv-row", r.values.data());
  read_row_target(s, r);
  return r;
}

Dataset table_dataset(const Table& t, const std::vector<int64_t>& rows, const std::string& source) {
  Dataset d;
  d.source = source;
  d.features = t.schema.width();
  d.class_names = t.schema.classes;
  d.values.reserve(rows.size() * size_t(d.features));
  for (int64_t i : rows) {
    for (int64_t j = 0; j < d.features; ++j) d.values.push_back(float(t.x[size_t(i * d.features + j)]));
    if (t.schema.task == "classify")
      d.labels.push_back(t.labels[size_t(i)]);
    else
      d.targets.push_back(float((t.y[size_t(i)] - t.schema.target_mean) / t.schema.target_scale));
  }
  return d;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace gt::data
