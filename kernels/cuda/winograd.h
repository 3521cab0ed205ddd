// Winograd F(2x2, 3x3) convolution on the GPU (winograd.cu), for 3x3 convolutions at stride 1: the
// forward pass, and the data gradient, which is itself such a convolution.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/params.h"

namespace gt::cuda {

// 3x3, stride 1, no dilation, one group, at least 16 input and output channels; for the backward
// pass, padding of at most 2 on each side; and room in workspace_bytes for the transformed filters
// and the transforms of at least 128 tiles (elements of elem_bytes).
bool winograd_applicable(const ConvGeom& g, bool backward, size_t workspace_bytes, size_t elem_bytes);

// The input and output transforms of a chunk of tiles (V and M, 4x the chunk's input and output)
// are written to the workspace and read back by the next kernel. By default a chunk is as many tiles
// as the workspace holds; with bytes > 0, as many as fit in that many bytes (at least 128), so that
// V and M can stay in the GPU's L2 between the kernels, at the price of more launches. The
// backend's GRADTRACE_CUDA_WINOGRAD_CHUNK_MB, to time the one against the other (tools/gpu_check.sh).
void set_winograd_chunk_bytes(size_t bytes);

// y = e(conv(x, w)) (kernels/params.h), NCHW, w as O x C x 3 x 3.
template <class T>
cudaError_t winograd_forward(const ConvGeom& g, const T* x, const T* w, const Epilogue<T>& e, T* y, void* workspace,
                             size_t workspace_bytes, cudaStream_t s);
// dx = dL/dx (overwrites) for the forward convolution g.
template <class T>
cudaError_t winograd_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx, void* workspace,
                                   size_t workspace_bytes, cudaStream_t s);

}  // namespace gt::cuda
