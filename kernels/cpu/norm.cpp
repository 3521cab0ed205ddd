#include "kernels/cpu/norm.h"

#include <algorithm>
#include <cmath>

namespace gt::cpu {

// The per-channel sums below are vector reductions (omp simd): the lanes hold partial sums that are
// combined at the end, in an order fixed at compile time, so results stay reproducible run to run.
template <class T>
void bn_stats(int64_t N, int64_t C, int64_t S, const T* x, T* mean, T* var) {
  const double M = double(N * S);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, ss = 0;  // two-pass in double: the variance of activations with a large mean
    for (int64_t n = 0; n < N; ++n) {
      const T* xp = x + (n * C + c) * S;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < S; ++i) s += double(xp[i]);
    }
    const double m = s / M;
    for (int64_t n = 0; n < N; ++n) {
      const T* xp = x + (n * C + c) * S;
#pragma omp simd reduction(+ : ss)
      for (int64_t i = 0; i < S; ++i) {
        const double d = double(xp[i]) - m;
        ss += d * d;
      }
    }
    mean[c] = T(m);
    var[c] = T(ss / M);
  }
}

template <class T>
void bn_forward(int64_t N, int64_t C, int64_t S, const T* x, const T* mean, const T* invstd, const T* gamma,
                const T* beta, T* y) {
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const int64_t c = nc % C;
    const T a = invstd[c] * gamma[c], b = beta[c] - mean[c] * a;
    const T* xp = x + nc * S;
    T* yp = y + nc * S;
#pragma omp simd
    for (int64_t i = 0; i < S; ++i) yp[i] = a * xp[i] + b;
  }
}

// dgamma = sum dy * xhat, dbeta = sum dy; in training the batch statistics depend on x too:
//   dx = gamma * invstd / M * (M dy - dbeta - xhat * dgamma),  xhat = (x - mean) * invstd, M = N * S
// (inference: dx = gamma * invstd * dy).
template <class T>
void bn_backward(int64_t N, int64_t C, int64_t S, const T* x, const T* dy, const T* mean, const T* invstd,
                 const T* gamma, bool training, T* dx, T* dgamma, T* dbeta) {
  const T M = T(N * S);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; ++c) {
    const T m = mean[c], is = invstd[c];
    T sdy = 0, sdyx = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T *d = dy + (n * C + c) * S, *xp = x + (n * C + c) * S;
#pragma omp simd reduction(+ : sdy, sdyx)
      for (int64_t i = 0; i < S; ++i) {
        sdy += d[i];
        sdyx += d[i] * (xp[i] - m) * is;
      }
    }
    if (dgamma) dgamma[c] = sdyx;
    if (dbeta) dbeta[c] = sdy;
    if (!dx) continue;
    const T a = gamma[c] * is;
    for (int64_t n = 0; n < N; ++n) {
      const T *d = dy + (n * C + c) * S, *xp = x + (n * C + c) * S;
      T* o = dx + (n * C + c) * S;
      if (training) {
        const T k = a / M;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) o[i] = k * (M * d[i] - sdy - (xp[i] - m) * is * sdyx);
      } else {
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) o[i] = a * d[i];
      }
    }
  }
}

template <class T>
void softmax_forward(int64_t rows, int64_t cols, bool log, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    const T m = *std::max_element(xr, xr + cols);
    T s = 0;
    for (int64_t k = 0; k < cols; ++k) s += std::exp(xr[k] - m);
    const T ls = std::log(s);
    for (int64_t k = 0; k < cols; ++k) yr[k] = log ? xr[k] - m - ls : std::exp(xr[k] - m) / s;
  }
}

template <class T>
void softmax_backward(int64_t rows, int64_t cols, bool log, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    const T* dyr = dy + r * cols;
    T* dxr = dx + r * cols;
    T s = 0;
    for (int64_t k = 0; k < cols; ++k) s += log ? dyr[k] : dyr[k] * yr[k];
    for (int64_t k = 0; k < cols; ++k) dxr[k] = log ? dyr[k] - std::exp(yr[k]) * s : yr[k] * (dyr[k] - s);
  }
}

template <class T>
T nll_forward(int64_t rows, int64_t cols, const T* logp, const int32_t* label) {
  T s = 0;
  for (int64_t r = 0; r < rows; ++r) s -= logp[r * cols + label[r]];
  return s / T(rows);
}

template <class T>
void nll_backward(int64_t rows, int64_t cols, const int32_t* label, T dloss, T* dlogp) {
  std::fill(dlogp, dlogp + rows * cols, T(0));
  for (int64_t r = 0; r < rows; ++r) dlogp[r * cols + label[r]] = -dloss / T(rows);
}

#define GT_INSTANTIATE(T)                                                                                             \
  template void bn_stats<T>(int64_t, int64_t, int64_t, const T*, T*, T*);                                             \
  template void bn_forward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, T*);       \
  template void bn_backward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, bool, T*, \
                               T*, T*);                                                                               \
  template void softmax_forward<T>(int64_t, int64_t, bool, const T*, T*);                                             \
  template void softmax_backward<T>(int64_t, int64_t, bool, const T*, const T*, T*);                                  \
  template T nll_forward<T>(int64_t, int64_t, const T*, const int32_t*);                                              \
  template void nll_backward<T>(int64_t, int64_t, const int32_t*, T, T*);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cpu
