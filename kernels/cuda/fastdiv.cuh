// Division by a number that is fixed for a whole launch (a plane's width, a kernel's tap count), as a
// multiply and a shift. The GPU has no integer divide instruction: n / d by a variable compiles to
// about twenty instructions in 32 bits (a float reciprocal, then corrections) and to a subroutine
// call in 64, and the implicit-GEMM gathers and the element-wise kernels divide every index they
// touch. The divisor is prepared once on the host.
//
// Granlund & Montgomery, "Division by invariant integers using multiplication" (1994), for B-bit
// unsigned words: for d >= 1 let l = ceil(log2 d) and m = floor(2^B (2^l - d) / d) + 1, which is
// below 2^B. Then 2^B + m is floor(2^(B+l) / d) + 1, close enough to 2^(B+l) / d that for every
// 0 <= n < 2^B
//   n / d = floor((2^B + m) n / 2^(B+l)) = (umulhi(m, n) + n) >> l,
// and umulhi(m, n) + n < 2n does not overflow while n < 2^(B-1): any non-negative int or int64_t.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

namespace gt::cuda {

template <class I>  // int (B = 32) or int64_t (B = 64)
struct FastDivBy {
  using U = std::conditional_t<sizeof(I) == 4, uint32_t, uint64_t>;
  using Wide = std::conditional_t<sizeof(I) == 4, uint64_t, unsigned __int128>;  // host only
  I d = 1;
  U m = 1;
  unsigned l = 0;

  FastDivBy() = default;
  // A divisor below 1 (the width of an empty plane, never divided by) is taken as 1.
  explicit FastDivBy(int64_t divisor) : d(I(divisor < 1 ? 1 : divisor)) {
    while ((Wide(1) << l) < Wide(d)) ++l;
    m = U((Wide(1) << (8 * sizeof(U))) * ((Wide(1) << l) - Wide(d)) / Wide(d) + 1);
  }
  __device__ I div(I n) const {  // n >= 0
    U hi;
    if constexpr (sizeof(I) == 4) {
      hi = __umulhi(m, U(n));
    } else {
      hi = __umul64hi(m, U(n));
    }
    return I((hi + U(n)) >> l);
  }
};
using FastDiv = FastDivBy<int>;
using FastDiv64 = FastDivBy<int64_t>;

// A flat index i over (plane, row, column) of planes of rows x cols: plane(i), and split(i, r, c)
// also gives the row and column. I is the index's type: int where every index fits one.
template <class I>
struct PlaneSplit {
  FastDivBy<I> by_plane;
  FastDiv by_cols;
  int cols;
  PlaneSplit(int rows, int cols) : by_plane(int64_t(rows) * cols), by_cols(cols), cols(cols) {}
  __device__ I plane(I i) const { return by_plane.div(i); }
  __device__ I split(I i, int& r, int& c) const {
    const I p = plane(i);
    const int rc = int(i - p * by_plane.d);
    r = by_cols.div(rc), c = rc - r * cols;
    return p;
  }
};

}  // namespace gt::cuda
