// The CAM family against pytorch-grad-cam 1.5.7 itself (tests/fixture_gen/gradcam_family.py:
// tests/fixtures/gradcam_family.h5), on the narrow torchvision-layout VGG16 and ResNet50 of the
// Captum fixtures, in float64: each method's map at the layer's resolution, after the ReLU and before
// any resize or normalisation, within 1e-6 of the peer's largest value (Ablation-CAM 1e-5, below).
// Eigen-CAM's sign is LAPACK's in the peer (its issue #315): there ours must equal the ReLU of the
// peer's map or of its negative.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "io/hdf5.h"
#include "weights/format.h"
#include "xai/method.h"

using namespace gt;

namespace {
const char* const kMethods[] = {"gradcam",  "hirescam",     "xgradcam", "layercam",
                                "eigencam", "eigengradcam", "scorecam", "ablationcam"};

// Every method's map at `layer` (through the registry, as the CLI runs it) against the peer's map
// before its ReLU (want(method)).
void check_family(const std::string& arch, xai::Subject& s, const xai::Target& t, const std::string& layer,
                  const std::function<std::vector<double>(const std::string&)>& want_raw, double tolerance) {
  for (const std::string name : kMethods) {
    const xai::Method& m = xai::find_method(name);
    xai::Options o = xai::default_options(m);
    xai::set_option(m, o, "layer", layer);
    const std::vector<double> got = xai::explain(m, s, t, o).cam.to_vector_f64();
    const std::vector<double> raw = want_raw(name);
    REQUIRE(got.size() == raw.size());
    const bool unsigned_peer = name.rfind("eigen", 0) == 0;
    double best = INFINITY, scale = 0;
    for (const double sign : {1.0, -1.0}) {
      if (sign < 0 && !unsigned_peer) break;
      double diff = 0;
      for (size_t i = 0; i < raw.size(); ++i) {
        const double want = std::max(sign * raw[i], 0.0);
        diff = std::max(diff, std::abs(got[i] - want));
        scale = std::max(scale, want);
      }
      best = std::min(best, diff);
    }
    std::printf("%-9s %-13s at %-17s max |ours - pytorch-grad-cam| %.3g of max %.3g\n", arch.c_str(), name.c_str(),
                layer.c_str(), best, scale);
    INFO(arch << " " << name << " at " << layer << ": max |ours - pytorch-grad-cam| " << best << ", max " << scale);
    CHECK(scale > 0);
    // pytorch-grad-cam keeps Ablation-CAM's scores in float32: (s0 - s_k) / s0 cancels to 4e-6
    // of the largest value on ResNet50's GAP head
    CHECK(best <= (name == "ablationcam" ? std::max(tolerance, 1e-5) : tolerance) * scale);
  }
}
}  // namespace

TEST_CASE("the CAM family equals pytorch-grad-cam 1.5.7 at the layer on narrow VGG16 and ResNet50", "[xai][cam]") {
  const std::string dir = GT_FIXTURES_DIR;
  const h5::File ref(dir + "/gradcam_family.h5", h5::File::Mode::read);
  for (const std::string arch : {"vgg16", "resnet50"}) {
    xai::Subject s;
    s.model = load_weights(dir + "/torch_" + arch + "_narrow.h5", DType::f64);
    const h5::File captum(dir + "/captum_" + arch + ".h5", h5::File::Mode::read);
    xai::set_input(s, Tensor(), captum.read("input", DType::f64));
    check_family(
        arch, s, xai::Target{int64_t(captum.attr_double("target")), false}, ref.attr_string(arch + "_layer"),
        [&](const std::string& name) { return ref.read(arch + "/" + name, DType::f64).to_vector_f64(); }, 1e-6);
  }
}

// tests/peers/peer_cam.sh, by hand: full-size torchvision VGG16 and ResNet50 with random weights, both
// sides in float32 (the peer's K passes take hours in float64), to the 1e-4 of the largest value.
TEST_CASE("the CAM family equals pytorch-grad-cam on full-size VGG16 and ResNet50", "[.peer][cam_peers]") {
  const char* dir = std::getenv("GT_PEER_DIR");
  REQUIRE(dir);
  int n = 0;
  for (const std::string arch : {"vgg16", "resnet50"}) {
    const std::string base = std::string(dir) + "/" + arch;
    if (!std::ifstream(base + "_cams.h5")) continue;
    const h5::File ref(base + "_cams.h5", h5::File::Mode::read);
    xai::Subject s;
    s.model = load_weights(base + "_weights.h5", DType::f32);
    xai::set_input(s, Tensor(), ref.read("input", DType::f32));
    check_family(
        arch, s, xai::Target{int64_t(ref.attr_double("target")), false}, ref.attr_string("layer"),
        [&](const std::string& name) { return ref.read(name, DType::f64).to_vector_f64(); }, 1e-4);
    ++n;
  }
  CHECK(n > 0);
}
