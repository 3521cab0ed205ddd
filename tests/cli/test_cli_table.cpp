// Tables through the CLI (gradtrace train --dataset csv:FILE): the course's accuracy on the shared
// tables, linear regression against numpy's least squares, and the schema stored in the weights.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <tuple>

#include "data/table.h"
#include "image/image.h"
#include "io/hdf5.h"
#include "tests/cli/cli_util.h"
#include "weights/format.h"
#include "xai/anchors.h"

using namespace gt;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {
const std::string kTables = std::string(GT_SHARED_DIR) + "/data/tables/";

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("gt_table_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// The percentage after `label` in the printed text ("test: accuracy 85.73%").
double percent_after(const std::string& printed, const std::string& label) {
  std::smatch m;
  REQUIRE(std::regex_search(printed, m, std::regex(label + " ([0-9.]+)%")));
  return std::stod(m[1]);
}

bool have_tables() {
  if (fs::exists(kTables + "adult.csv")) return true;
  WARN("skipped: ../shared/data/tables is absent");
  return false;
}
}  // namespace

// Anchors on held-out Adult rows (GT_ANCHOR_ROWS, default 10; the 50 by hand): each anchor
// that reaches 0.95 keeps it on 10,000 fresh samples of its own sampler.
static void check_anchors(nn::Model& model, const data::TableSchema& s) {
  nn::Model* m = &model;
  const data::Table t = data::apply_schema(data::read_csv(kTables + "adult.csv"), s, {});
  const xai::TableRows train = xai::table_rows(t, t.train);
  const char* env = std::getenv("GT_ANCHOR_ROWS");
  const int n = env && *env ? std::atoi(env) : 10;
  int reached = 0;
  double coverage = 0;
  const size_t F = s.features.size();
  for (int i = 0; i < n; ++i) {
    const auto row = size_t(t.test[size_t(i)]);
    const std::vector<double> x(t.values.begin() + long(row * F), t.values.begin() + long((row + 1) * F));
    std::vector<double> enc(t.x.begin() + long(row * size_t(s.width())),
                            t.x.begin() + long((row + 1) * size_t(s.width())));
    const std::vector<float> logits = (*m)(Tensor::from_vector({1, s.width()}, enc, DType::f32)).to_vector();
    const int64_t cls = std::max_element(logits.begin(), logits.end()) - logits.begin();
    const xai::Anchor a = xai::anchor(*m, s, train, x, cls, {});
    if (!a.reached) continue;
    ++reached;
    coverage += a.coverage;
    const double fresh = xai::anchor_precision(*m, s, train, x, cls, a.ids, 10000, 99 + uint64_t(i));
    INFO("test row " << row << ": " << a.predicates.size() << " predicates, precision " << fresh);
    CHECK(fresh >= 0.95);
  }
  WARN("anchors: " << reached << " of " << n << " held-out rows reached 0.95; mean coverage "
                   << (reached ? coverage / reached : 0.0));
}
// The number after `label` in the printed text ("accuracy 0.8229").
static double number_after(const std::string& printed, const std::string& label) {
  std::smatch m;
  REQUIRE(std::regex_search(printed, m, std::regex(label + " ([0-9.]+)")));
  return std::stod(m[1]);
}

// SBRL on Adult: a classifier of the data at >= 80% test accuracy with <= 12 rules, the same list
// from the same seed; and a surrogate of the MLP `model` with fidelity >= 85%.
static void check_rules(const std::string& model, const std::string& dir) {
  const std::string adult = "csv:" + kTables + "adult.csv";
  std::string printed, again;
  REQUIRE(
      test::run_cli({"rules", "--dataset", adult, "--target", "income", "--raw", dir + "r.h5", "--out", dir + "r.png"},
                    printed) == 0);
  INFO(printed);
  CHECK(number_after(printed, "accuracy") >= 0.80);
  const h5::File raw(dir + "r.h5", h5::File::Mode::read);
  const int64_t rules = raw.read("p", DType::f64).dim(0) - 1;  // less the default rule
  CHECK(rules >= 2);
  CHECK(rules <= 12);
  CHECK(load_image(dir + "r.png").height > 40 + 20 * rules);
  REQUIRE(test::run_cli({"rules", "--dataset", adult, "--target", "income", "--out", dir + "r.png"}, again) == 0);
  const auto list = [](const std::string& s) {
    return s.substr(s.find("  IF "), s.find("accuracy") - s.find("  IF "));
  };
  CHECK(list(again) == list(printed));
  REQUIRE(test::run_cli({"rules", "--weights", model, "--dataset", adult, "--out", dir + "r.png"}, printed) == 0);
  CHECK(number_after(printed, "fidelity to mlp:") >= 0.85);
  CHECK(test::run_cli({"rules", "--weights", model, "--dataset", adult, "--target", "income"}, printed) == 2);
  CHECK(test::run_cli({"rules", "--weights", model, "--dataset", adult, "--test", "0.3"}, printed) == 2);
  CHECK_THAT(printed, Contains("--test goes with --target"));
  const std::string penguins = "csv:" + kTables + "penguins.csv";
  CHECK(test::run_cli({"rules", "--dataset", penguins, "--target", "body_mass_g"}, printed) == 2);
  CHECK_THAT(printed, Contains("body_mass_g has 94 values"));
  REQUIRE(test::run_cli({"rules", "--dataset", penguins, "--target", "species", "--out", dir + "r.png"}, printed) == 0);
  CHECK(number_after(printed, "accuracy") >= 0.95);  // three species
}

TEST_CASE("table: an MLP reaches the course's test accuracy on penguins and UCI Adult") {
  if (!have_tables()) return;
  TempDir dir;
  std::string printed;
  REQUIRE(test::run_cli({"train", "--dataset", "csv:" + kTables + "penguins.csv", "--target", "species", "--epochs",
                         "30", "--batch", "32", "--out", dir / "p.h5"},
                        printed) == 0);
  CHECK(percent_after(printed, "test: accuracy") >= 97.0);
  CHECK_THAT(printed, Contains("missing values filled with 'MALE' (the most frequent)"));
  const std::string penguins = "csv:" + kTables + "penguins.csv";
  REQUIRE(test::run_cli({"eval", "--weights", dir / "p.h5", "--dataset", penguins}, printed) == 0);
  CHECK_THAT(printed, Contains("(test): accuracy 100.00% (69 of 69)"));
  CHECK_THAT(printed, Contains("F1 per class:  Adelie 1.0000  Chinstrap 1.0000  Gentoo 1.0000"));
  REQUIRE(test::run_cli({"classify", "--weights", dir / "p.h5", "--dataset", penguins, "--row", "0"}, printed) == 0);
  CHECK_THAT(printed, Contains("row 0 (line 2), true class: Adelie\n  1. Adelie"));
  // a pasted row of the features alone; an unseen island is 'other', with a warning
  REQUIRE(test::run_cli({"classify", "--weights", dir / "p.h5", "--csv-row", "Atlantis,50.0,15.0,220,5500,MALE"},
                        printed) == 0);
  CHECK_THAT(printed, Contains("island = 'Atlantis' was not seen in training"));
  CHECK_THAT(printed, Contains("1. Gentoo"));
  CHECK(test::run_cli({"classify", "--weights", dir / "p.h5", "--csv-row", "Biscoe,big,15,220,5500,MALE"}, printed) ==
        2);
  CHECK_THAT(printed, Contains("column 3 (bill_length_mm): 'big' is not a number"));
  CHECK(test::run_cli({"classify", "--weights", dir / "p.h5", "--image", "x.png"}, printed) == 2);
  // the gradient methods on a row: per feature, and IG's completeness line
  REQUIRE(test::run_cli({"ig", "--weights", dir / "p.h5", "--dataset", penguins, "--row", "0", "--precision", "float64",
                         "--raw", dir / "ig.h5", "--out", dir / "ig.png"},
                        printed) == 0);
  CHECK_THAT(printed, Contains("ig of class Adelie"));
  CHECK_THAT(printed, Contains("F(baseline)"));
  CHECK(h5::File(dir / "ig.h5", h5::File::Mode::read).read("features", DType::f64).numel() == 6);
  REQUIRE(test::run_cli({"saliency", "--weights", dir / "p.h5", "--csv-row", "Biscoe,50.0,15.0,220,5500,MALE", "--out",
                         dir / "s.png"},
                        printed) == 0);
  CHECK_THAT(printed, Contains("saliency of class Gentoo"));
  REQUIRE(test::run_cli(
              {"kernelshap", "--weights", dir / "p.h5", "--dataset", penguins, "--row", "0", "--out", dir / "k.png"},
              printed) == 0);
  CHECK_THAT(printed, Contains("(100 background rows, every coalition: exact Shapley values)"));
  CHECK(test::run_cli({"kernelshap", "--weights", dir / "p.h5", "--csv-row", "Biscoe,50.0,15.0,220,5500,MALE"},
                      printed) == 2);
  CHECK_THAT(printed, Contains("needs --dataset csv:FILE"));
  REQUIRE(test::run_cli({"lime", "--weights", dir / "p.h5", "--dataset", penguins, "--row", "0", "--samples", "500",
                         "--out", dir / "lime.png"},
                        printed) == 0);
  CHECK_THAT(printed, Contains("island = Torgersen"));
  CHECK_THAT(printed, Contains("weighted R2"));
  CHECK(load_image(dir / "lime.png").height > 100);  // the bar chart
  for (const auto& [cmd, out] :
       {std::pair{"permutation-importance", "pi.png"}, {"pdp", "pdp.png"}, {"ale", "ale.png"}}) {
    INFO(cmd);
    REQUIRE(test::run_cli({cmd, "--weights", dir / "p.h5", "--dataset", penguins, "--feature", "bill_length_mm",
                           "--out", dir / out},
                          printed) == (std::string(cmd) == "permutation-importance" ? 2 : 0));
  }
  REQUIRE(test::run_cli(
              {"permutation-importance", "--weights", dir / "p.h5", "--dataset", penguins, "--out", dir / "pi.png"},
              printed) == 0);
  REQUIRE(test::run_cli({"pdp", "--weights", dir / "p.h5", "--dataset", penguins, "--feature", "bill_length_mm",
                         "--feature2", "island", "--out", dir / "pdp2.png"},
                        printed) == 0);  // a pair: the heat map
  for (const char* png : {"pi.png", "pdp.png", "ale.png", "pdp2.png"}) CHECK(load_image(dir / png).width >= 400);
  REQUIRE(test::run_cli(
              {"anchors", "--weights", dir / "p.h5", "--dataset", penguins, "--row", "0", "--raw", dir / "anc.h5"},
              printed) == 0);
  CHECK_THAT(printed, Contains("THEN Adelie"));
  CHECK_THAT(printed, Contains("coverage"));
  {
    const h5::File anc(dir / "anc.h5", h5::File::Mode::read);
    CHECK(anc.attr_string("class") == "Adelie");
    CHECK(anc.attr_double("reached") == 1.0);
    CHECK(anc.attr_double("precision") >= 0.95);
    const std::string rule = anc.attr_string("rule");  // one predicate a line, each with its feature
    CHECK(anc.read("features", DType::f64).numel() == 1 + int64_t(std::count(rule.begin(), rule.end(), '\n')));
  }
  CHECK(test::run_cli({"saliency", "--weights", dir / "p.h5"}, printed) == 2);
  CHECK_THAT(printed, Contains("a table model: --dataset csv:FILE --row K or --csv-row"));
  CHECK(test::run_cli({"eval", "--weights", dir / "p.h5", "--dataset", "csv:" + kTables + "adult.csv"}, printed) == 1);
  CHECK_THAT(printed, Contains("adult.csv has no column 'island', which the model was trained with"));
  REQUIRE(test::run_cli({"train", "--dataset", "csv:" + kTables + "adult.csv", "--target", "income", "--out",
                         dir / "a.h5", "--threads", "2"},
                        printed) == 0);
  INFO(printed);
  CHECK(percent_after(printed, "test: accuracy") >= 84.5);  // sklearn's MLP and boosting: 85-87%
  // the weights carry the schema: a row of the file encodes as in training
  const auto m = load_weights(dir / "a.h5");
  CHECK(m->info.arch == "mlp");
  CHECK(m->info.features == 105);
  const data::TableSchema s = data::TableSchema::from_json(m->info.table, "a.h5");
  CHECK(s.target == "income");
  CHECK(s.classes == m->info.class_names);
  check_anchors(*m, s);
  check_rules(dir / "a.h5", dir / "");
}

TEST_CASE("table: linear regression is numpy's least squares (tests/fixtures/penguins_lstsq.h5)") {
  if (!have_tables()) return;
  TempDir dir;
  std::string printed;
  REQUIRE(test::run_cli({"train", "--dataset", "csv:" + kTables + "penguins.csv", "--target", "body_mass_g", "--model",
                         "linear", "--val", "0", "--test", "0", "--out", dir / "l.h5"},
                        printed) == 0);
  CHECK_THAT(printed, Contains("fitted linear regression by least squares on 342 rows"));
  const auto m = load_weights(dir / "l.h5", DType::f64);
  const data::TableSchema s = data::TableSchema::from_json(m->info.table, "l.h5");
  const data::Table t = data::apply_schema(data::read_csv(kTables + "penguins.csv"), s, {});
  const Tensor x = Tensor::from_vector({t.rows(), s.width()}, t.x);
  const std::vector<double> out = (*m)(x).to_vector_f64();
  const std::vector<double> ref = h5::File(std::string(GT_FIXTURES_DIR) + "/penguins_lstsq.h5", h5::File::Mode::read)
                                      .read("pred", DType::f64)
                                      .to_vector_f64();
  REQUIRE(out.size() == ref.size());
  double worst = 0;
  for (size_t i = 0; i < out.size(); ++i)
    worst = std::max(worst, std::abs(out[i] * s.target_scale + s.target_mean - ref[i]));
  INFO("max |ours - numpy| " << worst << " g");
  CHECK(worst < 1e-6 * s.target_scale);  // the weights file stores float32: its rounding, not the fit
}

TEST_CASE("table: bad CSV input is one line naming the file, line and column, and nothing is written") {
  TempDir dir;
  const auto file = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return "csv:" + (dir / name);
  };
  std::string rows = "n,color,y\n";
  for (int i = 0; i < 30; ++i)
    rows += std::to_string(i) + "," + (i % 3 ? "red" : "blue") + "," + (i % 2 ? "a" : "b") + "\n";
  const std::vector<std::tuple<std::string, std::vector<std::string>, std::string>> cases = {
      {file("ragged.csv", rows + "1,red\n"),
       {"--target", "y"},
       "ragged.csv:32: column 3: 2 fields where the header has 3"},
      {file("text.csv", rows + "seven,red,a\n"),
       {"--target", "y"},
       "text.csv:32: column 1 (n): 'seven' is text in a numeric column"},
      {file("ok.csv", rows), {"--target", "z"}, "--target: "},
      {file("one.csv", "n,y\n1,a\n2,a\n"), {"--target", "y"}, "has one class ('a')"},
      {file("quote.csv", rows + "1,\"red,a\n"),
       {"--target", "y"},
       "quote.csv:32: column 2: a quote opened on this line is never closed"}};
  for (const auto& [dataset, flags, says] : cases) {
    std::vector<std::string> args = {"train", "--dataset", dataset, "--out", dir / "never.h5"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::string out;
    CHECK(test::run_cli(args, out) != 0);
    CHECK_THAT(out, Contains(says));
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(dir / "never.h5"));
  }
  // a constant and an all-missing column are dropped, each with a note; the rest trains
  std::string notes = "n,same,gone,y\n";
  for (int i = 0; i < 30; ++i) notes += std::to_string(i) + ",5,?," + (i % 2 ? "a" : "b") + "\n";
  std::string out;
  REQUIRE(test::run_cli({"train", "--dataset", file("notes.csv", notes), "--target", "y", "--epochs", "1", "--batch",
                         "8", "--out", dir / "m.h5"},
                        out) == 0);
  CHECK_THAT(out, Contains("note: same: dropped, every value is '5'"));
  CHECK_THAT(out, Contains("note: gone: dropped, every value is missing"));
}
