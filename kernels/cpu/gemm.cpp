#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>

namespace gt::cpu {

// Eigen parallelises matrix products but not matrix-vector ones; a batch-1 dense layer (VGG's fc1
// reads 411 MB of weights) is memory-bound, so for a few rows of C the columns of C are split
// across threads, each streaming its own slice of B.
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<Mat> c(C, M, N);
  Eigen::Map<const Mat> a(A, ta ? K : M, ta ? M : K), b(B, tb ? N : K, tb ? K : N);
  if (beta == T(0))
    c.setZero();
  else if (beta != T(1))
    c *= beta;
  auto product = [&](int64_t j0, int64_t n) {  // C[:, j0:j0+n] += alpha op(A) op(B)[:, j0:j0+n]
    auto cb = c.middleCols(j0, n);
    if (ta && tb)
      cb.noalias() += alpha * a.transpose() * b.middleRows(j0, n).transpose();
    else if (ta)
      cb.noalias() += alpha * a.transpose() * b.middleCols(j0, n);
    else if (tb)
      cb.noalias() += alpha * a * b.middleRows(j0, n).transpose();
    else
      cb.noalias() += alpha * a * b.middleCols(j0, n);
  };
  const int threads = omp_get_max_threads();
  if (M > 4 || threads == 1 || N * K < (1 << 20)) return product(0, N);
  const int64_t step = (N + threads - 1) / threads;
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < N; j0 += step) product(j0, std::min(step, N - j0));
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, const float*, float, float*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, const double*, double,
                           double*);

}  // namespace gt::cpu
