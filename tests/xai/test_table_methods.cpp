// The table methods against their peers, on gradtrace models of tests/fixtures/table_mixed.csv
// (tests/fixture_gen/make_table_fixtures.py) run in float64, with scikit-learn's answers computed by
// tests/fixture_gen/table_sklearn_reference.py from the same weights files.
#include <catch2/catch.hpp>

#include "data/table.h"
#include "io/hdf5.h"
#include "weights/format.h"
#include "xai/partial_dependence.h"
#include "xai/permutation_importance.h"

using namespace gt;

namespace {
const std::string kFixtures = std::string(GT_FIXTURES_DIR) + "/";

struct Fixture {
  std::unique_ptr<nn::Model> model;
  data::Table table;
};
// A fixture model in float64 and every row of the table, encoded by its schema.
Fixture load(const std::string& name) {
  Fixture f{load_weights(kFixtures + "table_mlp_" + name + ".h5", DType::f64), {}};
  const auto s = data::TableSchema::from_json(f.model->info.table, name);
  f.table = data::apply_schema(data::read_csv(kFixtures + "table_mixed.csv"), s, {});
  return f;
}
}  // namespace

TEST_CASE("permutation importance is sklearn.inspection.permutation_importance given its permutations") {
  const h5::File ref(kFixtures + "table_sklearn_ref.h5", h5::File::Mode::read);
  for (const std::string name : {"class", "reg"}) {
    INFO(name);
    Fixture f = load(name);
    const xai::TableRows rows = xai::table_rows(f.table, {});
    const Tensor perms = ref.read(name + "/perms", DType::f64), imp = ref.read(name + "/importances", DType::f64);
    const int64_t F = perms.dim(0), R = perms.dim(1), N = perms.dim(2);
    REQUIRE(N == rows.rows());
    xai::PermutationOptions o;
    o.repeats = int(R);
    const std::vector<double> p = perms.to_vector_f64();
    o.perms.assign(size_t(F), std::vector<std::vector<int64_t>>(size_t(R)));
    for (int64_t j = 0; j < F; ++j)
      for (int64_t k = 0; k < R; ++k)
        for (int64_t n = 0; n < N; ++n)
          o.perms[size_t(j)][size_t(k)].push_back(int64_t(p[size_t((j * R + k) * N + n)]));
    const xai::PermutationResult res = xai::permutation_importance(*f.model, rows, o);
    CHECK(res.baseline == Approx(ref.attr_double(name + "_baseline")).margin(1e-9));
    const std::vector<double> want = imp.to_vector_f64();
    double worst = 0;
    for (int64_t j = 0; j < F; ++j)
      for (int64_t k = 0; k < R; ++k)
        worst = std::max(worst, std::abs(res.importances[size_t(j)][size_t(k)] - want[size_t(j * R + k)]));
    INFO("max |ours - sklearn| " << worst);
    CHECK(worst < 1e-9);
    CHECK(res.mean[0] > 0.1);  // age drives both targets
  }
}

TEST_CASE("permutation importance: a feature the model ignores scores 0, and the seed fixes the shuffles") {
  Fixture f = load("class");
  const xai::TableRows rows = xai::table_rows(f.table, {});
  // a model that reads nothing but age: zero every other input weight of its first layer
  auto* first = dynamic_cast<nn::Dense*>(f.model->find("dense_1"));
  REQUIRE(first);
  double* w = first->weight.data<double>();
  for (int64_t o = 0; o < first->weight.dim(0); ++o)
    for (int64_t i = 1; i < first->weight.dim(1); ++i) w[o * first->weight.dim(1) + i] = 0;
  xai::PermutationOptions o;
  const xai::PermutationResult a = xai::permutation_importance(*f.model, rows, o),
                               b = xai::permutation_importance(*f.model, rows, o);
  for (size_t j = 1; j < a.mean.size(); ++j) CHECK(a.mean[j] == 0);
  CHECK(a.mean[0] > 0);
  CHECK(a.importances == b.importances);
}

TEST_CASE("partial dependence and ICE are sklearn.inspection.partial_dependence (kind both, method brute)") {
  const h5::File ref(kFixtures + "table_sklearn_ref.h5", h5::File::Mode::read);
  for (const std::string name : {"class", "reg"}) {
    Fixture f = load(name);
    const xai::TableRows rows = xai::table_rows(f.table, {});
    const std::vector<std::vector<int64_t>> sets = {{0}, {2}, {0, 2}};  // age, color, the pair
    for (const auto& fs : sets) {
      std::string key = name + "/pdp";
      for (int64_t j : fs) key += "_" + f.table.schema.features[size_t(j)].name;
      INFO(key);
      xai::PdpOptions o;
      o.grid = 20;
      const xai::PdpResult r = xai::partial_dependence(*f.model, rows, fs, o);
      const auto close = [&](const std::vector<double>& ours, const std::string& dataset) {
        const std::vector<double> want = ref.read(key + "/" + dataset, DType::f64).to_vector_f64();
        REQUIRE(ours.size() == want.size());
        double worst = 0;
        for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(ours[i] - want[i]));
        INFO(dataset << ": max |ours - sklearn| " << worst);
        CHECK(worst < 1e-6);
      };
      if (!r.axes[0].categorical) close(r.axes[0].values, "grid_0");
      close(r.average, "average");
      if (fs.size() == 1) close(r.individual, "individual");
    }
  }
}

TEST_CASE("mquantile is scipy's mquantiles (alphap = betap = 0.4)") {
  // scipy.stats.mstats.mquantiles(np.arange(1, 41) ** 1.5, [0.05, 0.5, 0.95])
  std::vector<double> x;
  for (int i = 1; i <= 40; ++i) x.push_back(std::pow(double(i), 1.5));
  CHECK(xai::mquantile(x, 0.05) == Approx(3.7991945).epsilon(1e-8));
  CHECK(xai::mquantile(x, 0.5) == Approx(92.83840435).epsilon(1e-8));
  CHECK(xai::mquantile(x, 0.95) == Approx(239.73897411).epsilon(1e-8));
}
