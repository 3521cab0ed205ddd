// Keras model files (weights/keras_model.h) against TensorFlow itself: a student's CNN trained one
// epoch on Fashion-MNIST and saved by tf-keras as .h5 and as .keras
// (tests/fixture_gen/make_keras_model_fixtures.py), with TF's float64 logits, tf.GradientTape saliency
// and the Keras tutorial's Grad-CAM.
#include <catch2/catch.hpp>

#include "io/hdf5.h"
#include "tests/test_util.h"
#include "weights/keras_model.h"
#include "weights/load.h"
#include "xai/gradcam.h"
#include "xai/saliency.h"

using namespace gt;

namespace {
// Example i of a batch t, as a tensor of shape s.
Tensor example(const Tensor& t, int64_t i, const Shape& s) {
  const std::vector<double> v = t.to_vector_f64();
  const auto from = v.begin() + i * s.numel();
  return Tensor::from_vector(s, std::vector<double>(from, from + s.numel()), DType::f64);
}
}  // namespace

TEST_CASE("Keras model files: a trained student CNN (.h5 and .keras) matches TensorFlow in float64") {
  h5::File ref(std::string(GT_FIXTURES_DIR) + "/keras_student_cnn_ref.h5", h5::File::Mode::read);
  const Tensor x = ref.read("input", DType::f64), logits_ref = ref.read("logits", DType::f64);
  const Tensor saliency_ref = ref.read("saliency", DType::f64), cams = ref.read("gradcam", DType::f64);
  const std::vector<double> top = ref.read("top", DType::f64).to_vector_f64();
  const std::string layer = ref.attr_string("layer");
  for (const char* file : {"keras_student_cnn.h5", "keras_student_cnn.keras"}) {
    INFO(file);
    auto m = load_model(std::string(GT_FIXTURES_DIR) + "/" + file, "", Device::cpu, DType::f64);
    CHECK(m->info.arch == "keras");
    CHECK(m->info.preprocessing == "gray255");  // the luminance in 0..255: the model's Rescaling(1/255) scales it
    CHECK(m->info.classes == 10);
    CHECK(m->info.channels == 1);
    Tensor logits;
    {
      NoGradGuard ng;
      logits = (*m)(x);  // the final softmax is cut off: logits, as tf-keras-vis' ReplaceToLinear
    }
    test::expect_close(std::string(file) + " logits", logits, logits_ref, 0, 1e-10 * test::max_abs(logits_ref));
    const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
    for (int64_t i = 0; i < 4; ++i) {
      const Tensor xi = example(x, i, {1, 1, 28, 28});
      const int64_t t = std::lround(top[size_t(i)]);
      const Tensor want = example(saliency_ref, i, {1, 1, 28, 28});
      test::expect_close("saliency " + std::to_string(i), xai::saliency(fn, xi, t), want, 0,
                         1e-10 * test::max_abs(want));
      // Grad-CAM at the last conv block, divided by its maximum as the tutorial's heatmap is
      const Tensor cam = xai::gradcam(fn, xi, xai::Target{t, false}, layer).cam;
      const double peak = test::max_abs(cam);
      if (peak == 0) {  // every weighted channel sum negative: the tutorial's heatmap is all zero too
        CHECK(test::max_abs(example(cams, i, {14, 14})) == 0);
        continue;
      }
      test::expect_close("gradcam " + std::to_string(i), ops::mul_scalar(cam, 1 / peak), example(cams, i, {14, 14}), 0,
                         1e-9);
    }
  }
}
