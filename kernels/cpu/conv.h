// conv2d kernels: forward, backward-data, backward-weights. Raw pointers, NCHW, row-major.
// General convolutions use im2col + Eigen GEMM; depthwise convolutions use a direct kernel.
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, T* y);  // y = conv(x, w)
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx);  // dx = dL/dx (overwrites)
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw);  // dw = dL/dw (overwrites)

}  // namespace gt::cpu
