// Dense matrix products on the GPU (row-major, device pointers), through kernels/cuda/tiled_gemm.cuh.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace gt::cuda {

// C (M x N) = alpha * op(A) * op(B) + beta * C, op = transpose when ta / tb (C is not read when beta
// is 0). A is M x K (or K x M when ta), B is K x N (or N x K when tb). workspace: scratch for split-K.
template <class T>
cudaError_t gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C,
                 void* workspace, size_t workspace_bytes, cudaStream_t s);

}  // namespace gt::cuda
