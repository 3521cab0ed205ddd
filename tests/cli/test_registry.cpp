// The explain-method registry (xai/method.h): every method's spec is consistent, options are parsed
// and refused by their specs, and a method added through the registry alone appears in every
// command that lists or runs methods (the CLI is run in-process, gt::cli::main).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autodiff/ops.h"
#include "io/hdf5.h"
#include "tests/cli/cli_util.h"
#include "xai/method.h"

using namespace gt;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

// The test's own method: the input itself, times --scale, as the attribution (gradient-free).
xai::Method dummy_method() {
  xai::Method m;
  m.name = "dummy-input";
  m.summary = "the input itself, scaled (a test's method)";
  m.paper = "nobody 2026";
  m.options = {xai::int_option("scale", 2, 1, 10, "K", "factor")};
  m.gradient_free = true;
  m.run = [](xai::Subject& s, const xai::Target&, const xai::Options& o, const xai::Progress&) {
    xai::MethodResult r;
    r.attribution = ops::mul_scalar(s.x, double(o.integer("scale")));
    r.params = "scale " + o.raw("scale");
    return r;
  };
  return m;
}

}  // namespace

TEST_CASE("registry: every method has a summary, a paper, a run function and defaults its own specs accept") {
  REQUIRE(xai::methods().size() >= 11);
  for (const xai::Method& m : xai::methods()) {
    INFO(m.name);
    CHECK(!m.summary.empty());
    CHECK(!m.paper.empty());
    CHECK(bool(m.run));
    CHECK(m.takes_layer == (m.name.find("cam") != std::string::npos));  // the CAM family
    xai::Options o = xai::default_options(m);
    for (const xai::OptionSpec& spec : m.options)
      if (spec.type != xai::OptionSpec::Type::flag) CHECK_NOTHROW(xai::set_option(m, o, spec.name, spec.def));
    CHECK(xai::option_help(m).empty() == m.options.empty());
  }
}

TEST_CASE("registry: options are checked against their specs, with messages that name the flag") {
  const xai::Method& ig = xai::find_method("ig");
  xai::Options o = xai::default_options(ig);
  CHECK(o.integer("steps") == 50);
  CHECK(o.text("method") == "gausslegendre");
  xai::set_option(ig, o, "steps", "7");
  CHECK(o.integer("steps") == 7);
  CHECK_THROWS_WITH(xai::set_option(ig, o, "steps", "0"), "--steps must be an integer in [1, 100000], got '0'");
  CHECK_THROWS_WITH(xai::set_option(ig, o, "steps", "5x"), Contains("--steps must be an integer"));
  CHECK_THROWS_WITH(xai::set_option(ig, o, "method", "simpson"), Contains("simpson"));
  CHECK_THROWS_AS(xai::set_option(ig, o, "window", "3"), InvalidArgument);
  const xai::Method& sg = xai::find_method("smoothgrad");
  xai::Options so = xai::default_options(sg);
  CHECK_FALSE(so.flag("squared"));
  xai::set_option(sg, so, "squared", "1");
  CHECK(so.flag("squared"));
  CHECK_THROWS_WITH(xai::set_option(sg, so, "noise", "nan"), "--noise must be a number in [0, 10], got 'nan'");
  CHECK_THROWS_WITH(xai::set_option(xai::find_method("lime"), so, "fill", "300"), Contains("--fill must be"));
  CHECK_THROWS_WITH(xai::find_method("saliancy"), Contains("closest: saliency"));
  CHECK_THROWS_AS(xai::add_method(xai::find_method("ig")), InvalidArgument);  // the name is taken
  // The help shows each option with its default, from the same spec.
  CHECK_THROWS(xai::default_options(ig).raw("no-such"));
  CHECK_THAT(xai::option_help(ig), Contains("--steps N") && Contains("(default 50)"));
}

TEST_CASE(
    "registry: a method added through the registry alone appears in help, its command, metrics, report, compare and "
    "demo") {
  if (!xai::is_method("dummy-input")) xai::add_method(dummy_method());
  std::string out;
  REQUIRE(test::run_cli({"--help"}, out) == 0);
  CHECK_THAT(out, Contains("dummy-input") && Contains("the input itself, scaled"));
  REQUIRE(test::run_cli({"dummy-input", "--help"}, out) == 0);
  CHECK_THAT(out, Contains("--scale K") && Contains("factor (default 2)") && Contains("nobody 2026") &&
                      Contains("no gradient"));
  CHECK(test::run_cli({"dummy-input", "--image", "x.png", "--scale", "11"}, out) == 2);
  CHECK_THAT(out, Contains("--scale must be an integer in [1, 10], got '11'"));
  CHECK(test::run_cli({"report", "--methods", "dummy-inpt", "--image", "x.png", "--out", "x"}, out) == 2);

  const char* fm = std::getenv("GRADTRACE_FASHION_MNIST");
  if (!fs::exists(fm && *fm ? fm : "/usr/share/datasets/fashion-mnist")) {
    WARN("skipped: Fashion-MNIST is not installed (dataset-fashion-mnist): the runs on a test image");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / ("gt_registry_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string img = "fashion-mnist:test:0", d = (dir / "d.h5").string(), s = (dir / "s.h5").string();
  REQUIRE(test::run_cli({"dummy-input", "--image", img, "--scale", "3", "--raw", d, "--out", (dir / "d.png").string()},
                        out) == 0);
  {
    h5::File f(d, h5::File::Mode::read);
    CHECK(f.attr_string("method") == "dummy-input");
    CHECK(f.attr_string("params") == "scale 3; map: max |a| over channels");
    CHECK(f.shape("attribution") == Shape{1, 1, 28, 28});
  }
  REQUIRE(test::run_cli({"saliency", "--image", img, "--raw", s, "--out", (dir / "s.png").string()}, out) == 0);
  REQUIRE(test::run_cli({"compare", d, s}, out) == 0);
  CHECK_THAT(out, Contains("(dummy-input, class 9)"));
  REQUIRE(test::run_cli({"metrics", "--image", img, "--method", "dummy-input", "--steps", "4"}, out) == 0);
  CHECK_THAT(out, Contains("dummy-input, class 9"));
  REQUIRE(test::run_cli({"report", "--image", img, "--methods", "dummy-input,saliency", "--steps", "4", "--out",
                         (dir / "report").string()},
                        out) == 0);
  std::ifstream html(dir / "report" / "index.html");
  std::stringstream page;
  page << html.rdbuf();
  CHECK_THAT(page.str(), Contains("<h3>dummy-input</h3>") && Contains("scale 2"));
  CHECK(fs::exists(dir / "report" / "dummy-input_overlay.png"));
  REQUIRE(test::run_cli({"demo", "--images", "0", "--methods", "dummy-input", "--out", (dir / "demo").string()}, out) ==
          0);
  CHECK(fs::exists(dir / "demo" / "fm0_dummy-input.png"));
  fs::remove_all(dir);
}
