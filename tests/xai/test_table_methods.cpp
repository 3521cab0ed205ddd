// The table methods against their peers, on gradtrace models of tests/fixtures/table_mixed.csv
// (tests/fixture_gen/make_table_fixtures.py) run in float64, with scikit-learn's answers computed by
// tests/fixture_gen/table_sklearn_reference.py from the same weights files.
#include <catch2/catch.hpp>
#include <numeric>

#include "data/table.h"
#include "io/hdf5.h"
#include "weights/format.h"
#include "xai/ale.h"
#include "xai/anchors.h"
#include "xai/partial_dependence.h"
#include "xai/permutation_importance.h"
#include "xai/table_attribution.h"
#include "xai/table_lime.h"
#include "xai/table_shap.h"

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

TEST_CASE("table gradients: saliency is the finite-difference gradient, IG is complete, features sum columns") {
  for (const std::string name : {"class", "reg"}) {
    INFO(name);
    Fixture f = load(name);
    const data::TableSchema& s = f.table.schema;
    const auto W = size_t(s.width());
    const std::vector<double> x(f.table.x.begin() + long(7 * W), f.table.x.begin() + long(8 * W));  // row 7
    // F as the attribution sees it: the class-1 logit, or the prediction in the target's units
    const auto F = [&](const std::vector<double>& v) {
      NoGradGuard no_grad;
      const std::vector<double> out = (*f.model)(Tensor::from_vector({1, int64_t(W)}, v)).to_vector_f64();
      return s.task == "classify" ? out[1] : out[0] * s.target_scale + s.target_mean;
    };
    const xai::IgOptions ig;
    const xai::TableAttribution sal = xai::table_attribution(*f.model, s, x, 1, "saliency", {}, ig);
    for (size_t j = 0; j < W; ++j) {
      std::vector<double> up = x, down = x;
      up[j] += 1e-6, down[j] -= 1e-6;
      CHECK(sal.columns[j] == Approx((F(up) - F(down)) / 2e-6).margin(1e-6));
    }
    const xai::TableAttribution gx = xai::table_attribution(*f.model, s, x, 1, "gradxinput", {}, ig);
    for (size_t j = 0; j < W; ++j) CHECK(gx.columns[j] == Approx(x[j] * sal.columns[j]).margin(1e-12));
    for (const data::TableColumn& c : s.features) {  // a categorical feature: the sum of its columns
      double sum = 0;
      for (int64_t j = c.offset; j < c.offset + c.width(); ++j) sum += gx.columns[size_t(j)];
      CHECK(gx.features[size_t(&c - &s.features[0])] == Approx(sum).margin(1e-12));
    }
    // completeness, sum = F(x) - F(baseline), up to the quadrature's error: a ReLU network's gradient
    // jumps along the path, so the error falls slowly (here 3e-3 and 8e-3 at 50 points, 4e-5 and 1e-6 at 5000)
    const std::vector<double> b = xai::baseline_row(s, "mean");
    xai::IgOptions many;
    many.method = "riemann_middle";
    many.steps = 5000;
    many.batch = 500;
    const xai::TableAttribution a = xai::table_attribution(*f.model, s, x, 1, "ig", b, many);
    many.steps = 50;
    const xai::TableAttribution coarse = xai::table_attribution(*f.model, s, x, 1, "ig", b, many);
    INFO("delta " << coarse.delta << " at 50 points, " << a.delta << " at 5000");
    CHECK(a.f_x == Approx(F(x)).margin(1e-12));
    CHECK(a.f_baseline == Approx(F(b)).margin(1e-12));
    CHECK(std::abs(a.delta) < 1e-3 * std::max(1.0, std::abs(a.f_x - a.f_baseline)));
    CHECK(std::abs(a.delta) < std::abs(coarse.delta) / 10);
  }
}

TEST_CASE("table baselines: mean is the training rows' means and category shares, median their medians and modes") {
  const Fixture f = load("class");
  const data::TableSchema& s = f.table.schema;
  const std::vector<double> mean = xai::baseline_row(s, "mean"), median = xai::baseline_row(s, "median");
  const data::TableColumn& color = s.features[2];
  REQUIRE(color.categorical);
  double shares = 0;
  for (int64_t j = color.offset; j < color.offset + color.width(); ++j) shares += mean[size_t(j)];
  CHECK(shares == Approx(1.0));
  CHECK(mean[0] == 0);  // age standardised on the training rows
  CHECK(median[0] == Approx((s.features[0].fill - s.features[0].mean) / s.features[0].scale));
  CHECK(median[size_t(color.offset + color.fill_category)] == 1);
  CHECK_THROWS_WITH(xai::baseline_row(s, "blur"), Catch::Contains("--baseline must be mean, median or zero"));
}

TEST_CASE("ALE is alibi's ale_num: its adaptive quantile grid, the accumulated effects and their centring") {
  const h5::File ref(kFixtures + "table_sklearn_ref.h5", h5::File::Mode::read);
  for (const std::string name : {"class", "reg"}) {
    Fixture f = load(name);
    const xai::TableRows rows = xai::table_rows(f.table, {});
    for (int64_t j : {0, 1}) {  // age; hours (missing values read as the median, as the model does)
      const std::string key = name + "/ale_" + f.table.schema.features[size_t(j)].name;
      INFO(key);
      const xai::AleResult r = xai::ale(*f.model, rows, j);
      for (const auto& [ours, dataset] : {std::pair{&r.grid, "grid"}, {&r.ale, "ale"}, {&r.ale0, "ale0"}}) {
        const std::vector<double> want = ref.read(key + "/" + dataset, DType::f64).to_vector_f64();
        REQUIRE(ours->size() == want.size());
        double worst = 0;
        for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs((*ours)[i] - want[i]));
        INFO(dataset << ": max |ours - alibi| " << worst);
        CHECK(worst < 1e-6);
      }
    }
  }
  Fixture f = load("class");
  CHECK_THROWS_WITH(xai::ale(*f.model, xai::table_rows(f.table, {}), 2), Catch::Contains("color is categorical"));
}

TEST_CASE("table KernelSHAP with every coalition is the Shapley sum and shap's KernelExplainer") {
  const h5::File ref(kFixtures + "table_sklearn_ref.h5", h5::File::Mode::read);
  for (const std::string name : {"class", "reg"}) {
    INFO(name);
    Fixture f = load(name);
    const data::TableSchema& s = f.table.schema;
    std::vector<int64_t> first20(20);
    std::iota(first20.begin(), first20.end(), 0);
    const xai::TableRows background = xai::table_rows(f.table, first20), all = xai::table_rows(f.table, {});
    const auto W = size_t(s.width());
    const std::vector<double> x(all.x.begin() + long(7 * W), all.x.begin() + long(8 * W));
    xai::SurrogateOptions o;  // 1000 samples: all 14 coalitions of the 4 features
    const xai::SurrogateResult r = xai::table_kernel_shap(*f.model, s, x, background, 1, o);
    CHECK(r.exact);
    const std::vector<double> brute = xai::table_shapley_exact(*f.model, s, x, background, 1);
    const std::vector<double> shap = ref.read(name + "/kernelshap/phi", DType::f64).to_vector_f64();
    REQUIRE(r.phi.size() == brute.size());
    REQUIRE(r.phi.size() == shap.size());
    for (size_t j = 0; j < r.phi.size(); ++j) {
      CHECK(r.phi[j] == Approx(brute[j]).margin(1e-9));
      CHECK(r.phi[j] == Approx(shap[j]).margin(1e-6));
    }
    CHECK(r.phi0 == Approx(ref.read(name + "/kernelshap/phi0", DType::f64).to_vector_f64()[0]).margin(1e-9));
    // sampled (fewer coalitions than exist): still efficient, near the exact values
    o.samples = 8;
    const xai::SurrogateResult sampled = xai::table_kernel_shap(*f.model, s, x, background, 1, o);
    CHECK_FALSE(sampled.exact);
    CHECK(std::accumulate(sampled.phi.begin(), sampled.phi.end(), 0.0) == Approx(r.f_x - r.phi0).margin(1e-9));
  }
}

TEST_CASE("table LIME is lime.lime_tabular given its samples: quartile bins, Euclidean kernel, ridge fit") {
  const h5::File ref(kFixtures + "table_sklearn_ref.h5", h5::File::Mode::read);
  for (const std::string name : {"class", "reg"}) {
    INFO(name);
    Fixture f = load(name);
    const data::TableSchema& s = f.table.schema;
    const xai::TableRows all = xai::table_rows(f.table, {});
    const xai::LimeSampler sampler = xai::lime_sampler(all);
    const size_t F = s.features.size();
    const std::vector<double> x(all.values.begin() + long(7 * F), all.values.begin() + long(8 * F));
    const Tensor drawn = ref.read(name + "/lime/samples", DType::f64);
    const std::vector<double> flat = drawn.to_vector_f64();
    std::vector<std::vector<double>> samples;
    for (int64_t i = 0; i < drawn.dim(0); ++i)
      samples.emplace_back(flat.begin() + long(size_t(i) * F), flat.begin() + long(size_t(i + 1) * F));
    const xai::TableLimeResult r = xai::table_lime(*f.model, s, sampler, x, 1, 0, 0, samples);
    const std::vector<double> phi = ref.read(name + "/lime/phi", DType::f64).to_vector_f64();
    for (size_t j = 0; j < F; ++j) CHECK(r.phi[j] == Approx(phi[j]).margin(1e-6));
    const auto scalar = [&](const std::string& d) {
      return ref.read(name + "/lime/" + d, DType::f64).to_vector_f64()[0];
    };
    CHECK(r.intercept == Approx(scalar("intercept")).margin(1e-6));
    CHECK(r.score == Approx(scalar("score")).margin(1e-6));
    CHECK(r.local_pred == Approx(scalar("local_pred")).margin(1e-6));
    // drawn here: the same law, so a close fit for the row's own bins; seeded
    const xai::TableLimeResult own = xai::table_lime(*f.model, s, sampler, x, 1, 2000, 5);
    CHECK(own.phi == xai::table_lime(*f.model, s, sampler, x, 1, 2000, 5).phi);
    CHECK(own.conditions[2].rfind("color = ", 0) == 0);
  }
}

TEST_CASE("centred ICE: each curve and the PD minus their value at the first grid point") {
  Fixture f = load("class");
  const xai::TableRows rows = xai::table_rows(f.table, {});
  xai::PdpOptions o;
  o.grid = 10;
  const xai::PdpResult plain = xai::partial_dependence(*f.model, rows, {0}, o);
  o.centered = true;
  const xai::PdpResult c = xai::partial_dependence(*f.model, rows, {0}, o);
  const size_t G = plain.axes[0].size();
  for (size_t i = 0; i < c.individual.size(); ++i)
    CHECK(c.individual[i] == Approx(plain.individual[i] - plain.individual[i / G * G]).margin(1e-15));
  for (size_t g = 0; g < G; ++g) CHECK(c.average[g] == Approx(plain.average[g] - plain.average[0]).margin(1e-15));
}

TEST_CASE("anchors' predicates are alibi's: a category, or half-lines at the quartiles on the row's side") {
  Fixture f = load("class");
  const xai::TableRows rows = xai::table_rows(f.table, {});
  const xai::LimeSampler bins = xai::lime_sampler(rows);
  const auto& s = f.table.schema;
  const size_t F = s.features.size();
  for (int64_t n = 0; n < rows.rows(); n += 7) {
    const std::vector<double> x(rows.values.begin() + long(size_t(n) * F),
                                rows.values.begin() + long(size_t(n + 1) * F));
    const std::vector<xai::AnchorPredicate> preds = xai::anchor_predicates(s, bins, x);
    for (size_t j = 0; j < F; ++j) {
      std::vector<xai::AnchorPredicate> mine;
      for (const auto& p : preds)
        if (p.feature == j) mine.push_back(p);
      if (s.features[j].categorical) {
        REQUIRE(mine.size() == 1);
        CHECK(mine[0].lo == int(x[j]));
        CHECK(mine[0].text == s.features[j].name + " = " + s.features[j].categories[size_t(x[j])]);
        continue;
      }
      const auto& q = bins.features[j].cuts;
      std::vector<double> distinct = q;
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      REQUIRE(mine.size() == distinct.size());  // one per distinct quartile
      for (const auto& p : mine) {
        const int b = bins.bin(j, x[j]);
        CHECK((b >= p.lo && b <= p.hi));  // the row satisfies each of its predicates
        const bool below = p.text.find(" <= ") != std::string::npos;
        CHECK((below ? p.lo == 0 : p.hi == int(q.size())));  // a half-line
        CHECK((below ? x[j] <= q[size_t(p.hi)] : x[j] > q[size_t(p.lo - 1)]));
      }
    }
  }
}
