// conv2d kernels: forward, backward-data, backward-weights. Raw pointers, NCHW, row-major.
// General convolutions use im2col + GEMM; depthwise convolutions have their own (kernels/cpu/depthwise.h).
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

// y = e(conv(x, w)): bias, scale and activation (kernels/params.h), applied while each output block is
// still in cache. Its backward, epilogue_backward, is in kernels/cpu/epilogue.h.
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const Epilogue<T>& e, T* y);
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx);  // dx = dL/dx (overwrites)
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw);  // dw = dL/dw (overwrites)

}  // namespace gt::cpu
