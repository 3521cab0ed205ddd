// The CLI on an imported ONNX model (tests/fixtures/onnx_small_cnn.onnx): every command runs on it,
// and each bad ONNX file (tests/corpus/onnx) ends in one line that names the cause, writing nothing.
#include <catch2/catch.hpp>

#include "io/hdf5.h"
#include "render/viz.h"
#include "tests/cli/cli_util.h"
#include "xai/method.h"

using namespace gt;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {
const std::string kModel = std::string(GT_FIXTURES_DIR) + "/onnx_small_cnn.onnx";
const std::string kCorpus = std::string(GT_CORPUS_DIR) + "/onnx/";

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("gt_onnx_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// A [1,3,32,32] input in [0, 1] (an .h5 --image is used as is).
std::string input_file(const TempDir& dir) {
  const std::string f = dir / "input.h5";
  h5::File h(f, h5::File::Mode::write);
  h.write("input", Tensor::uniform({1, 3, 32, 32}, 0, 1, 3));
  h.commit();
  return f;
}

// A 32x32 picture (the report shows one), a colour gradient with a square.
std::string picture(const TempDir& dir) {
  Image img;
  img.width = img.height = 32;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const bool square = x > 8 && x < 20 && y > 10 && y < 24;
      img.rgb.insert(img.rgb.end(), {uint8_t(x * 8), uint8_t(square ? 250 : y * 8), uint8_t(square ? 20 : 128)});
    }
  const std::string f = dir / "picture.png";
  viz::write_png(f, img);
  return f;
}
}  // namespace

TEST_CASE("onnx: bad ONNX files end in one line naming the cause, and nothing is written") {
  TempDir dir;
  const std::string img = input_file(dir), png = dir / "never.png";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"truncated.onnx", {"not an ONNX model"}},
      {"garbage.onnx", {"not an ONNX model"}},
      {"unsupported_op.onnx", {"unsupported op type 'Erf' (node '/Erf')", "gradtrace runs:", "Conv"}},
      {"two_inputs.onnx", {"the model has 2 inputs"}},
      {"dynamic_hw.onnx", {"dynamic", "--size"}}};
  for (const auto& [file, says] : cases) {
    std::string out;
    CHECK(test::run_cli({"saliency", "--weights", kCorpus + file, "--image", img, "--out", png}, out) == 1);
    for (const std::string& s : says) CHECK_THAT(out, Contains(s));
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(png));
  }
  std::string out;  // a model of unknown conventions must be told its preprocessing
  CHECK(test::run_cli({"classify", "--weights", kModel, "--image", img}, out) == 1);
  CHECK_THAT(out, Contains("--preprocess"));
  // --size makes the dynamic model runnable
  CHECK(test::run_cli({"classify", "--weights", kCorpus + "dynamic_hw.onnx", "--preprocess", "none", "--size", "32",
                       "--image", img},
                      out) == 0);
}

TEST_CASE("onnx: every command runs on an imported ONNX model") {
  TempDir dir;
  const std::vector<std::string> model = {"--weights", kModel, "--preprocess", "unit", "--image", picture(dir)};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), model.begin(), model.end());
    std::string out;
    INFO(args[0] << ": " << out);
    const int rc = test::run_cli(args, out);
    INFO(out);
    CHECK(rc == 0);
    return out;
  };
  for (const xai::Method& m : xai::methods()) run({m.name, "--out", dir / (m.name + ".png")});
  CHECK_THAT(run({"classify", "--top", "3"}), Contains("class"));
  CHECK_THAT(run({"gradcam", "--out", dir / "gc.png"}), Contains("/head/head.1/LeakyRelu"));
  run({"gradcam", "--layer", "/stem/stem.2/Relu", "--out", dir / "gc2.png"});
  run({"inspect"});
  CHECK_THAT(run({"gradcheck", "--layer", "/stem/stem.0/Conv"}), Contains("weight"));
  run({"gradcheck", "--layer", "/fc/Gemm"});
  run({"counterfactual", "--target", "2", "--out", dir / "cf.png"});
  run({"metrics", "--method", "saliency"});
  run({"report", "--methods", "saliency,gradcam", "--out", dir / "report"});
  CHECK(fs::exists(dir / "report/index.html"));
  std::string out;
  REQUIRE(test::run_cli({"layers", "--weights", kModel, "--preprocess", "none"}, out) == 0);
  CHECK_THAT(out, Contains("/block/block.1/BatchNormalization") && Contains("/Add"));
  REQUIRE(test::run_cli({"graph", "--weights", kModel, "--preprocess", "none", "--out", dir / "graph.svg"}, out) == 0);
  CHECK(fs::exists(dir / "graph.svg"));
}
