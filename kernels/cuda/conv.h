// conv2d on the GPU: forward, backward-data, backward-weights (NCHW, device pointers), and the
// backward of the fused epilogue. The general case is an implicit GEMM (kernels/cuda/tiled_gemm.cuh);
// depthwise convolutions (MobileNet) have direct kernels, since each output channel reads one input
// channel and a GEMM tile would be almost all zeros.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/params.h"

namespace gt::cuda {

// y = e(conv(x, w)): y = act(scale[o] * sum + bias[o]) (kernels/params.h). workspace: split-K scratch.
template <class T>
cudaError_t conv2d_forward(const ConvGeom& g, const T* x, const T* w, const Epilogue<T>& e, T* y, void* workspace,
                           size_t workspace_bytes, cudaStream_t s);
template <class T>  // dx = dL/dx (overwrites)
cudaError_t conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx, void* workspace,
                                 size_t workspace_bytes, cudaStream_t s);
template <class T>  // dw = dL/dw (overwrites)
cudaError_t conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw, void* workspace,
                                   size_t workspace_bytes, cudaStream_t s);
// dz = dy * act'(y) * scale[o] over y (N, O, P): relu passes where y > 0, relu6 where 0 < y < 6.
template <class T>
cudaError_t epilogue_backward(const Epilogue<T>& e, int64_t N, int64_t O, int64_t P, const T* dy, const T* y, T* dz,
                              cudaStream_t s);

}  // namespace gt::cuda
