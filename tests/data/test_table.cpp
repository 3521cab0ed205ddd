// The CSV reader (data/csv.h) and tables (data/table.h): the forms UCI and Kaggle files take, the
// encoding, and one-line errors that name the file, the line and the column.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "autodiff/tensor.h"
#include "data/csv.h"
#include "data/table.h"

using namespace gt;

namespace {
std::string error_of(const std::string& text) {
  try {
    data::parse_csv(text, "t.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
const std::string kTables = std::string(GT_SHARED_DIR) + "/data/tables";
}  // namespace

TEST_CASE("csv: quotes, separators, spaces, byte-order mark and line ends", "[csv]") {
  const data::Csv c = data::parse_csv(
      "\xEF\xBB\xBFname; \"note, with ; inside\" ;x\r\n"
      "\"a \"\"b\"\"\";\"two\nlines\"; 1.5\r\n"
      "\r\n"
      " ;NA;?\n",
      "t.csv");
  CHECK(c.separator == ';');
  REQUIRE(c.header == std::vector<std::string>{"name", "note, with ; inside", "x"});
  REQUIRE(c.rows() == 2);
  CHECK(c.columns[0] == std::vector<std::string>{"a \"b\"", ""});
  CHECK(c.columns[1] == std::vector<std::string>{"two\nlines", "NA"});
  CHECK(c.columns[2] == std::vector<std::string>{"1.5", "?"});
  CHECK(c.lines == std::vector<int64_t>{2, 5});  // the quoted line break counts; the blank line is skipped

  const data::Csv uci = data::parse_csv("age, workclass\n39, State-gov\n", "u.csv");
  CHECK(uci.header == std::vector<std::string>{"age", "workclass"});
  CHECK(uci.columns[1][0] == "State-gov");

  const data::Csv tabs = data::parse_csv("a\tb\tc\n1\t\t 3\n", "t.tsv");
  CHECK(tabs.separator == '\t');
  CHECK(tabs.columns[1][0] == "");
  CHECK(tabs.columns[2][0] == "3");

  const data::Csv latin1 = data::parse_csv("stadt,n\nK\xF6ln,1\n", "l.csv");  // not UTF-8: read as Latin-1
  CHECK(latin1.latin1);
  CHECK(latin1.columns[0][0] == "K\xC3\xB6ln");
  CHECK_FALSE(data::parse_csv("stadt,n\nK\xC3\xB6ln,1\n", "u.csv").latin1);

  const data::Csv unnamed = data::parse_csv(",x,\n0,1,2\n", "p.csv");  // pandas' index column
  CHECK(unnamed.header == std::vector<std::string>{"column_1", "x", "column_3"});
}

TEST_CASE("csv: each malformed file is one error that names the file, line and column", "[csv]") {
  CHECK(error_of("a,b,c\n1,2,3\n4,5\n") == "t.csv:3: column 3: 2 fields where the header has 3 (c is missing)");
  CHECK(error_of("a,b\n1,2,3\n") == "t.csv:2: column 3: 3 fields where the header has 2");
  CHECK(error_of("a,b\n\n1,\"open\n2,3\n") == "t.csv:3: column 2: a quote opened on this line is never closed");
  CHECK(error_of("a,b\n\"x\"y,2\n").rfind("t.csv:2: column 1: text after a closing quote", 0) == 0);
  CHECK(error_of("a,b,a\n1,2,3\n") == "t.csv:1: column 3: the column name 'a' appears twice in the header");
  CHECK(error_of("a;b\n") == "t.csv: no data rows under the header");
  CHECK(error_of("\n \n") == "t.csv: empty file (a CSV table needs a header row)");
}

TEST_CASE("csv: a file over the size limit is refused before it is read", "[csv]") {
  const std::string path = (std::filesystem::temp_directory_path() / "gt_big.csv").string();
  {
    std::ofstream f(path, std::ios::binary);
    f << "a\n1\n";
    f.seekp(std::streamoff(data::max_csv_bytes()));  // a sparse file: no disk is used
    f << "\n";
  }
  try {
    data::read_csv(path);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("more than a CSV table may have (1.0 GiB") != std::string::npos);
    CHECK(std::string(e.what()).find("GRADTRACE_MAX_CSV_BYTES") != std::string::npos);
  }
  std::filesystem::remove(path);
}

TEST_CASE("csv: the shared tables, penguins and UCI Adult", "[csv]") {
  if (!std::filesystem::exists(kTables + "/adult.csv")) {
    WARN("skipped: ../shared/data/tables is absent");
    return;
  }
  const data::Csv p = data::read_csv(kTables + "/penguins.csv");
  CHECK(p.rows() == 344);
  CHECK(p.header.size() == 7);
  CHECK(p.columns[2][3] == "");  // Adelie, Torgersen, with every measurement missing
  const data::Csv a = data::read_csv(kTables + "/adult.csv");
  CHECK(a.rows() == 32560);  // SOURCES.md says 32,561 (UCI adult.data): this copy has one row fewer
  REQUIRE(a.header.size() == 15);
  CHECK(a.header[14] == "income");
  CHECK(a.columns[1][0] == "State-gov");  // ", " separators trimmed
  CHECK(a.columns[14][0] == "<=50K");
}

// ---- data/table.h: types, imputation, encoding, the split, the stored schema ----
namespace {
data::Table table_of(const std::string& text, data::TableOptions o, std::vector<std::string>* notes = nullptr) {
  return data::build_table(data::parse_csv(text, "t.csv"), o, [&](const std::string& n) {
    if (notes) notes->push_back(n);
  });
}
std::string table_error(const std::string& text, const data::TableOptions& o) {
  try {
    table_of(text, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("table: types inferred, missing values imputed from the training rows, one-hot and standardised", "[csv]") {
  data::TableOptions o;
  o.target = "y";
  o.val = 0;
  o.test = 0;
  std::vector<std::string> notes;
  const data::Table t = table_of("x,color,const,y\n1,red,5,a\n2,?,5,b\n,blue,5,a\n3,red,NA,b\n", o, &notes);
  const data::TableSchema& s = t.schema;
  CHECK(s.task == "classify");
  CHECK(s.classes == std::vector<std::string>{"a", "b"});
  REQUIRE(s.features.size() == 2);  // const is dropped
  CHECK(s.encoded_names() == std::vector<std::string>{"x", "color=blue", "color=red"});
  // x: the median of 1, 2, 3 fills the gap; mean 2 and population std sqrt(1/2) after imputation
  CHECK(s.features[0].fill == 2);
  CHECK(s.features[0].mean == Approx(2.0));
  CHECK(s.features[0].scale == Approx(std::sqrt(0.5)));
  const std::vector<double> row2(t.x.begin() + 3, t.x.begin() + 6);
  CHECK(row2 == std::vector<double>{0, 0, 1});  // color missing -> red, the most frequent
  CHECK(t.labels == std::vector<int32_t>{0, 1, 0, 1});
  CHECK(notes == std::vector<std::string>{"x: 1 missing value filled with 2 (the median)",
                                          "color: 1 missing value filled with 'red' (the most frequent)",
                                          "const: dropped, every value is '5'"});
  // a stored schema encodes a row as the one it came from; an unseen category is "other" with a warning
  const data::TableSchema back = data::TableSchema::from_json(s.to_json(), "m.h5");
  std::vector<double> enc(3);
  std::string warned;
  data::encode_row(
      back, {"3", "green", "5", "a"}, enc.data(), [&](const std::string& w) { warned = w; }, "--csv-row");
  CHECK(enc == std::vector<double>{(3 - 2) / std::sqrt(0.5), 0, 0});
  CHECK(warned == "--csv-row: color = 'green' was not seen in training: read as 'other' (all its one-hot columns 0)");
  data::encode_row(back, {"1", "blue"}, enc.data(), {}, "--csv-row");  // just the features
  CHECK(enc == std::vector<double>{(1 - 2) / std::sqrt(0.5), 1, 0});
}

TEST_CASE("table: bad columns and targets are one error that names the file, line and column", "[csv]") {
  data::TableOptions o;
  o.target = "y";
  std::string csv = "n,y\n";
  for (int i = 0; i < 20; ++i) csv += std::to_string(i) + "," + (i % 2 ? "a" : "b") + "\n";
  CHECK(table_error(csv + "seven,a\n", o) ==
        "t.csv:22: column 1 (n): 'seven' is text in a numeric column (20 of its 21 values are numbers); "
        "--categorical n reads it as categories, --drop n leaves it out");
  o.target = "z";
  CHECK(table_error(csv, o) == "--target: t.csv has no column 'z' (closest: n, y)");
  o.target = "y";
  CHECK(table_error("n,y\n1,a\n2,a\n", o) ==
        "t.csv: the target y has one class ('a') in its 2 rows: there is nothing to classify");
  o.task = "regress";
  CHECK(table_error(csv, o) ==
        "t.csv:2: column 2 (y): 'b' is not a number: a regression target must be one "
        "(--task classify treats its values as classes)");
  data::TableOptions c = o;
  c.task = "";
  c.categorical = {"n"};
  CHECK(table_of(csv + "seven,a\n", c).schema.features[0].categorical);
}

TEST_CASE("table: a column of mostly distinct text (an identifier) is noted with a hint to drop it", "[csv]") {
  std::string csv = "id,x,y\n";
  for (int i = 0; i < 400; ++i)
    csv += "p" + std::to_string(i) + "," + std::to_string(i % 7) + "," + (i % 2 ? "a" : "b") + "\n";
  data::TableOptions o;
  o.target = "y";
  std::vector<std::string> notes;
  table_of(csv, o, &notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "id: 280 distinct values in 280 training rows (an identifier? --drop id leaves it out)");
}

TEST_CASE("table: the split is stratified and fixed by the seed", "[csv]") {
  std::string csv = "x,y\n";
  for (int i = 0; i < 100; ++i) csv += std::to_string(i * 0.5) + "," + (i < 80 ? "a" : "b") + "\n";
  data::TableOptions o;
  o.target = "y";
  const data::Table t = table_of(csv, o), same = table_of(csv, o);
  CHECK(t.test.size() == 20);  // 16 of a, 4 of b
  CHECK(t.val.size() == 10);
  CHECK(t.train.size() == 70);
  CHECK(std::count_if(t.test.begin(), t.test.end(), [&](int64_t i) { return t.labels[size_t(i)] == 1; }) == 4);
  CHECK(t.test == same.test);
  o.seed = 1;
  CHECK(table_of(csv, o).test != t.test);
  // numeric targets with many values are regression, standardised on the training rows
  o.target = "x";
  o.categorical = {"y"};
  const data::Table r = table_of(csv, o);
  CHECK(r.schema.task == "regress");
  CHECK(r.y.size() == 100);
  CHECK(r.schema.target_scale > 10);
}

TEST_CASE("table: the shared tables encode as the course uses them", "[csv]") {
  if (!std::filesystem::exists(kTables + "/adult.csv")) {
    WARN("skipped: ../shared/data/tables is absent");
    return;
  }
  data::TableOptions o;
  o.target = "species";
  std::vector<std::string> notes;
  const data::Table p = data::build_table(data::read_csv(kTables + "/penguins.csv"), o,
                                          [&](const std::string& n) { notes.push_back(n); });
  CHECK(p.schema.classes == std::vector<std::string>{"Adelie", "Chinstrap", "Gentoo"});
  CHECK(p.schema.width() == 3 + 4 + 2);  // island, the 4 measurements, sex
  CHECK(p.rows() == 344);
  o.target = "income";
  const data::Table a = data::build_table(data::read_csv(kTables + "/adult.csv"), o, [](const std::string&) {});
  CHECK(a.schema.classes == std::vector<std::string>{"<=50K", ">50K"});
  CHECK(a.schema.features.size() == 14);
  CHECK(a.schema.width() == 6 + 99);  // 6 numeric; 8 categorical with 99 categories ("?" is missing)
}
