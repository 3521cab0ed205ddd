// Full-size comparisons with the peers themselves (Keras via tf-keras, torchvision via Debian's
// python3-torch, and Captum's attributions on those torchvision models). Hidden tests ([.peer]):
// tests/peers/peer_keras.sh and tests/peers/peer_torch.sh make the reference files with the peer and runs them with
// GT_PEER_DIR pointing at them. Bound: max |ours - peer| <= 1e-3 max |peer| + 1e-5, for the logits and for the gradient
// of one logit with respect to the input.
//
// The references are computed in float64 and so is the checked run: in float32, last-bit differences
// flip a few of the millions of ReLU masks of a deep network, each flip moves the input gradient over
// a whole receptive field, and even TF and PyTorch then differ by percents (measured on VGG16: 5.6%).
// The float32 run is compared too: its logits at the same bound, its gradient only reported.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "autodiff/tape.h"
#include "io/hdf5.h"
#include "tests/test_util.h"
#include "weights/format.h"
#include "weights/keras.h"
#include "weights/keras_model.h"
#include "weights/onnx.h"
#include "weights/tflite.h"
#include "xai/gradcam.h"
#include "xai/integrated_gradients.h"
#include "xai/occlusion.h"
#include "xai/saliency.h"

using namespace gt;

namespace {
// Within rel of the peer's largest value (plus 1e-5 absolute at the default 1e-3: float32 runs against
// a float64 peer see its rounding and the ReLU masks it flips).
void check_close(const std::string& what, const Tensor& got, const Tensor& want, bool enforce = true,
                 double rel = 1e-3) {
  const double atol = rel * test::max_abs(want) + (rel < 1e-3 ? 0.0 : 1e-5);
  if (enforce) return test::expect_close("  " + what, got, want, 0, atol);
  REQUIRE(got.shape() == want.shape());
  double diff = 0;  // float32 against float64: reported, as ReLU masks flip
  const std::vector<double> a = got.to_vector_f64(), b = want.to_vector_f64();
  for (size_t i = 0; i < a.size(); ++i) diff = test::worse(diff, std::abs(a[i] - b[i]));
  std::printf("  %-40s max |diff| %.3g of max |peer| %.3g (reported)\n", what.c_str(), diff, test::max_abs(want));
}

// A float64 run's logits and d logit[target] / d input against float64 references, to 1e-10.
void compare_logits_and_gradient(nn::Model& m, const Tensor& x, const Tensor& logits_ref, const Tensor& grad_ref,
                                 int64_t target, const std::string& tag) {
  Tensor logits;
  {
    NoGradGuard ng;
    logits = m(x);
  }
  check_close(tag + " logits", logits, logits_ref, true, 1e-10);
  check_close(tag + " d logit / d input", xai::saliency([&](const Tensor& in) { return m(in); }, x, target), grad_ref,
              true, 1e-10);
}

// dtype: the precision of our run (the reference is float64). f64_rel: the bound in a float64 run.
void compare(nn::Model& m, const std::string& ref_path, DType dtype, double f64_rel = 1e-3, double f32_rel = 1e-3) {
  h5::File ref(ref_path, h5::File::Mode::read);
  const Tensor x = ref.read("input", dtype);
  const int64_t target = std::lround(ref.attr_double("target"));
  const std::string tag = m.info.arch + (dtype == DType::f64 ? " float64" : " float32");
  Tensor logits;
  {
    NoGradGuard ng;
    logits = m(x);
  }
  const double rel = dtype == DType::f64 ? f64_rel : f32_rel;
  check_close(tag + " logits", logits, ref.read("logits", DType::f64), true, rel);
  check_close(tag + " d logit / d input", xai::saliency([&](const Tensor& in) { return m(in); }, x, target),
              ref.read("grad", DType::f64), dtype == DType::f64, rel);
}
}  // namespace

TEST_CASE("Keras applications at full size, random weights: logits and input gradient", "[.peer][keras]") {
  const char* dir = std::getenv("GT_PEER_DIR");
  REQUIRE(dir);
  int n = 0;
  for (const char* arch : {"vgg16", "vgg19", "mobilenet_v1", "resnet50", "inception_v3", "mobilenet_v2"}) {
    const std::string w = std::string(dir) + "/" + arch + "_weights.h5";
    if (!std::filesystem::exists(w)) continue;
    std::printf("%s (Keras save_weights file)\n", arch);
    for (DType t : {DType::f64, DType::f32}) {
      auto m = load_keras(w, "", t);
      CHECK(m->info.arch == arch);
      compare(*m, std::string(dir) + "/" + arch + "_ref.h5", t);
    }
    ++n;
  }
  CHECK(n > 0);
}

TEST_CASE("torchvision at full size, random weights, converted: logits and input gradient", "[.peer][torch]") {
  const char* dir = std::getenv("GT_PEER_DIR");
  REQUIRE(dir);
  int n = 0;
  for (const char* arch : {"vgg16", "vgg19", "resnet50", "inception_v3", "mobilenet_v2"}) {
    const std::string w = std::string(dir) + "/" + arch + "_weights.h5";
    if (!std::filesystem::exists(w)) continue;
    std::printf("%s (torchvision state dict via tools/convert_torchvision.py)\n", arch);
    for (DType t : {DType::f64, DType::f32}) {
      auto m = load_weights(w, t);
      CHECK(m->info.arch == arch);
      CHECK(m->info.variant == "torch");
      // Both sides in float64 with the same float64 weights: the same arithmetic in another order.
      compare(*m, std::string(dir) + "/" + arch + "_ref.h5", t, 1e-10);
    }
    ++n;
  }
  CHECK(n > 0);
}

TEST_CASE("torchvision through torch.onnx.export at full size: logits and input gradient", "[.peer][onnx]") {
  // tests/fixture_gen/torch_reference.py --onnx: the float64 models exported as users export them.
  const char* dir = std::getenv("GT_PEER_DIR");
  REQUIRE(dir);
  int n = 0;
  for (const char* arch :
       {"vgg16", "resnet50", "inception_v3", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "densenet121"}) {
    const std::string f = std::string(dir) + "/" + arch + ".onnx";
    if (!std::filesystem::exists(f)) continue;
    std::printf("%s (ONNX from torch.onnx.export)\n", arch);
    ImportOptions o;
    o.preprocess = "none";
    for (DType t : {DType::f64, DType::f32}) {
      auto m = onnx_import::load(f, o, t);
      m->info.arch = arch;
      // float32 logits to 1e-4 of the largest (the bound), float64 everything to 1e-10
      compare(*m, std::string(dir) + "/" + arch + "_ref.h5", t, 1e-10, 1e-4);
    }
    ++n;
  }
  CHECK(n > 0);
}

TEST_CASE("a MobileNetV2 base nested in a Sequential, saved by tf-keras (.h5) and Keras 3 (.keras)",
          "[.peer][keras_model]") {
  // tests/fixture_gen/keras_model_reference.py: logits, tf.GradientTape saliency and the course's
  // Grad-CAM recipe at the nested base's last activation, all in float64.
  const char* dir = std::getenv("GT_PEER_DIR");
  REQUIRE(dir);
  h5::File ref(std::string(dir) + "/nested_ref.h5", h5::File::Mode::read);
  const Tensor x = ref.read("input", DType::f64), cam_ref = ref.read("gradcam", DType::f64);
  const int64_t target = std::lround(ref.attr_double("target"));
  const std::string layer = ref.attr_string("layer");
  for (const char* file : {"nested_tf.h5", "nested_k3.keras"}) {
    std::printf("%s\n", file);
    ImportOptions o;
    o.preprocess = "none";  // the input is already scaled
    auto m = keras_import::load(std::string(dir) + "/" + file, o, DType::f64);
    compare_logits_and_gradient(*m, x, ref.read("logits", DType::f64), ref.read("saliency", DType::f64), target,
                                std::string(file));
    const Tensor cam = xai::gradcam([&](const Tensor& in) { return (*m)(in); }, x, {target, false}, layer).cam;
    check_close(std::string(file) + " gradcam at " + layer, ops::mul_scalar(cam, 1 / test::max_abs(cam)), cam_ref, true,
                1e-9);
  }
}

TEST_CASE("TF Lite graphs from the TF Lite converter: float against the interpreter, uint8 dequantized",
          "[.peer][tflite_model]") {
  // tests/fixture_gen/tflite_model_reference.py. Float graphs: the interpreter's logits (float32);
  // the uint8 graph: a float64 run of the same graph on its dequantized constants. Logits to 1e-4 of
  // the largest.
  const char* dir = std::getenv("GT_PEER_DIR");
  REQUIRE(dir);
  int n = 0;
  for (const char* name : {"mobilenet_v2", "mobilenet_v3", "inception_v3", "mobilenet_v2_uint8"}) {
    const std::string base = std::string(dir) + "/" + name;
    if (!std::filesystem::exists(base + ".tflite")) continue;
    h5::File ref(base + "_ref.h5", h5::File::Mode::read);
    const bool quantized = std::string(name).find("uint8") != std::string::npos;
    ImportOptions o;
    o.preprocess = "none";  // the reference's input is already what the graph takes
    auto m = tflite::load(base + ".tflite", o);
    Tensor logits;
    {
      NoGradGuard ng;
      logits = (*m)(ref.read(quantized ? "pixels" : "input"));  // a quantized graph dequantizes its pixels itself
    }
    std::printf("%s (%zu layers)\n", name, m->layers().size());
    if (quantized) CHECK_THAT(m->info.notes.begin()->second, Catch::Contains("scale") && Catch::Contains("zero point"));
    check_close(std::string(name) + " logits", logits, ref.read("logits", DType::f64), true, 1e-4);
    ++n;
  }
  CHECK(n > 0);
}

TEST_CASE("Captum on full-size torchvision models: every attribution method", "[.peer][captum]") {
  // tests/fixture_gen/torch_reference.py --captum; our run in float64 on the converted weights.
  const char* dir = std::getenv("GT_PEER_DIR");
  REQUIRE(dir);
  int n = 0;
  for (const char* arch : {"vgg16", "resnet50", "inception_v3", "mobilenet_v2"}) {
    const std::string c = std::string(dir) + "/" + arch + "_captum.h5";
    if (!std::filesystem::exists(c)) continue;
    std::printf("%s: Captum attributions\n", arch);
    auto m = load_weights(std::string(dir) + "/" + arch + "_weights.h5", DType::f64);
    h5::File ref(c, h5::File::Mode::read), inputs(std::string(dir) + "/" + arch + "_ref.h5", h5::File::Mode::read);
    const Tensor x = inputs.read("input", DType::f64);
    const xai::Target t{std::lround(ref.attr_double("target")), false};
    const std::string layer = ref.attr_string("layer");
    const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
    const std::string a = std::string(arch) + " ";
    check_close(a + "gradcam at " + layer, xai::gradcam(fn, x, t, layer).cam, ref.read("gradcam", DType::f64));
    if (std::string(arch) == "mobilenet_v2") {
      // Captum's GuidedBackprop overrides the backward of nn.ReLU only: MobileNetV2's ReLU6 keeps its
      // plain gradient there, while ours applies the guided rule to every ReLU-family activation.
      std::printf("  %-40s not compared (Captum leaves ReLU6 unguided)\n",
                  (a + "guided backprop, deconvnet, guided gradcam").c_str());
    } else {
      check_close(a + "guided backprop", xai::guided_backprop(fn, x, t), ref.read("guided_backprop", DType::f64));
      if (ref.has("deconvnet"))
        check_close(a + "deconvnet", xai::deconvnet(fn, x, t), ref.read("deconvnet", DType::f64));
      check_close(a + "guided gradcam", xai::guided_gradcam(fn, x, t, layer), ref.read("guided_gradcam", DType::f64));
    }
    check_close(a + "inputxgradient", xai::gradxinput(fn, x, t), ref.read("inputxgradient", DType::f64));
    xai::OcclusionOptions o;
    o.window = 112;
    o.stride = 56;
    check_close(a + "occlusion", xai::occlusion(fn, x, Tensor::zeros_like(x), t, o), ref.read("occlusion", DType::f64));
    xai::IgOptions ig;
    ig.steps = 4;
    ig.method = "gausslegendre";
    ig.batch = 4;
    check_close(a + "integrated gradients",
                xai::integrated_gradients(fn, x, ref.read("baseline", DType::f64), t, ig).attribution,
                ref.read("ig", DType::f64));
    ++n;
  }
  CHECK(n > 0);
}
