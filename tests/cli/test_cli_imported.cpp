// The CLI on imported models (an ONNX export, tests/fixtures/onnx_small_cnn.onnx, and a Keras model
// file, tests/fixtures/keras_student_cnn.keras): every command runs on them, and each bad file
// (tests/corpus/onnx, tests/corpus/keras_zip) ends in one line that names the cause, writing nothing.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

#include "io/hdf5.h"
#include "render/viz.h"
#include "tests/cli/cli_util.h"
#include "weights/format.h"
#include "weights/load.h"
#include "xai/method.h"

using namespace gt;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {
const std::string kModel = std::string(GT_FIXTURES_DIR) + "/onnx_small_cnn.onnx";
const std::string kKeras = std::string(GT_FIXTURES_DIR) + "/keras_student_cnn.keras";
const std::string kCorpus = std::string(GT_CORPUS_DIR) + "/";

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
      {"onnx/truncated.onnx", {"not an ONNX model"}},
      {"onnx/garbage.onnx", {"not an ONNX model"}},
      {"onnx/unsupported_op.onnx", {"unsupported op type 'Erf' (node '/Erf')", "gradtrace runs:", "Conv"}},
      {"onnx/two_inputs.onnx", {"the model has 2 inputs"}},
      {"onnx/dynamic_hw.onnx", {"dynamic", "--size"}},
      {"keras_zip/config_zip_bomb.keras", {"config.json inflates to 200.0 MiB, over the limit of 64.0 MiB"}},
      {"keras_zip/not_a_zip.keras", {"not a .keras file"}},
      {"keras_zip/malformed_json.keras", {"the model config is not valid JSON"}},
      {"keras_zip/unknown_layer.keras", {"layer 'conv2d' (Frobnicate): unknown layer class", "Conv2D"}}};
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
  CHECK(test::run_cli({"classify", "--weights", kCorpus + "onnx/dynamic_hw.onnx", "--preprocess", "none", "--size",
                       "32", "--image", img},
                      out) == 0);
}

namespace {
// Every command on one imported model; `model` holds its --weights, --preprocess and --image. With
// `fast`, the sampling methods take few samples (a full-size model: seconds, not minutes, each).
void every_command(const TempDir& dir, const std::vector<std::string>& model, const std::string& conv,
                   const std::string& dense, const std::string& cam_layer, bool fast = false) {
  const std::map<std::string, std::vector<std::string>> few = {{"smoothgrad", {"--samples", "2"}},
                                                               {"ig", {"--steps", "4"}},
                                                               {"occlusion", {"--window", "112", "--stride", "112"}},
                                                               {"lime", {"--samples", "16", "--segments", "6"}},
                                                               {"kernelshap", {"--samples", "16", "--segments", "6"}},
                                                               {"counterfactual", {"--steps", "3"}},
                                                               {"scorecam", {"--layer", conv}},  // 64, not 2048 passes
                                                               {"ablationcam", {"--layer", conv}}};
  auto run = [&](std::vector<std::string> args) {
    if (fast && few.count(args[0])) args.insert(args.end(), few.at(args[0]).begin(), few.at(args[0]).end());
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
  CHECK_THAT(run({"gradcam", "--out", dir / "gc.png"}), Contains(cam_layer));
  run({"inspect"});
  CHECK_THAT(run({"gradcheck", "--layer", conv}), Contains("weight"));
  run({"gradcheck", "--layer", dense});
  run({"counterfactual", "--target", "2", "--out", dir / "cf.png"});
  run({"metrics", "--method", "saliency"});
  run({"report", "--methods", "saliency,gradcam", "--out", dir / "report"});
  CHECK(fs::exists(dir / "report/index.html"));
  std::string out;
  REQUIRE(test::run_cli({"layers", model[0], model[1], model[2], model[3]}, out) == 0);
  CHECK_THAT(out, Contains(conv) && Contains(cam_layer));
  REQUIRE(test::run_cli({"graph", model[0], model[1], model[2], model[3], "--out", dir / "graph.svg"}, out) == 0);
  CHECK(fs::exists(dir / "graph.svg"));
}
}  // namespace

TEST_CASE("onnx: every command runs on an imported ONNX model") {
  TempDir dir;
  every_command(dir, {"--weights", kModel, "--preprocess", "unit", "--image", picture(dir)}, "/stem/stem.0/Conv",
                "/fc/Gemm", "/head/head.1/LeakyRelu");
}

TEST_CASE("keras: every command runs on a Keras model file") {
  TempDir dir;
  // one channel, pixels 0..255 into the model's own Rescaling; a Fashion-MNIST test image
  every_command(dir, {"--weights", kKeras, "--preprocess", "none", "--image", "fashion-mnist:test:0"}, "conv2d_1",
                "predictions", "max_pooling2d_1");
}

namespace {
// A folder dataset of 32x32 pictures, two classes told apart by colour, `n` each.
std::string colour_folder(const TempDir& dir, int n) {
  for (int k = 0; k < 2; ++k) {
    fs::create_directories(dir.path / "set" / (k ? "blue" : "red"));
    for (int i = 0; i < n; ++i) {
      Image img;
      img.width = img.height = 32;
      for (int p = 0; p < 32 * 32; ++p)
        img.rgb.insert(img.rgb.end(),
                       {uint8_t(k ? 20 + i : 220 - i), uint8_t(60 + (p % 32)), uint8_t(k ? 220 - i : 20 + i)});
      viz::write_png(dir / ("set/" + std::string(k ? "blue" : "red") + "/" + std::to_string(i) + ".png"), img);
    }
  }
  return "folder:" + (dir / "set");
}

// Every parameter of the file's layers whose names start with one of `prefixes`, as numbers.
std::vector<double> parameters(nn::Model& m, const std::vector<std::string>& layers) {
  std::vector<double> v;
  for (auto& [name, t] : m.named_parameters())
    for (const std::string& l : layers)
      if (name.rfind(l + "/", 0) == 0) {
        const std::vector<double> x = t->to_vector_f64();
        v.insert(v.end(), x.begin(), x.end());
      }
  return v;
}
}  // namespace

TEST_CASE("train --from: fine-tuning an imported ONNX or Keras model keeps the frozen layers and trains a new head") {
  TempDir dir;
  struct Case {
    std::string from, preprocess, dataset, freeze, frozen_layer, head;
  };
  const std::vector<Case> cases = {
      {kModel, "unit", colour_folder(dir, 6), "/block/block.0/Conv", "/stem/stem.0/Conv", "/fc/Gemm"},
      {kKeras, "none", "fashion-mnist", "conv2d_1", "conv2d", "predictions"}};
  for (const Case& c : cases) {
    INFO(c.from);
    const std::string out = dir / "tuned.h5";
    std::string printed;
    const int rc =
        test::run_cli({"train", "--from", c.from, "--preprocess", c.preprocess, "--dataset", c.dataset,
                       "--freeze-until", c.freeze, "--limit", "256", "--epochs", "1", "--batch", "4", "--out", out},
                      printed);
    INFO(printed);
    REQUIRE(rc == 0);
    ImportOptions io;
    io.preprocess = c.preprocess;
    auto before = load_model(c.from, "", Device::cpu, DType::f32, io);
    auto after = load_weights(out);  // re-imported from c.from, with the tuned values
    CHECK(after->info.classes == (c.dataset == "fashion-mnist" ? 10 : 2));
    CHECK(after->info.class_names.size() == size_t(after->info.classes));
    CHECK(parameters(*after, {c.frozen_layer}) == parameters(*before, {c.frozen_layer}));  // frozen: bit for bit
    CHECK(parameters(*after, {c.head}) != parameters(*before, {c.head}));
    CHECK(test::run_cli(
              {"saliency", "--weights", out, "--image",
               c.dataset == "fashion-mnist" ? "fashion-mnist:test:1" : picture(dir), "--out", dir / "tuned.png"},
              printed) == 0);
  }
  std::string printed;  // a layer that is not there names the closest ones
  CHECK(test::run_cli(
            {"train", "--from", kKeras, "--dataset", "fashion-mnist", "--freeze-until", "conv2", "--out", dir / "x.h5"},
            printed) == 2);
  CHECK_THAT(printed, Contains("no layer with parameters named 'conv2'") && Contains("conv2d"));
}

// The same on a full-size export, torchvision's ResNet50 through torch.onnx.export, when
// GT_ONNX_RESNET50 names it (tests/peers/peer_torch.sh exports it and runs this).
TEST_CASE("onnx: every command runs on an imported ONNX ResNet50 (GT_ONNX_RESNET50)") {
  const char* file = std::getenv("GT_ONNX_RESNET50");
  if (!file || !*file) {
    WARN("skipped: GT_ONNX_RESNET50 is not set (tests/peers/peer_torch.sh sets it)");
    return;
  }
  TempDir dir;
  every_command(dir, {"--weights", file, "--preprocess", "torch", "--image", picture(dir)}, "/conv1/Conv", "/fc/Gemm",
                "/layer4/layer4.2/relu_2/Relu", true);
  std::string out;  // fine-tuning: a new head for two classes, everything up to layer4 frozen
  CHECK(test::run_cli({"train", "--from", file, "--preprocess", "torch", "--dataset", colour_folder(dir, 4), "--val",
                       "0.25", "--epochs", "1", "--batch", "4", "--freeze-until", "/layer4/layer4.2/conv3/Conv",
                       "--out", dir / "tuned.h5"},
                      out) == 0);
  INFO(out);
  CHECK(fs::exists(dir / "tuned.h5"));
}
