// Every --json output is valid JSON, whatever the strings in it hold: parsed back here by
// nlohmann::json, with a path and a layer name full of quotes, backslashes and control characters.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_util.h"

using namespace gt;
namespace fs = std::filesystem;

TEST_CASE("json: classify --json names an image path with quotes and backslashes, and parses back") {
  const fs::path dir = fs::temp_directory_path() / ("gt_json_" + std::to_string(getpid())) / "we\"ird\\dir\tx";
  fs::create_directories(dir);
  const std::string image = (dir / "a \"b\" \\c.png").string();
  std::string out;
  REQUIRE(test::run_cli({"edges", "--size", "28", "--out", image}, out) == 0);
  REQUIRE(test::run_cli({"classify", "--image", image, "--json"}, out) == 0);
  const nlohmann::json j = nlohmann::json::parse(out);
  CHECK(j["image"] == image);
  CHECK(j["model"] == "fashion_cnn");
  CHECK(j["top"].size() == 5);
  CHECK(j["top"][0]["prob"].get<double>() > 0);
  fs::remove_all(dir.parent_path());
}

TEST_CASE("json: inspect --json escapes layer names and writes non-finite statistics as null") {
  xai::Inspection r;
  xai::NodeRecord n;
  n.layer = "block\"1\\conv\n";
  n.op = "conv2d";
  n.shape = Shape{1, 2, 3, 3};
  n.activation.mean = NAN;
  n.activation.max = INFINITY;
  n.has_gradient = true;
  n.gradient.l2 = 2.5;
  r.nodes = {n, n};
  r.nodes[1].layer = "skipped";
  const nlohmann::json j =
      nlohmann::json::parse(cli::inspect_json(r, "my \"net\"", 7, [](const std::string& l) { return l != "skipped"; }));
  CHECK(j["model"] == "my \"net\"");
  CHECK(j["target"] == 7);
  REQUIRE(j["nodes"].size() == 1);
  CHECK(j["nodes"][0]["layer"] == "block\"1\\conv\n");
  CHECK(j["nodes"][0]["shape"] == nlohmann::json({1, 2, 3, 3}));
  CHECK(j["nodes"][0]["activation"]["mean"].is_null());
  CHECK(j["nodes"][0]["activation"]["max"].is_null());
  CHECK(j["nodes"][0]["gradient"]["l2"] == 2.5);
}
