// h5_close A.h5 B.h5 TOL: every dataset of A (groups included) against B's of the same name, as
// max |a - b| / max |a| (0 when a is all zero and b equals it). Exit 0 when each is at most TOL.
// For the CLI's raw outputs (tests/cli_cuda_sim.sh: --device cuda against --device cpu).
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
  if (argc != 4) {
    std::fprintf(stderr, "usage: h5_close A.h5 B.h5 TOL\n");
    return 2;
  }
  try {
    const gt::h5::File a(argv[1], gt::h5::File::Mode::read), b(argv[2], gt::h5::File::Mode::read);
    const double tol = std::atof(argv[3]);
    int bad = 0;
    std::vector<std::string> names;
    datasets(a, "/", names);
    for (const std::string& name : names) {
      const std::vector<double> x = a.read(name, gt::DType::f64).to_vector_f64();
      const std::vector<double> y = b.read(name, gt::DType::f64).to_vector_f64();
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
