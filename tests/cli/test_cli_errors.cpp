// Bad inputs end in one line that names the real cause, and leave no output behind.
#include <catch2/catch.hpp>
#include <cmath>

#include "io/hdf5.h"
#include "tests/cli/cli_util.h"

using namespace gt;
namespace fs = std::filesystem;

TEST_CASE("errors: an input tensor holding NaN or Inf is refused, naming the first such element") {
  const fs::path dir = fs::temp_directory_path() / ("gt_errors_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string nan_file = (dir / "nan.h5").string();
  for (const double bad : {double(NAN), double(INFINITY)}) {
    std::vector<float> v(28 * 28, 0.5f);
    v[3 * 28 + 4] = float(bad), v[20 * 28 + 1] = float(bad);  // the first is named
    h5::File f(nan_file, h5::File::Mode::write);
    f.write("input", Tensor::from_vector({1, 1, 28, 28}, v));
    f.commit();
    std::string out;
    const std::string png = (dir / "never.png").string();
    CHECK(test::run_cli({"classify", "--image", nan_file}, out) == 1);
    CHECK_THAT(out, Catch::Contains("element [0,0,3,4] is " + std::string(std::isnan(bad) ? "nan" : "inf")));
    CHECK(test::run_cli({"saliency", "--image", nan_file, "--out", png}, out) == 1);
    CHECK_THAT(out, Catch::Contains("gradtrace explains finite inputs only"));
    CHECK_FALSE(fs::exists(png));
  }
  fs::remove_all(dir);
}
