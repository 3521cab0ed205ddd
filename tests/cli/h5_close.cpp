// h5_close A.h5 B.h5 TOL [NAME_A:NAME_B ...]: every dataset of A (groups included) against B's of the
// same name, or only the pairs named, as max |a - b| / max |a| (0 when a is all zero and b equals
// it). Exit 0 when each is at most TOL. For the CLI's raw outputs (tests/cuda/cli_cuda_sim.sh: --device
// cuda against --device cpu; tests/peers/peer_torch.sh: --precision float64 against PyTorch's float64).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "io/hdf5.h"

namespace {
// Every dataset under `group`, depth first ("nodes/0003/activation").
void datasets(const gt::h5::File& f, const std::string& group, std::vector<std::string>& out) {
  for (const std::string& name : f.members(group)) {
    const std::string path = group == "/" ? name : group + "/" + name;
    std::vector<std::string> sub;
    try {
      datasets(f, path, sub);
      out.insert(out.end(), sub.begin(), sub.end());
    } catch (const gt::Error&) {  // not a group
      out.push_back(path);
    }
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: h5_close A.h5 B.h5 TOL [NAME_A:NAME_B ...]\n");
    return 2;
  }
  try {
    const gt::h5::File a(argv[1], gt::h5::File::Mode::read), b(argv[2], gt::h5::File::Mode::read);
    const double tol = std::atof(argv[3]);
    int bad = 0;
    std::vector<std::pair<std::string, std::string>> pairs;
    for (int i = 4; i < argc; ++i) {
      const std::string p = argv[i];
      const size_t colon = p.find(':');
      pairs.push_back({p.substr(0, colon), colon == std::string::npos ? p : p.substr(colon + 1)});
    }
    if (pairs.empty()) {
      std::vector<std::string> names;
      datasets(a, "/", names);
      for (const auto& n : names) pairs.push_back({n, n});
    }
    for (const auto& [name, other] : pairs) {
      const std::vector<double> x = a.read(name, gt::DType::f64).to_vector_f64();
      const std::vector<double> y = b.read(other, gt::DType::f64).to_vector_f64();
      double diff = x.size() == y.size() ? 0 : INFINITY, scale = 0;
      for (size_t i = 0; i < x.size() && i < y.size(); ++i)
        diff = std::isnan(x[i] - y[i]) ? INFINITY : std::max(diff, std::abs(x[i] - y[i])),
        scale = std::max(scale, std::abs(x[i]));
      const double rel = scale > 0 ? diff / scale : diff;
      std::printf("%-14s max |a - b| / max |a| = %.2e%s\n", name.c_str(), rel, rel <= tol ? "" : "  TOO LARGE");
      bad += !(rel <= tol);
    }
    return bad ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "h5_close: %s\n", e.what());
    return 2;
  }
}
