// Single-precision GEMM whose right-hand side is produced strip by strip by the caller:
//   C[M, N] = bias[M] (broadcast over columns) + A[M, K] * B[K, N]
// A and C are row-major with row strides lda and ldc. B is never materialised: pack(k0, k1, n0, nn, buf)
// writes rows [k0, k1) and columns [n0, n0 + nn) of B into buf, row-major with row stride kStrip.
// A convolution packs its im2col patches this way, so each kStrip-wide block of patches is unrolled
// straight into L1 and consumed there (no K x P patch matrix in memory).
#pragma once
#include <cstdint>
#include <functional>

namespace gt::cpu {

constexpr int64_t kStrip = 64;  // columns of B (and C) per packed strip: four 16-float vectors

using PackStrip = std::function<void(int64_t k0, int64_t k1, int64_t n0, int64_t nn, float* buf)>;

// True when this build has the vectorised kernel (AVX-512F); callers fall back to Eigen otherwise.
bool sgemm_strips_available();

// Runs in parallel over strips (and over row blocks of A when there are fewer strips than threads).
// bias may be null. pack is called concurrently from several threads, each with its own buf.
void sgemm_strips(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* bias, float* C,
                  int64_t ldc, const PackStrip& pack);

}  // namespace gt::cpu
