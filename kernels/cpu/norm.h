// Batch norm, softmax and negative log-likelihood kernels.
#pragma once
#include <cstdint>

namespace gt::cpu {

// x: (N, C, S). mean[c] and biased var[c] over N and S.
template <class T>
void bn_stats(int64_t N, int64_t C, int64_t S, const T* x, T* mean, T* var);
// y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]
template <class T>
void bn_forward(int64_t N, int64_t C, int64_t S, const T* x, const T* mean, const T* invstd, const T* gamma,
                const T* beta, T* y);
// With xhat = (x - mean) * invstd and M = N*S:
//   dgamma = sum dy*xhat, dbeta = sum dy;
//   inference (statistics are constants): dx = dy * gamma * invstd
//   training  (statistics depend on x):   dx = gamma * invstd / M * (M dy - sum dy - xhat sum dy*xhat)
// Any of dx, dgamma, dbeta may be null when not needed.
template <class T>
void bn_backward(int64_t N, int64_t C, int64_t S, const T* x, const T* dy, const T* mean, const T* invstd,
                 const T* gamma, bool training, T* dx, T* dgamma, T* dbeta);

// Row-wise over x (rows, cols): softmax or log-softmax, with the row maximum subtracted for stability.
template <class T>
void softmax_forward(int64_t rows, int64_t cols, bool log, const T* x, T* y);
// softmax:     dx = y * (dy - sum(dy*y))
// log-softmax: dx = dy - exp(y) * sum(dy)
template <class T>
void softmax_backward(int64_t rows, int64_t cols, bool log, const T* y, const T* dy, T* dx);

// loss = -1/rows * sum_r logp[r, label[r]]; labels must lie in [0, cols).
template <class T>
T nll_forward(int64_t rows, int64_t cols, const T* logp, const int32_t* label);
template <class T>
void nll_backward(int64_t rows, int64_t cols, const int32_t* label, T dloss, T* dlogp);

}  // namespace gt::cpu
