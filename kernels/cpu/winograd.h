// Winograd F(2x2, 3x3) forward convolution, float32 (see winograd.cpp for the algorithm).
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

// 3x3, stride 1, no dilation, one group, at least 16 input and output channels, any padding, at
// least 64 output tiles per image, or 40 in a batch of at least 256 (smaller planes do not repay the
// transforms); and the vectorised GEMM is built (AVX-512F).
bool winograd_applicable(const ConvGeom& g);

// y = e(conv(x, w)) (bias, scale, activation; kernels/params.h), NCHW, w as O x C x 3 x 3.
void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y);

}  // namespace gt::cpu
