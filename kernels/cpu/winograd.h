// Winograd convolutions, float32: F(2x2, 3x3), F(4x4, 3x3), F(2x2, 5x5), and F(2, 7) and F(2, 3) along one axis (see
// winograd.cpp for the algorithm).
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

// Which Winograd algorithm serves g best ("F(4x4,3x3)", "F(2x2,3x3)", "F(2x2,5x5)", "F(1x2,1x7)",
// "F(2x1,7x1)", "F(1x2,1x3)", "F(2x1,3x1)", and "F(4x4,3x3) channels" or "F(2x2,3x3) channels" with
// the channels in the vector lanes), or null where none applies. It needs stride 1, no dilation, one
// group, at least 16 input and output channels (any padding), a 3x3, 5x5, 1x7, 7x1, 1x3 or 3x1
// kernel, and at least 40 output tiles in one image (3x3: 14x14 outputs and up, F(4x4) from 28x28;
// 1x7: 9x9) or 128 in the batch: fewer do not repay the transforms. A 3x3 kernel whose channel
// counts are multiples of 16 takes the channels in the lanes instead while the batch has at most
// 160 tiles, on planes of any size. And the vectorised GEMM must be built (AVX-512F).
const char* winograd_kind(const ConvGeom& g);
inline bool winograd_applicable(const ConvGeom& g) { return winograd_kind(g) != nullptr; }

// y = e(conv(x, w)) (bias, scale, activation; kernels/params.h), NCHW, w as O x C x kh x kw.
// transposed_weights: w is C x O x kh x kw instead, the weights of the conv whose data gradient this
// is, used turned by 180 degrees (dx = conv(dy, w'), w'[c, o] = rot180 w[o, c], full padding).
void winograd_forward(const ConvGeom& g, const float* x, const float* w, const Epilogue<float>& e, float* y,
                      bool transposed_weights = false);

}  // namespace gt::cpu
