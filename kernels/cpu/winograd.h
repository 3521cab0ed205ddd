// Winograd F(2x2, 3x3) forward convolution, float32 (see winograd.cpp for the algorithm).
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

// 3x3, stride 1, no dilation, one group, at least 16 input and output channels, any padding, at
// least 40 output tiles per image (14x14 outputs), or 256 in a batch (smaller planes do not repay the
// transforms); and the vectorised GEMM is built (AVX-512F).
bool winograd_applicable(const ConvGeom& g);

// y = e(conv(x, w)) (bias, scale, activation; kernels/params.h), NCHW, w as O x C x 3 x 3.
// transposed_weights: w is C x O x 3 x 3 instead, the weights of the conv whose data gradient this
// is, used turned by 180 degrees (dx = conv(dy, w'), w'[c, o] = rot180 w[o, c], full padding).
void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                      bool transposed_weights = false);

}  // namespace gt::cpu
