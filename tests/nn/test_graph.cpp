// The graph model against ONNX's own conformance data (Debian's libonnx-testdata): every model of
// node/, pytorch-converted/ and pytorch-operator/ whose ops gradtrace runs must reproduce the stored
// outputs to the suite's tolerances (rtol 1e-3, atol 1e-7).
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "autodiff/tape.h"
#include "io/hdf5.h"
#include "io/limits.h"
#include "nn/graph.h"
#include "tests/test_util.h"
#include "weights/onnx.h"
#include "xai/saliency.h"

using namespace gt;
namespace fs = std::filesystem;

namespace {

nn::HostValue read_pb(const fs::path& p) {
  return onnx_import::read_tensor(read_file(p.string(), uint64_t(1) << 30, p.string()), p.string());
}

// A graph input: real values become a float64 tensor (the suite's tolerances then test the
// formulas, not float32 rounding), integers stay on the host (shapes, axes).
nn::Value input_value(const nn::HostValue& h) {
  if (h.integer) return {Tensor(), std::make_shared<const nn::HostValue>(h)};
  if (h.dims.size() > 4) throw Error("a rank-" + std::to_string(h.dims.size()) + " input (at most 4 here)");
  return {Tensor::from_vector(Shape(h.dims), h.data, DType::f64), nullptr};
}

// Why a run may stop without being wrong: the op's feature, rank or data type is outside what
// gradtrace supports, and it says so.
bool unsupported(const std::string& why) {
  for (const char* s : {"unsupported", "not supported", "only ", "at most 4", "gradtrace reads", "(1-D or 2-D",
                        "must be a constant", "to an integer type", "Gather reads a tensor", "training-mode"})
    if (why.find(s) != std::string::npos) return true;
  return false;
}

// "" when every output matches; else what differs.
std::string run_case(nn::GraphModel& g, const fs::path& set) {
  std::vector<nn::Value> in;
  for (size_t k = 0; k < g.spec().inputs.size(); ++k)
    in.push_back(input_value(read_pb(set / ("input_" + std::to_string(k) + ".pb"))));
  NoGradGuard no_grad;
  const std::vector<nn::Value> out = g.run(in);
  for (size_t k = 0; k < out.size(); ++k) {
    const fs::path want_file = set / ("output_" + std::to_string(k) + ".pb");
    if (!fs::exists(want_file)) continue;
    const nn::HostValue want = read_pb(want_file);
    const std::vector<double> got = out[k].t.defined() ? out[k].t.to_vector_f64() : out[k].host->data;
    if (got.size() != want.data.size())
      return "output " + std::to_string(k) + " has " + std::to_string(got.size()) + " values, not " +
             std::to_string(want.data.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const double w = want.data[i];
      if (std::isnan(w) && std::isnan(got[i])) continue;
      if (!(std::abs(got[i] - w) <= 1e-7 + 1e-3 * std::abs(w)))
        return "output " + std::to_string(k) + "[" + std::to_string(i) + "] = " + std::to_string(got[i]) + ", not " +
               std::to_string(w);
    }
  }
  return "";
}

}  // namespace

TEST_CASE("ONNX conformance: the backend test data's models that use supported ops match their outputs") {
  const fs::path root = GT_ONNX_TESTDATA;
  if (!fs::exists(root)) {
    WARN("skipped: " << root << " is missing (apt-get install libonnx-testdata)");
    return;
  }
  const bool verbose = std::getenv("GT_ONNX_VERBOSE") != nullptr;  // print why each skipped model skipped
  int run = 0, passed = 0, skipped = 0;
  std::vector<std::string> failures;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator"}) {
    std::vector<fs::path> dirs;
    for (const auto& d : fs::directory_iterator(root / suite)) dirs.push_back(d.path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) {
      const std::string name = std::string(suite) + "/" + dir.filename().string();
      std::unique_ptr<nn::GraphModel> g;
      try {
        g = std::make_unique<nn::GraphModel>(onnx_import::read_graph((dir / "model.onnx").string()));
      } catch (const Error& e) {
        if (unsupported(e.what())) {
          if (verbose) std::cout << "  skipped " << name << ": " << e.what() << "\n";
          ++skipped;
          continue;
        }
        failures.push_back(name + ": " + e.what());
        ++run;
        continue;
      }
      g->to(DType::f64);
      std::string why;
      bool skip = false;
      for (const auto& set : fs::directory_iterator(dir)) {
        if (!set.is_directory() || !why.empty() || skip) continue;
        try {
          why = run_case(*g, set.path());
        } catch (const Error& e) {
          skip = unsupported(e.what());
          if (!skip) why = e.what();
          if (skip && verbose) std::cout << "  skipped " << name << ": " << e.what() << "\n";
        }
      }
      if (skip && why.empty()) {
        ++skipped;
        continue;
      }
      ++run;
      if (why.empty())
        ++passed;
      else
        failures.push_back(name + ": " + why);
    }
  }
  std::cout << "ONNX conformance: " << run << " run, " << passed << " passed, " << skipped
            << " skipped (an unsupported op, rank or data type)\n";
  for (const auto& f : failures) std::cout << "  FAILED " << f << "\n";
  CHECK(failures.empty());
  CHECK(passed >= 150);
}

namespace {
const std::string kSmallCnn = std::string(GT_FIXTURES_DIR) + "/onnx_small_cnn.onnx";

// How many nodes of each op a forward pass with gradients records.
std::map<std::string, int> recorded_ops(nn::Model& m, const Tensor& x) {
  Tape tape;
  TapeGuard guard(tape);
  m(x);
  std::map<std::string, int> n;
  for (size_t i = 0; i < tape.size(); ++i) ++n[tape.node(i).op];
  return n;
}
}  // namespace

TEST_CASE("ONNX small CNN from torch.onnx.export: logits and saliency match PyTorch in float64") {
  // tests/fixture_gen/make_onnx_fixtures.py: conv -> BN -> ReLU, a residual add -> ReLU, a depthwise
  // conv -> BN -> ReLU6 (Clip), LeakyReLU, and a view() flatten exported as an Unsqueeze/Concat chain.
  ImportOptions o;
  o.preprocess = "none";
  h5::File ref(std::string(GT_FIXTURES_DIR) + "/onnx_small_cnn_ref.h5", h5::File::Mode::read);
  for (DType t : {DType::f64, DType::f32}) {
    auto m = onnx_import::load(kSmallCnn, o, t);
    CHECK(m->info.classes == 10);
    CHECK(m->info.input_h == 32);
    CHECK(m->info.gradcam_layer == "/head/head.1/LeakyRelu");  // the last 4-D output wider than 1x1
    const Tensor x = ref.read("input", t);
    const double tol = t == DType::f64 ? 1e-12 : 1e-5;
    Tensor logits;
    {
      NoGradGuard ng;
      logits = (*m)(x);
    }
    const Tensor want = ref.read("logits", DType::f64);
    test::expect_close("logits", logits, want, 0, tol * test::max_abs(want));
    const Tensor grad = xai::saliency([&](const Tensor& in) { return (*m)(in); }, x, 3);
    const Tensor want_grad = ref.read("grad", DType::f64);
    test::expect_close("d logit 3 / d input", grad, want_grad, 0, tol * 10 * test::max_abs(want_grad));
  }
}

TEST_CASE("ONNX graphs fuse conv -> BN -> activation and add -> ReLU, and not where a hook looks") {
  ImportOptions o;
  o.preprocess = "none";
  auto m = onnx_import::load(kSmallCnn, o);
  Tensor x = Tensor::uniform({1, 3, 32, 32}, 0, 1, 5);
  x.set_requires_grad(true);  // the tape records
  // stem conv+BN+ReLU, block conv+BN, depthwise conv+BN+ReLU6, head conv (bias only): four fused
  // convolutions; the residual's add and ReLU: one add_relu node.
  auto ops = recorded_ops(*m, x);
  CHECK(ops["conv2d_affine"] == 4);
  CHECK(ops["batch_norm"] == 0);
  CHECK(ops["add_relu"] == 1);
  CHECK(ops["add"] == 0);
  const Tensor fused = (*m)(x);
  // A hook on the block's batch norm and on the residual add: those run op by op, with the same result.
  Tape tape;
  TapeGuard guard(tape);
  int seen = 0;
  auto count = [&](const std::string&, const std::string&, const Tensor& y) {
    ++seen;
    return y;
  };
  tape.add_forward_hook("", "/block/block.1/BatchNormalization", count);
  tape.add_forward_hook("", "/Add", count);
  const Tensor unfused = (*m)(x);
  CHECK(seen == 2);
  std::map<std::string, int> n;
  for (size_t i = 0; i < tape.size(); ++i) ++n[tape.node(i).op];
  CHECK(n["batch_norm"] == 1);
  CHECK(n["add"] == 1);
  CHECK(n["conv2d_affine"] == 3);
  test::expect_close("fused against unfused", unfused, fused, 0, 1e-5);
}

TEST_CASE("ONNX weights in an external data file load as the same model") {
  // The small CNN with every initializer's bytes moved to a file beside the model, as exporters write
  // models over protobuf's 2 GB.
  const fs::path dir = fs::temp_directory_path() / ("gt_onnx_external_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ::onnx::ModelProto m;
  const std::vector<uint8_t> bytes = read_file(kSmallCnn, uint64_t(1) << 30, kSmallCnn);
  REQUIRE(m.ParseFromArray(bytes.data(), int(bytes.size())));
  std::ofstream data(dir / "weights.bin", std::ios::binary);
  uint64_t offset = 0;
  int moved = 0;
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (!t.has_raw_data()) continue;
    const std::string raw = t.raw_data();
    data.write(raw.data(), std::streamsize(raw.size()));
    t.clear_raw_data();
    t.set_data_location(::onnx::TensorProto::EXTERNAL);
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"location", "weights.bin"}, {"offset", std::to_string(offset)}, {"length", std::to_string(raw.size())}}) {
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    }
    offset += raw.size(), ++moved;
  }
  data.close();
  CHECK(moved >= 10);
  std::ofstream(dir / "model.onnx", std::ios::binary) << m.SerializeAsString();
  ImportOptions o;
  o.preprocess = "none";
  auto inside = onnx_import::load(kSmallCnn, o), outside = onnx_import::load((dir / "model.onnx").string(), o);
  const Tensor x = Tensor::uniform({2, 3, 32, 32}, 0, 1, 9);
  NoGradGuard ng;
  CHECK((*outside)(x).to_vector() == (*inside)(x).to_vector());
  // a location outside the model's folder is refused
  m.mutable_graph()->mutable_initializer(0)->mutable_external_data(0)->set_value("../weights.bin");
  std::ofstream(dir / "escape.onnx", std::ios::binary) << m.SerializeAsString();
  CHECK_THROWS_WITH(onnx_import::load((dir / "escape.onnx").string(), o),
                    Catch::Contains("must be a file beside the model"));
  fs::remove_all(dir);
}
