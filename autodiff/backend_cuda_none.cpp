// The CUDA backend of a build without CUDA (CMakeLists.txt: no nvcc, or -DGRADTRACE_CUDA=OFF).
#include "autodiff/backend.h"

namespace gt {

Backend& cuda_backend() {
  throw Error(
      "no CUDA device: this build of gradtrace has no CUDA backend (configure with -DGRADTRACE_CUDA=ON where nvcc is "
      "installed)");
}

}  // namespace gt
