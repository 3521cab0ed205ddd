// A convolution's epilogue on the device (kernels/params.h: Epilogue), shared by the implicit-GEMM
// and the Winograd convolutions.
#pragma once
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"

namespace gt::cuda {

// The epilogue on the device: act(scale[o] * v + bias[o]); ReLU and ReLU6 as ops::relu and ops::relu6
// on the CPU (a NaN becomes 0 in ReLU and stays NaN in ReLU6).
template <class T>
struct Finish {
  const T *bias, *scale;
  Act act;
  __device__ T operator()(int o, T v) const {
    v = (scale ? scale[o] : T(1)) * v + (bias ? bias[o] : T(0));
    if (act == Act::relu) return v > T(0) ? v : T(0);
    if (act == Act::relu6) {
      v = v < T(0) ? T(0) : v;
      return T(6) < v ? T(6) : v;
    }
    return v;
  }
};

template <class T>
Finish<T> device_epilogue(const Epilogue<T>& e) {
  return {e.bias, e.scale, e.act};
}

}  // namespace gt::cuda
