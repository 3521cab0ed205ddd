// The one matrix-product engine behind dense layers and every convolution pass on the GPU:
//
//   C[z](m, n) = sum_k A[z](m, k) * B[z](k, n)        m < M, n < N, k < K, z < batches
//
// A and B are never materialised: an Op gathers each element where it lies (a weight, an input
// pixel under a kernel tap, zero in the padding), so a convolution is an "implicit GEMM" with no
// im2col buffer. The Op says:
//   int M, N, K;
//   __device__ T a(int z, int m, int k) const;
//   __device__ Col col(int z, int n) const;   __device__ T b(const Col& c, int k) const;   B(k, n) = b(col(z, n), k)
//   __device__ void store(int z, int m, int n, T sum) const;   (the finished C element)
// col() is where B's column n lies (for a convolution: an image and an output pixel), worked out once
// per thread: each thread stages the same column at every step, so only the k part of an address is
// left in the loop. col() must not read memory: it is also called for columns past N, never fetched.
//
// Tiling: a block owns a TM x TN tile of C and walks K in steps of 8. Each step, the block stages a
// TM x 8 slice of A and an 8 x TN slice of B in shared memory (fetched from global memory into
// registers one step ahead, so the loads overlap the arithmetic), and each thread accumulates an 8x8
// sub-tile in registers: 64 FMAs for 16 shared-memory reads. Two shapes: 128 x 128 (256 threads), and
// 64 x 128 (128 threads) for a product with at most 64 rows, or where a 128-row tile would leave over
// a fifth of its rows empty (64 output channels: VGG16's first block, ResNet50's first stage, and
// their data gradients; a dense layer at IG's batch of 50), which would otherwise multiply as many
// zeros as numbers.
//
// Split-K: when the tiles alone cannot fill the GPU (a late layer at batch 1 has few output pixels; a
// weight gradient has a small C and a huge K), K is cut into slices computed by separate blocks
// into a workspace; a second kernel adds the slices in a fixed order (deterministic) and stores.
#pragma once
#include <algorithm>

#include "kernels/cuda/gemm.h"
#include "kernels/cuda/launch.cuh"

namespace gt::cuda {

template <int TM, int TN>
struct TileShape {
  static constexpr int M = TM, N = TN, K = 8, threads = TM * TN / 64;  // 8x8 results per thread
  static_assert(TM % 16 == 0 && 512 % TN == 0 && threads % TN == 0, "staging covers the tile in whole rows");
};
using SquareTile = TileShape<128, 128>;
using ShortTile = TileShape<64, 128>;

// The plain product of row-major matrices, C[z] (M x N) = A[z] (M x K) B[z] (K x N): Winograd's
// batched GEMM. Its indices are ints (the caller keeps every array under 2^31 elements): 64-bit ones
// cost the tile kernel the registers that keep it at 512 threads per SM.
template <class T>
struct RowMajorProduct {
  int M, N, K;
  const T *A, *B;
  T* C;
  __device__ T a(int z, int m, int k) const { return A[(z * M + m) * K + k]; }
  __device__ const T* col(int z, int n) const { return B + z * K * N + n; }
  __device__ T b(const T* col, int k) const { return col[k * N]; }
  __device__ void store(int z, int m, int n, T v) const { C[(z * M + m) * N + n] = v; }
};

// Where a tile kernel puts its sums: straight through the Op, or slice by slice into a workspace
// laid out [slice][z][m][n].
template <class T, class Op>
struct DirectStore {
  Op op;
  __device__ void operator()(int z, int slice, int m, int n, T v) const { op.store(z, m, n, v); }
};
template <class T>
struct SliceStore {
  T* ws;
  int M, N, batches;
  __device__ void operator()(int z, int slice, int m, int n, T v) const {
    ws[((int64_t(slice) * batches + z) * M + m) * N + n] = v;
  }
};

// In float, at most 128 registers a thread (512 threads per SM, 16 warps to hide latency): an Op
// whose gathers need more makes ptxas spill, which the build reports (-warn-spills), rather than
// silently halve the occupancy.
template <class T, class Tile, class Op, class Store>
__global__ void __launch_bounds__(Tile::threads, (sizeof(T) == 4 ? 512 : 256) / Tile::threads)
    tiled_gemm_kernel(const Op op, const Store out, int splits) {
  constexpr int TM = Tile::M, TN = Tile::N, TK = Tile::K, threads = Tile::threads;
  constexpr int a_rows = TM * TK / threads, b_rows = TK * TN / threads;  // staged per thread and step
  __shared__ T As[2][TK][TM + 4];  // A transposed (k-major); +4: the staging stores hit 32 banks
  __shared__ T Bs[2][TK][TN];
  const int tid = threadIdx.x, tx = tid % (TN / 8), ty = tid / (TN / 8);
  const int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
  const int z = blockIdx.z / splits, slice = blockIdx.z % splits;
  const int per = ((op.K + splits - 1) / splits + TK - 1) / TK * TK;
  const int k_begin = slice * per, k_end = min(op.K, k_begin + per);

  // Staging: thread t fetches A(m0 + t/8 + (threads/8) r, k0 + t%8), r < a_rows, and
  // B(k0 + t/TN + (threads/TN) r, n0 + t%TN), r < b_rows: neighbouring threads read neighbouring k
  // of A (a weight row) and neighbouring n of B (pixels).
  T ra[a_rows], rb[b_rows];
  const int nb = n0 + tid % TN;
  const auto col = op.col(z, nb);
  const auto fetch = [&](int k0) {
#pragma unroll
    for (int r = 0; r < a_rows; ++r) {
      const int m = m0 + tid / 8 + threads / 8 * r, k = k0 + tid % 8;
      ra[r] = m < op.M && k < k_end ? op.a(z, m, k) : T(0);
    }
#pragma unroll
    for (int r = 0; r < b_rows; ++r) {
      const int k = k0 + tid / TN + threads / TN * r;
      rb[r] = nb < op.N && k < k_end ? op.b(col, k) : T(0);
    }
  };
  const auto stage = [&](int buf) {
#pragma unroll
    for (int r = 0; r < a_rows; ++r) As[buf][tid % 8][tid / 8 + threads / 8 * r] = ra[r];
#pragma unroll
    for (int r = 0; r < b_rows; ++r) Bs[buf][tid / TN + threads / TN * r][tid % TN] = rb[r];
  };

  // Thread (ty, tx) owns rows ty*4 + {0..3} and TM/2 + ty*4 + {0..3}, columns likewise with tx: two
  // groups of 4 a half-tile apart, so a warp's shared-memory reads spread over all banks.
  T acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = T(0);
  if (k_begin < k_end) {
    fetch(k_begin);
    stage(0);
  }
  __syncthreads();
  int buf = 0;
  for (int k0 = k_begin; k0 < k_end; k0 += TK) {
    const bool more = k0 + TK < k_end;
    if (more) fetch(k0 + TK);  // in flight while this step computes
#pragma unroll
    for (int kk = 0; kk < TK; ++kk) {
      T av[8], bv[8];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        av[i] = As[buf][kk][ty * 4 + i], av[4 + i] = As[buf][kk][TM / 2 + ty * 4 + i];
        bv[i] = Bs[buf][kk][tx * 4 + i], bv[4 + i] = Bs[buf][kk][TN / 2 + tx * 4 + i];
      }
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    if (more) stage(buf ^ 1);  // the other buffer: everyone finished reading it before the last sync
    __syncthreads();
    buf ^= 1;
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = m0 + (i < 4 ? ty * 4 + i : TM / 2 + ty * 4 + i - 4);
    if (m >= op.M) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int n = n0 + (j < 4 ? tx * 4 + j : TN / 2 + tx * 4 + j - 4);
      if (n < op.N) out(z, slice, m, n, acc[i][j]);
    }
  }
}

// Adds the slices in order and hands each finished element to the Op.
template <class T, class Op>
__global__ void sum_slices_kernel(const Op op, const T* ws, int splits, int batches) {
  const int64_t per = int64_t(op.M) * op.N, total = per * batches;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    T s = ws[i];
    for (int k = 1; k < splits; ++k) s += ws[k * total + i];
    const int z = int(i / per), m = int(i % per / op.N), n = int(i % op.N);
    op.store(z, m, n, s);
  }
}

inline int sm_count() {
  static const int n = [] {
    int dev = 0, v = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
      cudaGetLastError();  // clear it: the next launch's status must be its own
      v = 100;
    }
    return v;
  }();
  return n;
}

// Runs the product for `batches` problems on tiles of the given shape. The workspace (any size, may
// be none) bounds how far K may be split; splitting stops where each slice would be under 256 deep.
template <class T, class Tile, class Op>
cudaError_t tiled_gemm_as(const Op& op, int batches, void* workspace, size_t workspace_bytes, cudaStream_t s) {
  if (op.M <= 0 || op.N <= 0 || batches <= 0) return cudaSuccess;
  const unsigned gx = unsigned((op.N + Tile::N - 1) / Tile::N), gy = unsigned((op.M + Tile::M - 1) / Tile::M);
  const int64_t tiles = int64_t(gx) * gy * batches, want = 512 / Tile::threads * int64_t(sm_count());
  int64_t splits = tiles >= want ? 1 : (want + tiles - 1) / tiles;
  splits = std::min<int64_t>({splits, std::max(1, op.K / 256), 64, 65535 / batches});
  const int64_t slice_bytes = int64_t(op.M) * op.N * batches * int64_t(sizeof(T));
  splits = std::min<int64_t>(splits, int64_t(workspace_bytes) / std::max<int64_t>(1, slice_bytes));
  if (splits <= 1 || op.K == 0) {
    return GT_LAUNCH((tiled_gemm_kernel<T, Tile>), dim3(gx, gy, unsigned(batches)), Tile::threads, s, op,
                     DirectStore<T, Op>{op}, 1);
  }
  T* ws = static_cast<T*>(workspace);
  if (cudaError_t e = GT_LAUNCH((tiled_gemm_kernel<T, Tile>), dim3(gx, gy, unsigned(batches * splits)), Tile::threads,
                                s, op, SliceStore<T>{ws, op.M, op.N, batches}, int(splits));
      e != cudaSuccess)
    return e;
  return GT_LAUNCH(sum_slices_kernel<T>, blocks_for(slice_bytes / int64_t(sizeof(T))), kThreads, s, op, ws, int(splits),
                   batches);
}

// 64-row tiles where they leave over a fifth fewer rows empty than 128-row ones (M = 64: half).
inline bool short_tiles_pay(int M) { return (M + 63) / 64 * 64 * 5 < (M + 127) / 128 * 128 * 4; }

template <class T, class Op>
cudaError_t tiled_gemm(const Op& op, int batches, void* workspace, size_t workspace_bytes, cudaStream_t s) {
  return short_tiles_on() && short_tiles_pay(op.M)
             ? tiled_gemm_as<T, ShortTile>(op, batches, workspace, workspace_bytes, s)
             : tiled_gemm_as<T, SquareTile>(op, batches, workspace, workspace_bytes, s);
}

}  // namespace gt::cuda
