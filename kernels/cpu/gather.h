// Strided index ranges and gathers shared by the convolution and pooling kernels.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace gt::cpu {

// The t in [0, n) with 0 <= ix0 + t*s < W, as [lo, hi): the outputs of a row (or column) whose input
// index ix0 + t*s, at stride s, lies inside the image.
inline void valid_range(int64_t ix0, int64_t s, int64_t W, int64_t n, int64_t& lo, int64_t& hi) {
  lo = ix0 >= 0 ? 0 : (-ix0 + s - 1) / s;
  hi = ix0 >= W ? 0 : (W - ix0 + s - 1) / s;
  lo = std::min(lo, n);
  hi = std::clamp(hi, lo, n);
}

// out[t] = x[2t] for t in [0, n), with x[0 .. 2n-1) readable. Stride-2 convolutions (the 7x7/2 stem
// of ResNet, Inception's 3x3/2 reductions) unroll their patches through this; a scalar strided copy
// took two thirds of ResNet's stem. AVX-512: two loads of 16 and one even-lane permute per 16 values.
template <class T, class X>
inline void gather_stride2(const X* x, int64_t n, T* out) {
  int64_t t = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && std::is_same_v<std::remove_const_t<X>, float>) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (; t + 16 <= n; t += 16) {
      // The last lane read is x[2t + 31]; only x[2t + 30] is needed, so mask it off.
      const __m512 a = _mm512_loadu_ps(x + 2 * t), b = _mm512_maskz_loadu_ps(0x7fff, x + 2 * t + 16);
      _mm512_storeu_ps(out + t, _mm512_permutex2var_ps(a, even, b));
    }
  }
#endif
  for (; t < n; ++t) out[t] = x[2 * t];
}

}  // namespace gt::cpu
