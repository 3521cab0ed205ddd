// Winograd F(2x2, 3x3) and F(4x4, 3x3) forward convolution, float32 (see winograd.cpp for the algorithm).
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

// The output tile size m of the F(m x m, 3x3) that serves g best, or 0 where none applies. It needs
// 3x3, stride 1, no dilation, one group, at least 16 input and output channels (any padding), and
// at least 40 output tiles per image (14x14 outputs and up; F(4x4) from 28x28), or 256 in a batch:
// smaller planes do not repay the transforms. And the vectorised GEMM must be built (AVX-512F).
int winograd_tile(const ConvGeom& g);
inline bool winograd_applicable(const ConvGeom& g) { return winograd_tile(g) != 0; }

// y = e(conv(x, w)) (bias, scale, activation; kernels/params.h), NCHW, w as O x C x 3 x 3.
// transposed_weights: w is C x O x 3 x 3 instead, the weights of the conv whose data gradient this
// is, used turned by 180 degrees (dx = conv(dy, w'), w'[c, o] = rot180 w[o, c], full padding).
void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                      bool transposed_weights = false);

}  // namespace gt::cpu
