// Data movement on the GPU: padding, channel concatenation, bilinear resize. The CUDA twins of
// kernels/cpu/layout.h (dtype conversion is in elementwise.h).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/params.h"

namespace gt::cuda {

template <class T>
cudaError_t pad(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr, T value,
                const T* x, T* y, cudaStream_t s);
template <class T>
cudaError_t pad_backward(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr,
                         const T* dy, T* dx, cudaStream_t s);
template <class T>
cudaError_t insert_channels(int64_t N, int64_t Cs, int64_t S, const T* src, int64_t Cd, int64_t off, T* dst,
                            cudaStream_t s);
template <class T>
cudaError_t extract_channels(int64_t N, int64_t Cs, int64_t S, const T* dst_grad, int64_t Cd, int64_t off, T* src_grad,
                             cudaStream_t s);
// y (g.dims, contiguous) = x read with the strides g.sa (kernels/cpu/layout.h).
template <class T>
cudaError_t gather_strided(const Broadcast4& g, const T* x, T* y, cudaStream_t s);
// Half-pixel centres: src = max(0, (dst + 0.5) * in/out - 0.5), neighbours floor(src) and the next.
template <class T>
cudaError_t resize_bilinear(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* x, T* y,
                            cudaStream_t s);
template <class T>
cudaError_t resize_bilinear_backward(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* dy, T* dx,
                                     cudaStream_t s);

}  // namespace gt::cuda
