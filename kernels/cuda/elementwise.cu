#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"

namespace gt::cuda {

// The comparisons are written as std::min / std::max are, so that a NaN goes where it goes on the
// CPU: relu(NaN) = 0, relu6(NaN) = NaN, clamp(NaN) = NaN.
template <class T>
__device__ T min_of(T a, T b) {
  return b < a ? b : a;
}
template <class T>
__device__ T max_of(T a, T b) {
  return a < b ? b : a;
}

template <class T>
cudaError_t fill(int64_t n, T v, T* y, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) { y[i] = v; });
}

template <class T>
cudaError_t unary_forward(Unary op, int64_t n, const T* x, T* y, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) {
    const T v = x[i];
    switch (op) {
      case Unary::relu:
        y[i] = v > T(0) ? v : T(0);
        break;
      case Unary::relu6:
        y[i] = min_of(max_of(v, T(0)), T(6));
        break;
      case Unary::sigmoid:
        y[i] = T(1) / (T(1) + exp(-v));
        break;
      case Unary::tanh:
        y[i] = tanh(v);
        break;
      case Unary::rsqrt:
        y[i] = T(1) / sqrt(v);
        break;
      case Unary::abs:
        y[i] = v < T(0) ? -v : v;
        break;
      case Unary::exp:
        y[i] = exp(v);
        break;
      case Unary::step:
        y[i] = v > T(0) ? T(1) : T(0);
        break;
    }
  });
}

template <class T>
cudaError_t unary_backward(Unary op, int64_t n, const T* y, const T* dy, T* dx, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) {
    const T v = y[i], d = dy[i];
    switch (op) {
      case Unary::relu:
        dx[i] = v > T(0) ? d : T(0);
        break;
      case Unary::relu6:
        dx[i] = v > T(0) && v < T(6) ? d : T(0);
        break;
      case Unary::sigmoid:
        dx[i] = d * v * (T(1) - v);
        break;
      case Unary::tanh:
        dx[i] = d * (T(1) - v * v);
        break;
      case Unary::rsqrt:
        dx[i] = d * T(-0.5) * v * v * v;
        break;
      case Unary::abs:
        dx[i] = v > T(0) ? d : v < T(0) ? -d : T(0);
        break;  // v is x here: sign(x)
      case Unary::exp:
        dx[i] = d * v;
        break;
      case Unary::step:  // piecewise constant
        dx[i] = T(0);
        break;
    }
  });
}

// One binary op on two values: the formulas of both the contiguous and the broadcasting kernel.
template <class T>
__device__ inline T binary_value(Binary op, T u, T v) {
  switch (op) {
    case Binary::add:
      return u + v;
    case Binary::sub:
      return u - v;
    case Binary::mul:
      return u * v;
    case Binary::div:
      return u / v;
    case Binary::add_relu:
      return u + v > T(0) ? u + v : T(0);
  }
  return T(0);
}

template <class T>
cudaError_t binary(Binary op, int64_t n, const T* a, const T* b, T* y, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) { y[i] = binary_value(op, a[i], b[i]); });
}

template <class T>
cudaError_t binary_broadcast(Binary op, const Broadcast4& g, const T* a, const T* b, T* y, cudaStream_t s) {
  const int64_t n = g.dims[0] * g.dims[1] * g.dims[2] * g.dims[3];
  return for_each(n, s, [=] __device__(int64_t i) {
    int64_t r = i, ia = 0, ib = 0;
    for (int d = 3; d >= 0; --d) {  // i's coordinates, last axis first
      const int64_t c = r % g.dims[d];
      r /= g.dims[d];
      ia += c * g.sa[d], ib += c * g.sb[d];
    }
    y[i] = binary_value(op, a[ia], b[ib]);
  });
}

template <class T>
cudaError_t axpby(int64_t n, T a, const T* x, T b, T* y, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) { y[i] = a * x[i] + b * y[i]; });
}

template <class T>
cudaError_t affine(int64_t n, const T* x, T a, T b, T* y, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) { y[i] = a * x[i] + b; });
}

template <class T>
cudaError_t clamp_forward(int64_t n, const T* x, T lo, T hi, T* y, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) { y[i] = min_of(max_of(x[i], lo), hi); });
}

template <class T>
cudaError_t clamp_backward(int64_t n, const T* x, T lo, T hi, const T* dy, T* dx, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) { dx[i] = x[i] >= lo && x[i] <= hi ? dy[i] : T(0); });
}

template <class T>
cudaError_t secant(int64_t n, const T* a, const T* y, const T* y_ref, const T* x, const T* x_ref, const T* fallback,
                   T eps, T* out, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) {
    const T d = x[i] - x_ref[i], num = (a ? a[i] : T(1)) * (y_ref ? y[i] - y_ref[i] : y[i]);
    out[i] = (d < 0 ? -d : d) < eps ? fallback[i] : num / d;
  });
}

template <class T>
cudaError_t bias_add(int64_t N, int64_t C, int64_t S, const T* x, const T* b, T* y, cudaStream_t s) {
  return for_each(N * C * S, s, [=] __device__(int64_t i) { y[i] = x[i] + b[i / S % C]; });
}

// db[c]: one block per channel, a fixed-order tree sum over the channel's N*S values.
template <class T>
cudaError_t bias_grad(int64_t N, int64_t C, int64_t S, const T* dy, T* db, cudaStream_t s) {
  return reduce_each<T>(
      C, s,
      [=] __device__(int64_t c, int64_t from, int64_t step) {
        T acc = 0;
        for (int64_t k = from; k < N * S; k += step) acc += dy[(k / S * C + c) * S + k % S];
        return acc;
      },
      [=] __device__(int64_t c, T sum) { db[c] = sum; });
}

// inner == 1 (a mean over the last axes, as global average pooling): a block per output, striding
// along the contiguous row. Otherwise a thread per output, neighbours reading neighbours.
template <class T>
cudaError_t reduce_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* x, T* y, cudaStream_t s) {
  if (inner == 1)
    return reduce_each<T>(
        outer, s,
        [=] __device__(int64_t o, int64_t from, int64_t step) {
          T acc = 0;
          for (int64_t l = from; l < len; l += step) acc += x[o * len + l];
          return acc;
        },
        [=] __device__(int64_t o, T sum) { y[o] = scale * sum; });
  return for_each(outer * inner, s, [=] __device__(int64_t oi) {
    const T* p = x + oi / inner * len * inner + oi % inner;
    T acc = 0;
    for (int64_t l = 0; l < len; ++l) acc += p[l * inner];
    y[oi] = scale * acc;
  });
}

template <class T>
cudaError_t broadcast_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* dy, T* dx, cudaStream_t s) {
  return for_each(outer * len * inner, s,
                  [=] __device__(int64_t i) { dx[i] = scale * dy[i / (len * inner) * inner + i % inner]; });
}

template <class T>
cudaError_t flag_nonfinite(int64_t n, const T* x, T* flag, cudaStream_t s) {
  // every thread that finds one writes the same value: no atomics needed
  return for_each(n, s, [=] __device__(int64_t i) {
    if (!isfinite(x[i])) *flag = T(1);
  });
}

template <class A, class B>
cudaError_t convert(int64_t n, const A* a, B* b, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) { b[i] = static_cast<B>(a[i]); });
}

template <class T>
cudaError_t optim_step(const OptimStep& o, int64_t n, T* p, const T* g, T* m, T* v, cudaStream_t s) {
  return for_each(n, s, [=] __device__(int64_t i) {
    const double d = double(g[i]) + o.weight_decay * double(p[i]);
    if (o.adam) {
      m[i] = T(o.beta1 * double(m[i]) + (1 - o.beta1) * d);
      v[i] = T(o.beta2 * double(v[i]) + (1 - o.beta2) * d * d);
      p[i] = T(double(p[i]) - o.lr * (double(m[i]) / o.c1) / (sqrt(double(v[i]) / o.c2) + o.eps));
    } else {
      m[i] = T(o.momentum * double(m[i]) + d);
      p[i] = T(double(p[i]) - o.lr * double(m[i]));
    }
  });
}

#define GT_INSTANTIATE(T)                                                                                    \
  template cudaError_t fill<T>(int64_t, T, T*, cudaStream_t);                                                \
  template cudaError_t unary_forward<T>(Unary, int64_t, const T*, T*, cudaStream_t);                         \
  template cudaError_t unary_backward<T>(Unary, int64_t, const T*, const T*, T*, cudaStream_t);              \
  template cudaError_t binary<T>(Binary, int64_t, const T*, const T*, T*, cudaStream_t);                     \
  template cudaError_t binary_broadcast<T>(Binary, const Broadcast4&, const T*, const T*, T*, cudaStream_t); \
  template cudaError_t axpby<T>(int64_t, T, const T*, T, T*, cudaStream_t);                                  \
  template cudaError_t affine<T>(int64_t, const T*, T, T, T*, cudaStream_t);                                 \
  template cudaError_t clamp_forward<T>(int64_t, const T*, T, T, T*, cudaStream_t);                          \
  template cudaError_t clamp_backward<T>(int64_t, const T*, T, T, const T*, T*, cudaStream_t);               \
  template cudaError_t secant<T>(int64_t, const T*, const T*, const T*, const T*, const T*, const T*, T, T*, \
                                 cudaStream_t);                                                              \
  template cudaError_t bias_add<T>(int64_t, int64_t, int64_t, const T*, const T*, T*, cudaStream_t);         \
  template cudaError_t bias_grad<T>(int64_t, int64_t, int64_t, const T*, T*, cudaStream_t);                  \
  template cudaError_t reduce_axis<T>(int64_t, int64_t, int64_t, T, const T*, T*, cudaStream_t);             \
  template cudaError_t broadcast_axis<T>(int64_t, int64_t, int64_t, T, const T*, T*, cudaStream_t);          \
  template cudaError_t flag_nonfinite<T>(int64_t, const T*, T*, cudaStream_t);                               \
  template cudaError_t optim_step<T>(const OptimStep&, int64_t, T*, const T*, T*, T*, cudaStream_t);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)
template cudaError_t convert<float, float>(int64_t, const float*, float*, cudaStream_t);
template cudaError_t convert<float, double>(int64_t, const float*, double*, cudaStream_t);
template cudaError_t convert<double, float>(int64_t, const double*, float*, cudaStream_t);
template cudaError_t convert<double, double>(int64_t, const double*, double*, cudaStream_t);

}  // namespace gt::cuda
