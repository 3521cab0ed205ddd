#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/norm.h"

namespace gt::cuda {

// One block per channel c: its values are x[(n*C + c)*S + i], k = n*S + i.
template <class T>
__global__ void bn_stats_kernel(int64_t N, int64_t C, int64_t S, const T* x, T* mean, T* var) {
  const int64_t c = blockIdx.x, M = N * S;
  double s = 0, ss = 0;
  for (int64_t k = threadIdx.x; k < M; k += blockDim.x) s += double(x[(k / S * C + c) * S + k % S]);
  const double m = block_sum(s) / double(M);
  for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
    const double d = double(x[(k / S * C + c) * S + k % S]) - m;
    ss += d * d;
  }
  ss = block_sum(ss);
  if (threadIdx.x == 0) mean[c] = T(m), var[c] = T(ss / double(M));
}

template <class T>
cudaError_t bn_stats(int64_t N, int64_t C, int64_t S, const T* x, T* mean, T* var, cudaStream_t s) {
  if (C <= 0) return cudaSuccess;
  return GT_LAUNCH(bn_stats_kernel<T>, unsigned(C), kThreads, s, N, C, S, x, mean, var);
}

template <class T>
cudaError_t bn_forward(int64_t N, int64_t C, int64_t S, const T* x, const T* mean, const T* invstd, const T* gamma,
                       const T* beta, T* y, cudaStream_t s) {
  return for_each(N * C * S, s, [=] __device__(int64_t i) {
    const int64_t c = i / S % C;
    const T a = invstd[c] * gamma[c], b = beta[c] - mean[c] * a;
    y[i] = a * x[i] + b;
  });
}

// One block per channel: the two sums, then dx over the channel's values.
template <class T>
__global__ void bn_backward_kernel(int64_t N, int64_t C, int64_t S, const T* x, const T* dy, const T* mean,
                                   const T* invstd, const T* gamma, bool training, T* dx, T* dgamma, T* dbeta) {
  const int64_t c = blockIdx.x, M = N * S;
  const T m = mean[c], is = invstd[c];
  T sdy = 0, sdyx = 0;
  for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
    const int64_t i = (k / S * C + c) * S + k % S;
    sdy += dy[i];
    sdyx += dy[i] * (x[i] - m) * is;
  }
  sdy = block_sum(sdy);
  sdyx = block_sum(sdyx);
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[c] = sdyx;
    if (dbeta) dbeta[c] = sdy;
  }
  if (!dx) return;
  const T a = gamma[c] * is, k_ = a / T(M);
  for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
    const int64_t i = (k / S * C + c) * S + k % S;
    dx[i] = training ? k_ * (T(M) * dy[i] - sdy - (x[i] - m) * is * sdyx) : a * dy[i];
  }
}

template <class T>
cudaError_t bn_backward(int64_t N, int64_t C, int64_t S, const T* x, const T* dy, const T* mean, const T* invstd,
                        const T* gamma, bool training, T* dx, T* dgamma, T* dbeta, cudaStream_t s) {
  if (C <= 0) return cudaSuccess;
  if (!training && !dgamma && !dbeta)  // inference, only dx: a plain per-channel scale
    return for_each(N * C * S, s, [=] __device__(int64_t i) {
      const int64_t c = i / S % C;
      dx[i] = gamma[c] * invstd[c] * dy[i];
    });
  return GT_LAUNCH(bn_backward_kernel<T>, unsigned(C), kThreads, s, N, C, S, x, dy, mean, invstd, gamma, training, dx,
                   dgamma, dbeta);
}

// One block per row.
template <class T>
__global__ void softmax_forward_kernel(int64_t cols, bool log, const T* x, T* y) {
  const T* xr = x + blockIdx.x * cols;
  T* yr = y + blockIdx.x * cols;
  T m = -INFINITY;
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) m = max(m, xr[k]);
  m = block_max(m);
  T s = 0;
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) s += exp(xr[k] - m);
  s = block_sum(s);
  const T ls = ::log(s);
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) yr[k] = log ? xr[k] - m - ls : exp(xr[k] - m) / s;
}

template <class T>
__global__ void softmax_backward_kernel(int64_t cols, bool log, const T* y, const T* dy, T* dx) {
  const int64_t off = blockIdx.x * cols;
  T s = 0;
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) s += log ? dy[off + k] : dy[off + k] * y[off + k];
  s = block_sum(s);
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x)
    dx[off + k] = log ? dy[off + k] - exp(y[off + k]) * s : y[off + k] * (dy[off + k] - s);
}

template <class T>
cudaError_t softmax_forward(int64_t rows, int64_t cols, bool log, const T* x, T* y, cudaStream_t s) {
  if (rows <= 0) return cudaSuccess;
  return GT_LAUNCH(softmax_forward_kernel<T>, unsigned(rows), kThreads, s, cols, log, x, y);
}

template <class T>
cudaError_t softmax_backward(int64_t rows, int64_t cols, bool log, const T* y, const T* dy, T* dx, cudaStream_t s) {
  if (rows <= 0) return cudaSuccess;
  return GT_LAUNCH(softmax_backward_kernel<T>, unsigned(rows), kThreads, s, cols, log, y, dy, dx);
}

template <class T>
cudaError_t nll_forward(int64_t rows, int64_t cols, const T* logp, const int32_t* label, T* loss, cudaStream_t s) {
  return reduce_each<T>(
      1, s,
      [=] __device__(int64_t, int64_t from, int64_t step) {
        T acc = 0;
        for (int64_t r = from; r < rows; r += step) acc -= logp[r * cols + label[r]];
        return acc;
      },
      [=] __device__(int64_t, T sum) { loss[0] = sum / T(rows); });
}

template <class T>
cudaError_t nll_backward(int64_t rows, int64_t cols, const int32_t* label, T dloss, T* dlogp, cudaStream_t s) {
  return for_each(rows * cols, s,
                  [=] __device__(int64_t i) { dlogp[i] = label[i / cols] == i % cols ? -dloss / T(rows) : T(0); });
}

#define GT_INSTANTIATE(T)                                                                                             \
  template cudaError_t bn_stats<T>(int64_t, int64_t, int64_t, const T*, T*, T*, cudaStream_t);                        \
  template cudaError_t bn_forward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, T*, \
                                     cudaStream_t);                                                                   \
  template cudaError_t bn_backward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*,    \
                                      bool, T*, T*, T*, cudaStream_t);                                                \
  template cudaError_t softmax_forward<T>(int64_t, int64_t, bool, const T*, T*, cudaStream_t);                        \
  template cudaError_t softmax_backward<T>(int64_t, int64_t, bool, const T*, const T*, T*, cudaStream_t);             \
  template cudaError_t nll_forward<T>(int64_t, int64_t, const T*, const int32_t*, T*, cudaStream_t);                  \
  template cudaError_t nll_backward<T>(int64_t, int64_t, const int32_t*, T, T*, cudaStream_t);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cuda
