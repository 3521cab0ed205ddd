// conv2d kernels: forward, backward-data, backward-weights. Raw pointers, NCHW, row-major.
// General convolutions use im2col + Eigen GEMM; depthwise convolutions use a direct kernel.
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

// y = conv(x, w) + b; b may be null. The bias is added while each output block is still in cache.
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y);
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx);  // dx = dL/dx (overwrites)
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw);  // dw = dL/dw (overwrites)

}  // namespace gt::cpu
