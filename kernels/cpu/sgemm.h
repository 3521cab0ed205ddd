// Single-precision GEMM whose right-hand side is produced strip by strip by the caller:
//   C[M, N] = e(A[M, K] * B[K, N]),  e: per-row bias, scale and activation (Epilogue, kernels/params.h)
// A and C are row-major with row strides lda and ldc. B is never materialised: pack(k0, k1, n0, nn, buf)
// writes rows [k0, k1) and columns [n0, n0 + nn) of B into buf, row-major with row stride kStrip.
// A convolution packs its im2col patches this way, so each kStrip-wide block of patches is unrolled
// straight into L1 and consumed there (no K x P patch matrix in memory).
#pragma once
#include <cstdint>
#include <functional>

#include "kernels/params.h"

namespace gt::cpu {

constexpr int64_t kStrip = 64;       // columns of B (and C) per packed strip: four 16-float vectors
constexpr int64_t kPackDepth = 512;  // rows of B per packed block: 512 x 64 floats = 128 KB, in L2
constexpr int64_t kRowTile = 6;      // rows of C per register tile

// b: which product of a batch (0 for a single one).
using PackStrip = std::function<void(int64_t b, int64_t k0, int64_t k1, int64_t n0, int64_t nn, float* buf)>;

// `count` products that share A: product b reads B (in place) at b * stride_b and writes C at
// b * stride_c. A convolution's images are such a batch; running them as one set of tasks keeps
// every thread busy on small planes.
struct Batch {
  int64_t count = 1, stride_b = 0, stride_c = 0;
};

// True when this build has the vectorised kernel (AVX-512F); callers fall back to Eigen otherwise.
bool sgemm_strips_available();

// Runs in parallel over strips (and over row blocks of A when there are fewer strips than threads).
// pack is called concurrently from several threads, each with its own buf. A bias alone starts the
// micro-kernel's accumulators; scale and activation are applied in its registers after the last K block.
// csa: A's column stride, as for sgemm below. e.residual, where set, is laid out as C (row stride ldc,
// product b at b * stride_c).
void sgemm_strips(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Epilogue<float>& e, float* C,
                  int64_t ldc, const PackStrip& pack, const Batch& batch = {}, int64_t csa = 1);

// The same product with B given in place (row-major, row stride ldb): no packing. For B whose rows
// are long and contiguous, such as a 1x1 convolution's input. A[i][k] = A[i * lda + k * csa], so
// csa != 1 reads a transposed matrix in place (lda = 1, csa = rows of the stored matrix).
void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
           const Epilogue<float>& e, float* C, int64_t ldc, int64_t csa = 1, const Batch& batch = {});

// One strip, single-threaded: C[M, nn] = (accumulate ? C : bias or 0) + A[M, K] * B[K, nn], B
// row-major with row stride ldb (kStrip when packed; nn <= kStrip). Only nn columns of C are written.
// fin, where given, is applied on the last K block before C is stored.
struct Finish {
  const float* scale = nullptr;  // C = act(scale[i] C + bias[i] + residual[i, :]) for rows i from 0
  const float* bias = nullptr;
  Act act = Act::none;
  bool stream = false;              // store C with streaming (non-temporal) stores where whole aligned vectors allow
  const float* residual = nullptr;  // laid out as C (row stride ldc)
  // The same from row r and column c of C on.
  Finish from(int64_t r, int64_t ldc, int64_t c = 0) const {
    return {scale ? scale + r : nullptr, bias ? bias + r : nullptr, act, stream,
            residual ? residual + r * ldc + c : nullptr};
  }
};
void sgemm_strip(int64_t M, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                 int64_t nn, const float* bias, bool accumulate, int64_t csa = 1, const Finish* fin = nullptr);

// How sgemm_strips and the Winograd convolution cut an M x N product into tasks: the `strips` strips
// of N in `runs` runs (run i = strips [i*strips/runs, (i+1)*strips/runs), at most max_run long),
// times `groups` groups of `rows_per_group` rows (a multiple of kRowTile). Run them with a dynamic
// schedule over (image, run, group): the images of a batch rarely split evenly.
struct WorkSplit {
  int64_t strips, runs, max_run, groups, rows_per_group;
};
WorkSplit split_work(int64_t N, int64_t M, int64_t max_run, int64_t batch = 1);

}  // namespace gt::cpu
