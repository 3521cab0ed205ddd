// Forward and backward of conv, pooling, batch norm and softmax against PyTorch reference values
// (tests/fixtures/torch_ops.h5, written by tests/fixture_gen/make_fixtures.py): the conv and pooling
// cases are those of tests/op_cases.json, the table the gradchecks and the CUDA tests run. Prints the
// max difference per tensor.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "io/hdf5.h"
#include "tests/op_cases.h"
#include "tests/test_util.h"

using namespace gt;

namespace {
const std::string kFile = std::string(GT_FIXTURES_DIR) + "/torch_ops.h5";

struct Case {
  const h5::File& f;
  std::string name;
  Tensor in(const std::string& n) const { return f.read(name + "/" + n); }
  std::vector<float> params() const { return in("params").to_vector(); }
};

// Compares each produced tensor with the stored one of the same name, to 2e-5 of its largest value
// (float32 on both sides).
void compare(const Case& c, const std::map<std::string, Tensor>& got) {
  for (const auto& [name, t] : got) {
    const Tensor want = c.in(name);
    test::expect_close(c.name + " " + name, t, want, 0, 2e-5 * std::max(1.0, test::max_abs(want)));
  }
}

// Runs y = f(inputs) on the tape and returns y with the gradients for the seed dy, keyed "y", "d<name>".
std::map<std::string, Tensor> run(const Case& c, const std::vector<std::string>& names,
                                  const std::function<Tensor(const std::vector<Tensor>&)>& f) {
  Tape tape;
  TapeGuard guard(tape);
  std::vector<Tensor> xs;
  for (const auto& n : names) xs.push_back(c.in(n).set_requires_grad(true));
  Tensor y = f(xs);
  std::map<std::string, Tensor> out{{"y", y}};
  const std::vector<Tensor> g = tape.grad(y, xs, c.in("dy"));
  for (size_t i = 0; i < names.size(); ++i) out["d" + names[i]] = g[i];
  return out;
}
}  // namespace

TEST_CASE("PyTorch fixtures: conv2d and pooling, every case of tests/op_cases.json (forward and backward)") {
  h5::File f(kFile, h5::File::Mode::read);
  const auto group = [](const char* kind, size_t i) {
    char b[48];
    std::snprintf(b, sizeof b, "%s_%02zu", kind, i);
    return std::string(b);
  };
  const std::vector<test::ConvSpec> convs = test::conv_specs();
  int conv_checked = 0;
  for (size_t i = 0; i < convs.size(); ++i) {
    if (convs[i].device_only) continue;  // too large for a committed fixture
    const Case c{f, group("conv2d", i)};
    REQUIRE(f.shape(c.name + "/x") == convs[i].x);  // the fixture was made from this table
    const auto o = convs[i].o;
    compare(c, run(c, {"x", "w", "b"}, [o](const auto& v) { return ops::conv2d(v[0], v[1], o, v[2]); }));
    ++conv_checked;
  }
  const std::vector<test::PoolSpec> pools = test::pool_specs();
  for (size_t i = 0; i < pools.size(); ++i) {
    auto inc = pools[i].o;
    inc.count_include_pad = true;
    const auto o = pools[i].o;
    compare(Case{f, group("max_pool2d", i)},
            run(Case{f, group("max_pool2d", i)}, {"x"}, [o](const auto& v) { return ops::max_pool2d(v[0], o); }));
    compare(Case{f, group("avg_pool2d", i)},
            run(Case{f, group("avg_pool2d", i)}, {"x"}, [o](const auto& v) { return ops::avg_pool2d(v[0], o); }));
    const Case ci{f, group("avg_pool2d_include", i)};
    compare(ci, run(ci, {"x"}, [inc](const auto& v) { return ops::avg_pool2d(v[0], inc); }));
  }
  const Case g{f, "global_avg_pool_00"};
  compare(g, run(g, {"x"}, [](const auto& v) { return ops::global_avg_pool(v[0]); }));
  CHECK(conv_checked == 11);
  CHECK(pools.size() == 4);
}

TEST_CASE("PyTorch fixtures: batch norm and softmax (forward and backward)") {
  h5::File f(kFile, h5::File::Mode::read);
  for (const std::string name : {"batchnorm_eval", "batchnorm_train"}) {
    const Case c{f, name};
    const std::vector<float> p = c.params();
    const Tensor rm = c.in("running_mean"), rv = c.in("running_var");
    const double eps = p[0];
    const bool training = p[1] != 0;
    compare(c, run(c, {"x", "gamma", "beta"}, [&](const auto& v) {
              return ops::batch_norm(v[0], v[1], v[2], rm.clone(), rv.clone(), eps, training);
            }));
  }
  compare(Case{f, "softmax"}, run(Case{f, "softmax"}, {"x"}, [](const auto& v) { return ops::softmax(v[0]); }));
  compare(Case{f, "log_softmax"},
          run(Case{f, "log_softmax"}, {"x"}, [](const auto& v) { return ops::log_softmax(v[0]); }));
  CHECK(f.members("/").size() == 11 + 4 * 3 + 1 + 4);  // nothing in the file goes unchecked
}
