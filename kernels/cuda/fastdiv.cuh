// Division by a number that is fixed for a whole launch (a plane's width, a kernel's tap count), as a
// multiply and a shift. The GPU has no integer divide instruction: n / d by a variable compiles to
// about twenty (a float reciprocal, then corrections), and the implicit-GEMM gathers divide every
// index they fetch. The divisor is prepared once on the host.
//
// Granlund & Montgomery, "Division by invariant integers using multiplication" (1994): for d >= 1 let
// l = ceil(log2 d) and m = floor(2^32 (2^l - d) / d) + 1, which is below 2^32. Then 2^32 + m is
// floor(2^(32+l) / d) + 1, close enough to 2^(32+l) / d that for every 0 <= n < 2^32
//   n / d = floor((2^32 + m) n / 2^(32+l)) = (umulhi(m, n) + n) >> l,
// and umulhi(m, n) + n < 2n does not overflow 32 bits while n < 2^31, as every index here is.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace gt::cuda {

struct FastDiv {
  int d = 1;
  unsigned m = 1, l = 0;

  FastDiv() = default;
  // A divisor below 1 (the width of an empty plane, never divided by) is taken as 1.
  explicit FastDiv(int divisor) : d(divisor < 1 ? 1 : divisor) {
    while ((int64_t(1) << l) < d) ++l;
    m = unsigned((uint64_t(1) << 32) * ((uint64_t(1) << l) - uint64_t(d)) / uint64_t(d) + 1);
  }
  __device__ int div(int n) const { return int((__umulhi(m, unsigned(n)) + unsigned(n)) >> l); }
};

}  // namespace gt::cuda
