#include "kernels/cuda/gemm.h"
#include "kernels/cuda/tiled_gemm.cuh"

namespace gt::cuda {
namespace {

bool short_tiles = true;  // set once, before any product runs (the backend's constructor)

// C = alpha op(A) op(B) + beta C, with op(A)(m, k) = ta ? A[k][m] : A[m][k], op(B)(k, n) likewise.
template <class T>
struct Dense {
  int M, N, K;
  bool ta, tb;
  T alpha, beta;
  const T *A, *B;
  T* C;
  __device__ T a(int, int m, int k) const { return ta ? A[int64_t(k) * M + m] : A[int64_t(m) * K + k]; }
  __device__ const T* col(int, int n) const { return tb ? B + int64_t(n) * K : B + n; }
  __device__ T b(const T* col, int k) const { return tb ? col[k] : col[int64_t(k) * N]; }
  __device__ void store(int, int m, int n, T v) const {
    T& c = C[int64_t(m) * N + n];
    c = beta == T(0) ? alpha * v : alpha * v + beta * c;
  }
};

// A product with at most kRows rows of A (a dense layer at batch 1 to 4: a matrix-vector product, VGG16's
// fc1 reads 411 MB of weights for 103 M multiply-adds). The tile kernel would pad M to 128 rows; these
// read each element of B once and use it for every row of A.
constexpr int kRows = 4, kWarp = 32;

// B is N x K (tb: a dense layer's forward, y = x w^T): one warp per column n, its lanes striding along
// B's row n (contiguous), then a butterfly sum across the warp (a fixed order: deterministic).
template <class T>
__global__ void rows_by_warps_kernel(const Dense<T> op) {
  const int64_t warps = gridDim.x * int64_t(blockDim.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  // n is the same for the warp's 32 lanes at every turn: the sums below need all of them
  for (int64_t n = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp; n < op.N; n += warps) {
    const T* b = op.col(0, int(n));
    T sum[kRows] = {};
    for (int k = lane; k < op.K; k += kWarp) {
      const T v = b[k];
#pragma unroll
      for (int m = 0; m < kRows; ++m)
        if (m < op.M) sum[m] = fma(op.A[int64_t(m) * op.K + k], v, sum[m]);
    }
#pragma unroll
    for (int m = 0; m < kRows; ++m) {
      for (int o = kWarp / 2; o > 0; o /= 2) sum[m] += __shfl_xor_sync(0xffffffffu, sum[m], o);
      if (lane == 0 && m < op.M) op.store(0, m, int(n), sum[m]);
    }
  }
}

// B is K x N: one thread per column n (neighbouring threads read neighbouring elements of a row of
// B), K cut into gridDim.y slices written to ws[slice][m][n] when there are several, for enough blocks.
template <class T>
__global__ void columns_by_threads_kernel(const Dense<T> op, T* ws) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x, slices = gridDim.y;
  if (n >= op.N) return;
  const int per = (op.K + slices - 1) / slices, k0 = blockIdx.y * per, k1 = min(op.K, k0 + per);
  const T* b = op.col(0, n);
  T sum[kRows] = {};
  for (int k = k0; k < k1; ++k) {
    const T v = op.b(b, k);
#pragma unroll
    for (int m = 0; m < kRows; ++m)
      if (m < op.M) sum[m] = fma(op.A[int64_t(m) * op.K + k], v, sum[m]);
  }
  for (int m = 0; m < op.M; ++m) {
    if (slices == 1)
      op.store(0, m, n, sum[m]);
    else
      ws[(int64_t(blockIdx.y) * op.M + m) * op.N + n] = sum[m];
  }
}

template <class T>
cudaError_t narrow(const Dense<T>& op, void* workspace, size_t workspace_bytes, cudaStream_t s) {
  if (op.tb) {  // 8 blocks of 8 warps an SM at the most, the warps stride over the rest
    const unsigned blocks = std::min(blocks_for(int64_t(op.N) * kWarp), unsigned(8 * sm_count()));
    return GT_LAUNCH(rows_by_warps_kernel<T>, blocks, kThreads, s, op);
  }
  const unsigned gx = unsigned((op.N + kThreads - 1) / kThreads);
  int64_t slices = std::min<int64_t>((2 * sm_count() + gx - 1) / gx, std::max(1, op.K / 64));
  slices = std::min<int64_t>({slices, 1024, int64_t(workspace_bytes / (sizeof(T) * op.M * op.N))});
  if (slices <= 1) return GT_LAUNCH(columns_by_threads_kernel<T>, dim3(gx, 1), kThreads, s, op, nullptr);
  T* ws = static_cast<T*>(workspace);
  if (cudaError_t e = GT_LAUNCH(columns_by_threads_kernel<T>, dim3(gx, unsigned(slices)), kThreads, s, op, ws);
      e != cudaSuccess)
    return e;
  return GT_LAUNCH(sum_slices_kernel<T>, blocks_for(int64_t(op.M) * op.N), kThreads, s, op, ws, int(slices), 1);
}

}  // namespace

template <class T>
cudaError_t gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C,
                 void* workspace, size_t workspace_bytes, cudaStream_t s) {
  const Dense<T> op{int(M), int(N), int(K), ta, tb, alpha, beta, A, B, C};
  if (M <= kRows && !ta && M > 0 && N > 0) return narrow(op, workspace, workspace_bytes, s);
  return tiled_gemm<T>(op, 1, workspace, workspace_bytes, s);
}

void use_short_tiles(bool on) { short_tiles = on; }
bool short_tiles_on() { return short_tiles; }

template cudaError_t gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, const float*, float,
                                 float*, void*, size_t, cudaStream_t);
template cudaError_t gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, const double*, double,
                                  double*, void*, size_t, cudaStream_t);

}  // namespace gt::cuda
