#include "kernels/cuda/gemm.h"
#include "kernels/cuda/tiled_gemm.cuh"

namespace gt::cuda {
namespace {

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

}  // namespace

template <class T>
cudaError_t gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C,
                 void* workspace, size_t workspace_bytes, cudaStream_t s) {
  const Dense<T> op{int(M), int(N), int(K), ta, tb, alpha, beta, A, B, C};
  return tiled_gemm<T>(op, 1, workspace, workspace_bytes, s);
}

template cudaError_t gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, const float*, float,
                                 float*, void*, size_t, cudaStream_t);
template cudaError_t gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, const double*, double,
                                  double*, void*, size_t, cudaStream_t);

}  // namespace gt::cuda
