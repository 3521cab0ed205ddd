// Element-wise maps, channel bias and axis reductions on the GPU: the CUDA twins of
// kernels/cpu/elementwise.h (same formulas, same argument order, plus the stream). n = element count.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/params.h"

namespace gt::cuda {

template <class T>
cudaError_t fill(int64_t n, T v, T* y, cudaStream_t s);
template <class T>
cudaError_t unary_forward(Unary op, int64_t n, const T* x, T* y, cudaStream_t s);
// relu: [y>0], relu6: [0<y<6], sigmoid: y(1-y), tanh: 1-y^2, rsqrt: -y^3/2, all from the output y.
template <class T>
cudaError_t unary_backward(Unary op, int64_t n, const T* y, const T* dy, T* dx, cudaStream_t s);
template <class T>
cudaError_t binary(Binary op, int64_t n, const T* a, const T* b, T* y, cudaStream_t s);
template <class T>  // with broadcasting (params.h: Broadcast4); one thread per element of y
cudaError_t binary_broadcast(Binary op, const Broadcast4& g, const T* a, const T* b, T* y, cudaStream_t s);
template <class T>
cudaError_t axpby(int64_t n, T a, const T* x, T b, T* y, cudaStream_t s);  // y = a*x + b*y
template <class T>
cudaError_t affine(int64_t n, const T* x, T a, T b, T* y, cudaStream_t s);  // y = a*x + b
template <class T>
cudaError_t clamp_forward(int64_t n, const T* x, T lo, T hi, T* y, cudaStream_t s);
template <class T>  // dx = dy * [lo <= x <= hi]
cudaError_t clamp_backward(int64_t n, const T* x, T lo, T hi, const T* dy, T* dx, cudaStream_t s);
template <class T>  // as cpu::secant
cudaError_t secant(int64_t n, const T* a, const T* y, const T* y_ref, const T* x, const T* x_ref, const T* fallback,
                   T eps, T* out, cudaStream_t s);
// x, y: (N, C, S); b: (C). bias_grad: db[c] = sum over N and S of dy.
template <class T>
cudaError_t bias_add(int64_t N, int64_t C, int64_t S, const T* x, const T* b, T* y, cudaStream_t s);
template <class T>
cudaError_t bias_grad(int64_t N, int64_t C, int64_t S, const T* dy, T* db, cudaStream_t s);
// x viewed as (outer, len, inner): y[o, i] = scale * sum_l x[o, l, i]; backward broadcasts back.
template <class T>
cudaError_t reduce_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* x, T* y, cudaStream_t s);
template <class T>
cudaError_t broadcast_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* dy, T* dx, cudaStream_t s);
// *flag = 1 if some x[i] is NaN or Inf (else *flag is left as it is).
template <class T>
cudaError_t flag_nonfinite(int64_t n, const T* x, T* flag, cudaStream_t s);
template <class A, class B>
cudaError_t convert(int64_t n, const A* a, B* b, cudaStream_t s);
template <class T>  // kernels/params.h: OptimStep
cudaError_t optim_step(const OptimStep& o, int64_t n, T* p, const T* g, T* m, T* v, cudaStream_t s);

}  // namespace gt::cuda
