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

// Whether gemm may use a workspace: it splits K into slices only from K = 128 (the narrow kernels
// take at most K/64 slices, the tile engine K/256), so a caller may pass nullptr, 0 below that.
inline bool gemm_needs_workspace(int64_t K) { return K >= 128; }

// Whether the tile engine (kernels/cuda/tiled_gemm.cuh) may run a product with few rows on 64x128
// tiles (the default) or always takes 128x128 ones: the backend's GRADTRACE_CUDA_SHORT_TILES=0, to
// time the one against the other (tools/gpu_check.sh).
void use_short_tiles(bool on);
bool short_tiles_on();

}  // namespace gt::cuda
