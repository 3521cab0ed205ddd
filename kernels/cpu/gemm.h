// Dense matrix products through Eigen (row-major, raw pointers).
#pragma once
#include <cstdint>

namespace gt::cpu {

// C (M x N) = alpha * op(A) * op(B) + beta * C, op = transpose when ta / tb.
// A is M x K (or K x M when ta), B is K x N (or N x K when tb).
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C);

}  // namespace gt::cpu
