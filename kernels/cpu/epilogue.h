// Applying a convolution's Epilogue (kernels/params.h) on the CPU, and its backward.
#pragma once
#include <algorithm>

#include "kernels/params.h"

namespace gt::cpu {

// y[0, n) = act(scale[o] * y + bias[o]) for n outputs of channel o.
template <class T>
inline void apply_epilogue(const Epilogue<T>& e, int64_t o, T* y, int64_t n) {
  // The activations are those of ops::relu and ops::relu6, NaN handling included.
  const T s = e.scale ? e.scale[o] : T(1), b = e.bias ? e.bias[o] : T(0);
  switch (e.act) {
    case Act::none:
#pragma omp simd
      for (int64_t t = 0; t < n; ++t) y[t] = s * y[t] + b;
      break;
    case Act::relu:
#pragma omp simd
      for (int64_t t = 0; t < n; ++t) y[t] = s * y[t] + b > T(0) ? s * y[t] + b : T(0);
      break;
    case Act::relu6:
#pragma omp simd
      for (int64_t t = 0; t < n; ++t) y[t] = std::min(std::max(s * y[t] + b, T(0)), T(6));
      break;
  }
}

// dz = dy * act'(y) * scale[o] over y (N, O, P): the gradient at the conv's raw output. act' is read
// from the output: relu passes where y > 0, relu6 where 0 < y < 6 (as the unfused ReLU's x > 0).
template <class T>
void epilogue_backward(const Epilogue<T>& e, int64_t N, int64_t O, int64_t P, const T* dy, const T* y, T* dz);

}  // namespace gt::cpu
