// Batch norm, softmax and negative log-likelihood on the GPU: the CUDA twins of kernels/cpu/norm.h
// (the formulas are written out there).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace gt::cuda {

template <class T>  // x: (N, C, S); mean[c] and biased var[c] over N and S, two-pass in double
cudaError_t bn_stats(int64_t N, int64_t C, int64_t S, const T* x, T* mean, T* var, cudaStream_t s);
template <class T>
cudaError_t bn_forward(int64_t N, int64_t C, int64_t S, const T* x, const T* mean, const T* invstd, const T* gamma,
                       const T* beta, T* y, cudaStream_t s);
template <class T>  // dx, dgamma, dbeta may be null
cudaError_t bn_backward(int64_t N, int64_t C, int64_t S, const T* x, const T* dy, const T* mean, const T* invstd,
                        const T* gamma, bool training, T* dx, T* dgamma, T* dbeta, cudaStream_t s);
template <class T>
cudaError_t softmax_forward(int64_t rows, int64_t cols, bool log, const T* x, T* y, cudaStream_t s);
template <class T>
cudaError_t softmax_backward(int64_t rows, int64_t cols, bool log, const T* y, const T* dy, T* dx, cudaStream_t s);
// loss[0] = -1/rows sum_r logp[r, label[r]] (label and loss in device memory).
template <class T>
cudaError_t nll_forward(int64_t rows, int64_t cols, const T* logp, const int32_t* label, T* loss, cudaStream_t s);
template <class T>
cudaError_t nll_backward(int64_t rows, int64_t cols, const int32_t* label, T dloss, T* dlogp, cudaStream_t s);

}  // namespace gt::cuda
