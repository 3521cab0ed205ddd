// --precision float64: the model and the tape in double, and raw outputs stored as float64.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>

#include "io/hdf5.h"
#include "tests/cli/cli_util.h"
#include "tests/test_util.h"

using namespace gt;
namespace fs = std::filesystem;

namespace {
// Whether every value survives a round trip through float32 (a float32 dataset's do).
bool all_float32(const std::vector<double>& v) {
  for (double e : v)
    if (double(float(e)) != e) return false;
  return true;
}
}  // namespace

TEST_CASE("precision: float64 runs in double, writes float64 raw outputs, and agrees with float32 to its noise") {
  std::string out;
  CHECK(test::run_cli({"saliency", "--image", "x.png", "--precision", "float16"}, out) == 2);
  CHECK_THAT(out, Catch::Contains("--precision must be float32 or float64, not 'float16'"));
  const char* fm = std::getenv("GRADTRACE_FASHION_MNIST");
  if (!fs::exists(fm && *fm ? fm : "/usr/share/datasets/fashion-mnist")) {
    WARN("skipped: Fashion-MNIST is not installed (dataset-fashion-mnist)");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / ("gt_precision_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<double> a[2], logits[2];
  const char* names[2] = {"float32", "float64"};
  for (int k = 0; k < 2; ++k) {
    const std::string raw = (dir / (std::string(names[k]) + ".h5")).string();
    REQUIRE(test::run_cli({"ig", "--image", "fashion-mnist:test:0", "--precision", names[k], "--raw", raw, "--out",
                           (dir / "ig.png").string()},
                          out) == 0);
    a[k] = h5::File(raw, h5::File::Mode::read).read("attribution", DType::f64).to_vector_f64();
    const std::string craw = (dir / (std::string("c") + names[k] + ".h5")).string();
    REQUIRE(test::run_cli({"classify", "--image", "fashion-mnist:test:0", "--precision", names[k], "--raw", craw},
                          out) == 0);
    logits[k] = h5::File(craw, h5::File::Mode::read).read("logits", DType::f64).to_vector_f64();
  }
  CHECK(all_float32(a[0]));
  CHECK_FALSE(all_float32(a[1]));  // stored as float64, computed in double
  CHECK(all_float32(logits[0]));
  CHECK_FALSE(all_float32(logits[1]));
  const Tensor a32 = Tensor::from_vector({int64_t(a[0].size())}, a[0]),
               a64 = Tensor::from_vector({int64_t(a[1].size())}, a[1]);
  test::expect_close("float32 against float64 IG", a32, a64, 0, 1e-3 * test::max_abs(a64));
  CHECK(a[0] != a[1]);
  fs::remove_all(dir);
}
