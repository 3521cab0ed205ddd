// The model zoo and its weights: MobileNet V1 from real TF Lite files, our HDF5 format, layer names
// and shapes, and the errors for bad files and images.
#include <stb_image_write.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "image/preprocess.h"
#include "io/hdf5.h"
#include "nn/model.h"
#include "tests/test_util.h"
#include "weights/flatbuffer.h"
#include "weights/format.h"
#include "weights/keras.h"
#include "weights/labels.h"
#include "weights/tflite.h"
#include "xai/saliency.h"

using namespace gt;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
const std::string& kData = test::kSharedData;
const std::string& kFloat = test::kMobileNet;
const std::string kQuant = kData + "/weights/mobilenet_v1_0.25_128_quant.tflite";

int64_t top1(nn::Model& m, const std::string& image) {
  NoGradGuard ng;
  const std::vector<float> p = m(load_input(image, m.info)).to_vector();
  return std::max_element(p.begin(), p.end()) - p.begin();
}

std::string tmp(const std::string& name) { return (fs::temp_directory_path() / ("gradtrace_test_" + name)).string(); }

void write_bytes(const std::string& path, const std::vector<char>& b) {
  std::ofstream(path, std::ios::binary).write(b.data(), std::streamsize(b.size()));
}
std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("real TF Lite MobileNet V1 0.25 classifies the course photos") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(kFloat);
  CHECK(m->info.classes == 1001);
  CHECK(m->info.alpha == 0.25);
  const std::pair<const char*, const char*> expect[] = {{"chelsea.png", "Egyptian cat"},
                                                        {"cat.bmp", "Egyptian cat"},
                                                        {"bird.bmp", "chickadee"},
                                                        {"dog_train_0.bmp", "golden retriever"}};
  for (auto [image, label] : expect) {
    INFO(image);
    CHECK(class_name(m->info, top1(*m, kData + "/images/" + image)) == label);
  }
}

TEST_CASE("the uint8-quantized MobileNet V1, dequantized, sees a cat") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(kQuant);
  CHECK(m->info.input_h == 128);
  const std::string top = class_name(m->info, top1(*m, kData + "/images/chelsea.png"));
  CHECK((top == "Egyptian cat" || top == "tabby" || top == "tiger cat"));
}

TEST_CASE("MobileNet V1 logits match the TF Lite interpreter (1e-4 relative)") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(kFloat);
  // tests/fixture_gen/tflite_reference.py: x[c,h,w] = sin(0.05 h (c+1)) cos(0.03 w + c)
  std::vector<float> x(3 * 224 * 224);
  for (int c = 0; c < 3; ++c)
    for (int h = 0; h < 224; ++h)
      for (int w = 0; w < 224; ++w)
        x[size_t((c * 224 + h) * 224 + w)] = float(std::sin(0.05 * h * (c + 1)) * std::cos(0.03 * w + c));
  NoGradGuard ng;
  const Tensor got = (*m)(Tensor::from_vector({1, 3, 224, 224}, x));
  h5::File ref(std::string(GT_FIXTURES_DIR) + "/tflite_mobilenet_v1_025_224.h5", h5::File::Mode::read);
  const Tensor want = ref.read("logits");
  test::expect_close("mobilenet_v1_0.25_224 logits vs the TF Lite interpreter", got, want, 0,
                     1e-4 * test::max_abs(want));
}

TEST_CASE("Full-integer TF Lite model: int8 per-channel weights and int32 biases are dequantized exactly") {
  // tests/fixture_gen/make_tflite_int8_fixture.py: MobileNet V1 (alpha 0.25, 64x64, 10 classes) converted with
  // full-integer quantization; the reference runs the interpreter's dequantized weights in float32.
  const std::string dir = GT_FIXTURES_DIR;
  const tflite::File f(dir + "/tflite_mobilenet_v1_int8.tflite");
  int per_channel = 0;
  for (const tflite::TensorInfo& t : f.tensors) per_channel += t.type == 9 && t.scale.size() > 1;
  CHECK(per_channel == 28);  // every convolution's weights carry one scale per output channel
  auto m = tflite::load(dir + "/tflite_mobilenet_v1_int8.tflite");
  CHECK(m->info.classes == 10);
  CHECK(m->info.labels == "none");
  h5::File ref(dir + "/tflite_mobilenet_v1_int8_ref.h5", h5::File::Mode::read);
  NoGradGuard ng;
  const Tensor got = (*m)(ref.read("input")), want = ref.read("logits");
  test::expect_close("int8 MobileNet logits vs the TF Lite interpreter", got, want, 0, 1e-4 * test::max_abs(want));
}

TEST_CASE("Keras .h5 layout fixtures, nested and flat naming, against a PyTorch reference") {
  // tests/fixture_gen/make_keras_fixtures.py: VGG16/19 with widths / 32 on 64x64, weights in Keras layouts.
  const std::string dir = GT_FIXTURES_DIR;
  for (const char* file : {"vgg16_narrow_nested", "vgg16_narrow_flat", "vgg19_narrow_nested"}) {
    INFO(file);
    const std::string arch = std::string(file).substr(0, 5);
    h5::File ref(dir + "/" + arch + "_narrow_ref.h5", h5::File::Mode::read);
    const Tensor x = ref.read("input");
    auto m = load_keras(dir + "/keras_" + std::string(file) + ".h5");
    CHECK(m->info.arch == arch);
    CHECK(m->info.alpha == 1.0 / 32);
    CHECK(m->info.input_h == 64);
    CHECK(m->info.classes == 10);
    Tensor logits;
    {
      NoGradGuard ng;
      logits = (*m)(x);
    }
    const Tensor g = xai::saliency([&](const Tensor& in) { return (*m)(in); }, x, 3);
    for (auto [got, name] : {std::pair{logits, "logits"}, {g, "grad"}}) {
      const Tensor want = ref.read(name);
      test::expect_close(std::string("keras_") + file + " " + name, got, want, 0, 1e-4 * test::max_abs(want));
    }
  }
}

TEST_CASE("narrow ResNet50, InceptionV3, MobileNetV2 and MobileNetV1 (TF Lite) topologies against PyTorch") {
  // tests/fixture_gen/make_model_fixtures.py: torchvision's own blocks, widths reduced, converted weights. The
  // reference is float64 with float16-rounded weights, so our float64 run must agree to rounding; in
  // float32 these high-gain random networks flip ReLU masks (see tests/peers/test_peers.cpp).
  for (const char* arch : {"resnet50", "inception_v3", "mobilenet_v2", "mobilenet_v1"}) {
    INFO(arch);
    const std::string dir = GT_FIXTURES_DIR, base = dir + "/torch_" + std::string(arch) + "_narrow";
    auto m = load_weights(base + ".h5", DType::f64);
    CHECK(m->info.arch == arch);
    CHECK(m->info.variant == (std::string(arch) == "mobilenet_v1" ? "tflite" : "torch"));
    h5::File ref(base + "_ref.h5", h5::File::Mode::read);
    const Tensor x = ref.read("input", DType::f64);
    Tensor logits;
    {
      NoGradGuard ng;
      logits = (*m)(x);
    }
    const Tensor g = xai::saliency([&](const Tensor& in) { return (*m)(in); }, x, 3);
    for (auto [got, name] : {std::pair{logits, "logits"}, {g, "grad"}}) {
      const Tensor want = ref.read(name, DType::f64);
      test::expect_close(std::string("torch ") + arch + " narrow " + name, got, want, 0, 1e-6 * test::max_abs(want));
    }
  }
}

TEST_CASE("a Keras _notop file gives a feature extractor ending at the last conv block") {
  const std::string dir = GT_FIXTURES_DIR;
  auto top = load_keras(dir + "/keras_vgg16_narrow_nested.h5");
  auto notop = load_keras(dir + "/keras_vgg16_narrow_notop.h5");
  CHECK(!notop->info.include_top);
  CHECK(notop->find("fc1") == nullptr);
  const Tensor x = h5::File(dir + "/vgg16_narrow_ref.h5", h5::File::Mode::read).read("input");
  Tensor features, pooled;
  {
    NoGradGuard ng;
    features = (*notop)(x);
    Tape tape;
    TapeGuard guard(tape);
    tape.add_forward_hook("", "block5_pool", [&](const std::string&, const std::string&, const Tensor& out) {
      pooled = out;
      return out;
    });
    (*top)(x);
  }
  CHECK(features.shape() == Shape{1, 16, 2, 2});
  CHECK(features.to_vector() == pooled.to_vector());
}

TEST_CASE("bad Keras files: another architecture, a missing layer, truncated") {
  const std::string dir = GT_FIXTURES_DIR, nested = dir + "/keras_vgg16_narrow_nested.h5";
  CHECK_THROWS_WITH(load_keras(nested, "resnet50"), Contains(nested) && Contains("holds a vgg16, not a resnet50"));
  const std::string missing = dir + "/keras_vgg16_missing_layer.h5";
  CHECK_THROWS_WITH(load_keras(missing), Contains(missing) && Contains("missing layer block1_conv2 of vgg16"));
  const std::string cut = tmp("truncated_keras.h5");
  const std::vector<char> b = read_bytes(nested);
  write_bytes(cut, std::vector<char>(b.begin(), b.begin() + 3000));
  CHECK_THROWS_WITH(load_keras(cut), Contains(cut));
  fs::remove(cut);
}

TEST_CASE("gray and RGBA images are read as RGB, squash and crop resizing") {
  const std::string gray = tmp("gray.png"), rgba = tmp("rgba.png");
  std::vector<uint8_t> g(6 * 4), c(6 * 4 * 4);
  for (size_t i = 0; i < g.size(); ++i) g[i] = uint8_t(i * 10);
  for (size_t i = 0; i < c.size(); ++i) c[i] = uint8_t(i);
  REQUIRE(stbi_write_png(gray.c_str(), 6, 4, 1, g.data(), 6));
  REQUIRE(stbi_write_png(rgba.c_str(), 6, 4, 4, c.data(), 24));
  const Image a = load_image(gray), b = load_image(rgba);
  CHECK(a.rgb.size() == 6 * 4 * 3);
  CHECK((a.rgb[3 * 5] == 50 && a.rgb[3 * 5 + 1] == 50 && a.rgb[3 * 5 + 2] == 50));
  CHECK((b.rgb[3 * 2] == 8 && b.rgb[3 * 2 + 1] == 9 && b.rgb[3 * 2 + 2] == 10));  // alpha dropped
  CHECK(resize_image(b, 3, 3, "squash").shape() == Shape{1, 3, 3, 3});
  const Tensor crop = resize_image(a, 2, 2, "crop");  // shorter side 4 -> 2/0.875, then the centre 2x2
  CHECK(crop.shape() == Shape{1, 3, 2, 2});
  CHECK_THROWS_WITH(resize_image(a, 2, 2, "stretch"), Contains("unknown resize mode"));
  fs::remove(gray);
  fs::remove(rgba);
}

TEST_CASE("our HDF5 format round-trips a model exactly") {
  nn::ModelOptions o;
  o.alpha = 0.25;
  o.input_size = 64;
  auto a = nn::make_model("mobilenet_v1", o);
  uint64_t seed = 1;
  for (auto& [name, t] : a->named_parameters()) *t = Tensor::uniform(t->shape(), 0.5, 1.5, seed++);
  const std::string path = tmp("roundtrip.h5");
  save_weights(*a, path);
  auto b = load_weights(path);
  CHECK(b->info.arch == "mobilenet_v1");
  CHECK(b->info.input_h == 64);
  const Tensor x = Tensor::uniform({1, 3, 64, 64}, -1, 1, 9);
  NoGradGuard ng;
  CHECK((*a)(x).to_vector() == (*b)(x).to_vector());
  fs::remove(path);
}

TEST_CASE("MobileNet V1 layers carry Keras names and TF 'SAME' shapes at any size") {
  nn::ModelOptions o;
  o.alpha = 0.5;
  o.input_size = 130;  // odd sizes on the way down: SAME gives ceil(130 / 32) = 5
  o.variant = "tflite";
  auto m = nn::make_model("mobilenet_v1", o);
  const auto rows = nn::layer_shapes(*m);
  auto shape_of = [&](const std::string& l) {
    for (const auto& r : rows)
      if (r.layer == l) return r.shape;
    FAIL("no layer " << l);
    return Shape();
  };
  CHECK(shape_of("conv1_relu") == Shape{1, 16, 65, 65});
  CHECK(shape_of("conv_dw_2") == Shape{1, 32, 33, 33});
  CHECK(shape_of("conv_pw_13_relu") == Shape{1, 512, 5, 5});
  CHECK(shape_of("reshape_2") == Shape{1, 1001});
  CHECK(m->find(m->info.gradcam_layer + std::string()) == nullptr);  // an activation, not a parameter layer
  CHECK(shape_of(m->info.gradcam_layer).ndim() == 4);
}

TEST_CASE("VGG16 takes any input of at least 32 pixels, each pool floors as Keras' valid pooling does") {
  nn::ModelOptions o;
  o.alpha = 1.0 / 16;
  o.input_size = 100;  // 100 -> 50 -> 25 -> 12 -> 6 -> 3
  auto m = nn::make_model("vgg16", o);
  const auto rows = nn::layer_shapes(*m);
  for (const auto& r : rows) {
    if (r.layer == "block5_pool") CHECK(r.shape == Shape{1, 32, 3, 3});
    if (r.layer == "flatten") CHECK(r.shape == Shape{1, 32 * 3 * 3});
  }
  CHECK(rows.back().shape == Shape{1, 1000});
  o.input_size = 31;
  CHECK_THROWS_WITH(nn::make_model("vgg16", o), Contains("at least 32"));
}

TEST_CASE("bad TF Lite files: truncated, not TF Lite, unsupported op") {
  if (!test::have_shared_data()) return;
  const std::vector<char> good = read_bytes(kFloat);
  const std::string path = tmp("bad.tflite");
  write_bytes(path, std::vector<char>(good.begin(), good.begin() + 4000));
  CHECK_THROWS_WITH(tflite::load(path), Contains(path) && Contains("truncated"));
  write_bytes(path, std::vector<char>(100, 'x'));
  CHECK_THROWS_WITH(tflite::load(path), Contains(path) && Contains("not a TF Lite model"));
  // Turn the first operator code into FULLY_CONNECTED (9): an op this importer does not handle.
  {
    const tflite::File f(kFloat);
    std::vector<char> b = good;
    fb::Buffer buf(std::vector<uint8_t>(b.begin(), b.end()), "x");
    const fb::Table model(&buf, buf.read<uint32_t>(0));
    const fb::Table code = model.vector(1).table(0);
    const size_t pos = code.field_position(code.has(3) ? 3 : 0);
    REQUIRE(pos > 0);
    if (code.has(3)) {  // RESIZE_BILINEAR, which gradtrace does not run
      b[pos] = 23;
      b[pos + 1] = b[pos + 2] = b[pos + 3] = 0;
    } else {
      b[pos] = 23;
    }
    write_bytes(path, b);
  }
  CHECK_THROWS_WITH(tflite::load(path), Contains(path) && Contains("(RESIZE_BILINEAR): unsupported TF Lite op"));
  fs::remove(path);
}

TEST_CASE("bad weights and inputs: missing layer, wrong shape, not an image, too large") {
  nn::ModelOptions o;
  o.alpha = 0.25;
  o.input_size = 32;
  o.variant = "tflite";  // no batch norm layers: conv1 then conv_dw_1
  auto m = nn::make_model("mobilenet_v1", o);
  const std::string w = tmp("partial.h5");
  {
    h5::File f(w, h5::File::Mode::write);
    f.set_attr("gradtrace_format", 1.0);
    f.write("conv1/weight", Tensor::zeros({8, 3, 3, 3}));
    f.write("conv1/bias", Tensor::zeros({8}));
    f.write("conv_dw_1/weight", Tensor::zeros({8, 1, 5, 5}));
    f.commit();
  }
  CHECK_THROWS_WITH(load_parameters(*m, w),
                    Contains(w) && Contains("conv_dw_1/weight") && Contains("[8,1,3,3]") && Contains("[8,1,5,5]"));
  {
    h5::File f(w, h5::File::Mode::write);
    f.write("conv1/weight", Tensor::zeros({8, 3, 3, 3}));
    f.write("conv1/bias", Tensor::zeros({8}));
    f.commit();
  }
  CHECK_THROWS_WITH(load_parameters(*m, w), Contains(w) && Contains("missing dataset conv_dw_1/weight"));
  CHECK_THROWS_WITH(load_weights(w), Contains("not a gradtrace weights file"));
  {
    h5::File f(w, h5::File::Mode::write);
    f.write("input", Tensor::zeros({1, 4, 8, 8}));
    f.commit();
  }
  CHECK_THROWS_WITH(load_input(w, m->info), Contains(w) && Contains("[1,3,H,W]") && Contains("[1,4,8,8]"));
  const std::string junk = tmp("junk.h5");
  write_bytes(junk, std::vector<char>(64, 'z'));
  CHECK_THROWS_WITH(load_weights(junk), Contains(junk) && Contains("not an HDF5 file"));
  const std::string png = tmp("not_an_image.png");
  write_bytes(png, std::vector<char>(64, 'z'));
  CHECK_THROWS_WITH(load_image(png), Contains(png) && Contains("cannot read"));
  // A BMP header announcing 20000 x 20000 pixels: refused before any pixel is allocated.
  std::vector<char> bmp(54, 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) bmp[at + k] = char((v >> (8 * k)) & 255);
  };
  bmp[0] = 'B', bmp[1] = 'M';
  put32(2, 54), put32(10, 54), put32(14, 40), put32(18, 20000), put32(22, 20000);
  bmp[26] = 1, bmp[28] = 24;
  const std::string big = tmp("huge.bmp");
  write_bytes(big, bmp);
  CHECK_THROWS_WITH(load_image(big), Contains(big) && Contains("over 100 megapixels"));
  for (const auto& p : {w, junk, png, big}) fs::remove(p);
}

TEST_CASE("fused conv -> batch norm -> ReLU nodes give the layer-by-layer values and gradients") {
  // The zoo records conv -> BN -> ReLU as one conv2d_affine node when nothing looks inside it. The
  // same float64 networks with Model::fuse off (every layer its own nodes) are the reference.
  for (const char* arch : {"resnet50", "inception_v3", "mobilenet_v2", "mobilenet_v1"}) {
    INFO(arch);
    const std::string base = std::string(GT_FIXTURES_DIR) + "/torch_" + arch + "_narrow";
    auto m = load_weights(base + ".h5", DType::f64);
    const Tensor x = h5::File(base + "_ref.h5", h5::File::Mode::read).read("input", DType::f64);
    auto run = [&](bool fuse, std::string* ops) {
      m->fuse = fuse;
      Tape tape;
      TapeGuard guard(tape);
      Tensor in = x.detach().set_requires_grad(true);
      const Tensor logits = (*m)(in);
      for (size_t i = 0; i < tape.size(); ++i) *ops += tape.node(i).op + " ";
      std::vector<double> seed(size_t(logits.numel()), 0.0);
      seed[3] = 1;  // d logit 3 / d input
      return std::pair{logits, tape.grad(logits, {in}, Tensor::from_vector(logits.shape(), seed, DType::f64))[0]};
    };
    std::string fused_ops, plain_ops;
    const auto [yf, gf] = run(true, &fused_ops);
    const auto [yp, gp] = run(false, &plain_ops);
    CHECK(fused_ops.find("conv2d_affine") != std::string::npos);
    CHECK(fused_ops.find("batch_norm") == std::string::npos);
    // ResNet's block ends: conv -> BN -> add -> ReLU, one conv2d_affine_add node each
    CHECK((fused_ops.find("conv2d_affine_add") != std::string::npos) == (std::string(arch) == "resnet50"));
    CHECK(fused_ops.find("add_relu") == std::string::npos);
    CHECK(fused_ops.find("relu6") == std::string::npos);  // MobileNets: every ReLU6 follows a conv
    CHECK(plain_ops.find("conv2d_affine") == std::string::npos);
    CHECK(std::count(fused_ops.begin(), fused_ops.end(), ' ') < std::count(plain_ops.begin(), plain_ops.end(), ' '));
    for (auto [a, b] : {std::pair{yf, yp}, {gf, gp}}) {
      test::expect_close("fused against unfused", a, b, 0, 1e-9 * test::max_abs(b));
    }
  }
}

TEST_CASE("a hook on a layer inside a fused block keeps that layer's own node") {
  const std::string base = std::string(GT_FIXTURES_DIR) + "/torch_resnet50_narrow";
  auto m = load_weights(base + ".h5");
  Tape tape;
  TapeGuard guard(tape);
  int seen = 0;
  tape.add_forward_hook("", "conv2_block1_2_bn", [&](const std::string& op, const std::string&, const Tensor& out) {
    seen += op == "batch_norm";
    return out;
  });
  (*m)(Tensor::uniform({1, 3, m->info.input_h, m->info.input_w}, -1, 1, 1).set_requires_grad(true));
  CHECK(seen == 1);
  bool relu_node = false;
  for (size_t i = 0; i < tape.size(); ++i)
    relu_node |= tape.node(i).layer == "conv2_block1_2_relu" && tape.node(i).op == "relu";
  CHECK(relu_node);  // the activation after a hooked batch norm stays its own node too
}
