// Forward and backward of conv, pooling, batch norm and softmax against PyTorch reference values
// (tests/fixtures/torch_ops.h5, written by tests/fixture_gen/make_fixtures.py). Prints the max difference per tensor.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "io/hdf5.h"

using namespace gt;

namespace {
const std::string kFile = std::string(GT_FIXTURES_DIR) + "/torch_ops.h5";

struct Case {
  const h5::File& f;
  std::string name;
  Tensor in(const std::string& n) const { return f.read(name + "/" + n); }
  std::vector<float> params() const { return in("params").to_vector(); }
};

// Compares each produced tensor with the stored one of the same name and prints the max |difference|.
void compare(const Case& c, const std::map<std::string, Tensor>& got) {
  std::printf("%-28s", c.name.c_str());
  for (const auto& [name, t] : got) {
    const std::vector<float> a = t.to_vector(), b = c.in(name).to_vector();
    REQUIRE(a.size() == b.size());
    double diff = 0, scale = 1;
    for (size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, double(std::abs(a[i] - b[i])));
      scale = std::max(scale, double(std::abs(b[i])));
    }
    std::printf("  %s %.2e", name.c_str(), diff);
    INFO(c.name << " " << name << ": max |gradtrace - torch| = " << diff);
    CHECK(diff <= 2e-5 * scale);
  }
  std::printf("\n");
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

TEST_CASE("PyTorch fixtures: conv2d, pooling, batch norm, softmax (forward and backward)") {
  h5::File f(kFile, h5::File::Mode::read);
  int seen = 0;
  for (const std::string& name : f.members("/")) {
    const Case c{f, name};
    const std::vector<float> p = c.params();
    ++seen;
    if (name.rfind("conv2d", 0) == 0) {
      ops::Conv2dOptions o;
      o.stride_h = int64_t(p[0]), o.stride_w = int64_t(p[1]), o.dilation_h = int64_t(p[2]),
      o.dilation_w = int64_t(p[3]);
      o.pad = {int64_t(p[4]), int64_t(p[5]), int64_t(p[6]), int64_t(p[7])};
      o.groups = int64_t(p[8]);
      compare(c, run(c, {"x", "w", "b"}, [o](const auto& v) { return ops::conv2d(v[0], v[1], o, v[2]); }));
    } else if (name.rfind("maxpool", 0) == 0 || name.rfind("avgpool", 0) == 0) {
      ops::PoolOptions o;
      o.kernel_h = int64_t(p[0]), o.kernel_w = int64_t(p[1]), o.stride_h = int64_t(p[2]), o.stride_w = int64_t(p[3]);
      o.pad = {int64_t(p[4]), int64_t(p[5]), int64_t(p[6]), int64_t(p[7])};
      o.count_include_pad = p[8] != 0;
      const bool max = name[0] == 'm';
      compare(c, run(c, {"x"},
                     [o, max](const auto& v) { return max ? ops::max_pool2d(v[0], o) : ops::avg_pool2d(v[0], o); }));
    } else if (name.rfind("batchnorm", 0) == 0) {
      const Tensor rm = c.in("running_mean"), rv = c.in("running_var");
      const double eps = p[0];
      const bool training = p[1] != 0;
      compare(c, run(c, {"x", "gamma", "beta"}, [&](const auto& v) {
                return ops::batch_norm(v[0], v[1], v[2], rm.clone(), rv.clone(), eps, training);
              }));
    } else if (name == "softmax") {
      compare(c, run(c, {"x"}, [](const auto& v) { return ops::softmax(v[0]); }));
    } else if (name == "log_softmax") {
      compare(c, run(c, {"x"}, [](const auto& v) { return ops::log_softmax(v[0]); }));
    } else {
      FAIL("fixture case without a test: " << name);
    }
  }
  CHECK(seen == 17);
}
