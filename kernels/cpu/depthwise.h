// Depthwise convolution on the CPU (groups == C, O = m*C): each output plane is a small 2D
// correlation of one input plane. conv2d_forward/backward_* (kernels/cpu/conv.h) call these.
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const Epilogue<T>& e, T* y);
template <class T>
void depthwise_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx);  // overwrites dx
template <class T>
void depthwise_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw);  // overwrites dw

}  // namespace gt::cpu
