// Element-wise maps, channel bias and axis reductions. n = element count; all arrays contiguous.
#pragma once
#include <cstdint>

#include "kernels/params.h"

namespace gt::cpu {

template <class T>
void fill(int64_t n, T v, T* y);
template <class T>
void unary_forward(Unary op, int64_t n, const T* x, T* y);
// Every supported unary but abs has a derivative expressible through its output y:
// relu: [y>0], relu6: [0<y<6], sigmoid: y(1-y), tanh: 1-y^2, rsqrt: -y^3/2. For abs the first
// argument is the input x instead, and the derivative is sign(x).
template <class T>
void unary_backward(Unary op, int64_t n, const T* y, const T* dy, T* dx);
template <class T>
void binary(Binary op, int64_t n, const T* a, const T* b, T* y);
// The same with broadcasting (params.h: Broadcast4); y is contiguous over g.dims.
template <class T>
void binary_broadcast(Binary op, const Broadcast4& g, const T* a, const T* b, T* y);
template <class T>
void axpby(int64_t n, T a, const T* x, T b, T* y);  // y = a*x + b*y
template <class T>
void affine(int64_t n, const T* x, T a, T b, T* y);  // y = a*x + b
template <class T>
void clamp_forward(int64_t n, const T* x, T lo, T hi, T* y);
template <class T>
void clamp_backward(int64_t n, const T* x, T lo, T hi, const T* dy, T* dx);  // dy*[lo<=x<=hi]
// DeepLIFT's multiplier: out = fallback where |x - x_ref| < eps, else a (y - y_ref) / (x - x_ref);
// a = 1 where a is null, y_ref = 0 where it is null.
template <class T>
void secant(int64_t n, const T* a, const T* y, const T* y_ref, const T* x, const T* x_ref, const T* fallback, T eps,
            T* out);
// x, y: (N, C, S); b: (C)
template <class T>
void bias_add(int64_t N, int64_t C, int64_t S, const T* x, const T* b, T* y);
template <class T>
void bias_grad(int64_t N, int64_t C, int64_t S, const T* dy, T* db);
// x viewed as (outer, len, inner): y[o, i] = scale * sum_l x[o, l, i]; backward broadcasts back.
template <class T>
void reduce_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* x, T* y);
template <class T>
void broadcast_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* dy, T* dx);

// Whether every x[i] is finite (no NaN, no Inf).
template <class T>
bool all_finite(int64_t n, const T* x);

// p, m (and v for Adam) updated in place from g (kernels/params.h: OptimStep).
template <class T>
void optim_step(const OptimStep& s, int64_t n, T* p, const T* g, T* m, T* v);

}  // namespace gt::cpu
