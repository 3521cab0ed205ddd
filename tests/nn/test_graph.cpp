// The graph model against ONNX's own conformance data (Debian's libonnx-testdata): every model of
// node/, pytorch-converted/ and pytorch-operator/ whose ops gradtrace runs must reproduce the stored
// outputs to the suite's tolerances (rtol 1e-3, atol 1e-7).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "io/limits.h"
#include "nn/graph.h"
#include "weights/onnx.h"

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
