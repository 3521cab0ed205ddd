#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cmath>

namespace gt::cpu {

// Loops above this size are split across threads; below it the fork costs more than the work.
constexpr int64_t kParallel = 1 << 15;

template <class T>
void fill(int64_t n, T v, T* y) {
#pragma omp parallel for simd if (n > kParallel)
  for (int64_t i = 0; i < n; ++i) y[i] = v;
}

template <class T, class F>
inline void map1(int64_t n, const T* x, T* y, F f) {
#pragma omp parallel for simd if (n > kParallel)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class T, class F>
inline void map2(int64_t n, const T* a, const T* b, T* y, F f) {
#pragma omp parallel for simd if (n > kParallel)
  for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
}

template <class T>
void unary_forward(Unary op, int64_t n, const T* x, T* y) {
  switch (op) {
    case Unary::relu:
      return map1(n, x, y, [](T v) { return v > T(0) ? v : T(0); });
    case Unary::relu6:
      return map1(n, x, y, [](T v) { return std::min(std::max(v, T(0)), T(6)); });
    case Unary::sigmoid:
      return map1(n, x, y, [](T v) { return T(1) / (T(1) + std::exp(-v)); });
    case Unary::tanh:
      return map1(n, x, y, [](T v) { return std::tanh(v); });
    case Unary::rsqrt:
      return map1(n, x, y, [](T v) { return T(1) / std::sqrt(v); });
    case Unary::abs:
      return map1(n, x, y, [](T v) { return std::abs(v); });
    case Unary::exp:
      return map1(n, x, y, [](T v) { return std::exp(v); });
    case Unary::step:
      return map1(n, x, y, [](T v) { return v > T(0) ? T(1) : T(0); });
  }
}

template <class T>
void unary_backward(Unary op, int64_t n, const T* y, const T* dy, T* dx) {
  switch (op) {
    case Unary::relu:
      return map2(n, y, dy, dx, [](T v, T d) { return v > T(0) ? d : T(0); });
    case Unary::relu6:
      return map2(n, y, dy, dx, [](T v, T d) { return v > T(0) && v < T(6) ? d : T(0); });
    case Unary::sigmoid:
      return map2(n, y, dy, dx, [](T v, T d) { return d * v * (T(1) - v); });
    case Unary::tanh:
      return map2(n, y, dy, dx, [](T v, T d) { return d * (T(1) - v * v); });
    // d x^(-1/2) / dx = -x^(-3/2) / 2 = -y^3 / 2
    case Unary::rsqrt:
      return map2(n, y, dy, dx, [](T v, T d) { return d * T(-0.5) * v * v * v; });
    // abs: the first argument is x (see the header): d |x| / dx = sign(x), 0 at 0
    case Unary::abs:
      return map2(n, y, dy, dx, [](T v, T d) { return v > T(0) ? d : v < T(0) ? -d : T(0); });
    case Unary::exp:  // d e^x / dx = e^x = y
      return map2(n, y, dy, dx, [](T v, T d) { return d * v; });
    case Unary::step:  // piecewise constant
      return map2(n, y, dy, dx, [](T, T) { return T(0); });
  }
}

// One formula per binary op, for both the contiguous and the broadcasting loops.
template <class T, class G>
inline void with_binary(Binary op, G&& go) {
  switch (op) {
    case Binary::add:
      return go([](T u, T v) { return u + v; });
    case Binary::sub:
      return go([](T u, T v) { return u - v; });
    case Binary::mul:
      return go([](T u, T v) { return u * v; });
    case Binary::div:
      return go([](T u, T v) { return u / v; });
    case Binary::add_relu:
      return go([](T u, T v) { return u + v > T(0) ? u + v : T(0); });
  }
}

template <class T>
void binary(Binary op, int64_t n, const T* a, const T* b, T* y) {
  with_binary<T>(op, [&](auto f) { map2(n, a, b, y, f); });
}

// The three outer axes in parallel, the last one as a strided inner loop.
template <class T>
void binary_broadcast(Binary op, const Broadcast4& g, const T* a, const T* b, T* y) {
  const int64_t D0 = g.dims[0], D1 = g.dims[1], D2 = g.dims[2], D3 = g.dims[3];
  with_binary<T>(op, [&](auto f) {
#pragma omp parallel for collapse(3) if (D0 * D1 * D2 * D3 > kParallel)
    for (int64_t i0 = 0; i0 < D0; ++i0)
      for (int64_t i1 = 0; i1 < D1; ++i1)
        for (int64_t i2 = 0; i2 < D2; ++i2) {
          const T* ap = a + i0 * g.sa[0] + i1 * g.sa[1] + i2 * g.sa[2];
          const T* bp = b + i0 * g.sb[0] + i1 * g.sb[1] + i2 * g.sb[2];
          T* yp = y + ((i0 * D1 + i1) * D2 + i2) * D3;
          for (int64_t i3 = 0; i3 < D3; ++i3) yp[i3] = f(ap[i3 * g.sa[3]], bp[i3 * g.sb[3]]);
        }
  });
}

template <class T>
void axpby(int64_t n, T a, const T* x, T b, T* y) {
#pragma omp parallel for simd if (n > kParallel)
  for (int64_t i = 0; i < n; ++i) y[i] = a * x[i] + b * y[i];
}

template <class T>
void affine(int64_t n, const T* x, T a, T b, T* y) {
  map1(n, x, y, [a, b](T v) { return a * v + b; });
}

template <class T>
void clamp_forward(int64_t n, const T* x, T lo, T hi, T* y) {
  map1(n, x, y, [lo, hi](T v) { return std::min(std::max(v, lo), hi); });
}

template <class T>
void clamp_backward(int64_t n, const T* x, T lo, T hi, const T* dy, T* dx) {
  map2(n, x, dy, dx, [lo, hi](T v, T d) { return v >= lo && v <= hi ? d : T(0); });
}

template <class T>
void secant(int64_t n, const T* a, const T* y, const T* y_ref, const T* x, const T* x_ref, const T* fallback, T eps,
            T* out) {
#pragma omp parallel for simd if (n > kParallel)
  for (int64_t i = 0; i < n; ++i) {
    const T d = x[i] - x_ref[i], num = (a ? a[i] : T(1)) * (y_ref ? y[i] - y_ref[i] : y[i]);
    out[i] = std::abs(d) < eps ? fallback[i] : num / d;
  }
}

template <class T>
void bias_add(int64_t N, int64_t C, int64_t S, const T* x, const T* b, T* y) {
#pragma omp parallel for schedule(static) if (N * C * S > kParallel)
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const T bv = b[nc % C];
    const T* xp = x + nc * S;
    T* yp = y + nc * S;
#pragma omp simd
    for (int64_t s = 0; s < S; ++s) yp[s] = xp[s] + bv;
  }
}

template <class T>
void bias_grad(int64_t N, int64_t C, int64_t S, const T* dy, T* db) {
#pragma omp parallel for schedule(static) if (N * C * S > kParallel)
  for (int64_t c = 0; c < C; ++c) {
    T s = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = dy + (n * C + c) * S;
      for (int64_t i = 0; i < S; ++i) s += p[i];
    }
    db[c] = s;
  }
}

template <class T>
void reduce_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (outer * len * inner > kParallel && outer * inner > 1)
  for (int64_t oi = 0; oi < outer * inner; ++oi) {
    const int64_t o = oi / inner, i = oi % inner;
    const T* p = x + o * len * inner + i;
    double s = 0;  // float sums of 10^5 values (a map's total) drift by 1e-5 relative; double does not
    for (int64_t l = 0; l < len; ++l) s += p[l * inner];
    y[oi] = T(double(scale) * s);
  }
}

template <class T>
void broadcast_axis(int64_t outer, int64_t len, int64_t inner, T scale, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (outer * len * inner > kParallel)
  for (int64_t ol = 0; ol < outer * len; ++ol) {
    const int64_t o = ol / len;
    for (int64_t i = 0; i < inner; ++i) dx[ol * inner + i] = scale * dy[o * inner + i];
  }
}

template <class T>
bool all_finite(int64_t n, const T* x) {
  bool ok = true;  // no early exit: the loop vectorises, and a NaN is the rare case
#pragma omp parallel for simd reduction(&& : ok) if (n > (1 << 18))
  for (int64_t i = 0; i < n; ++i) ok = ok && std::isfinite(x[i]);
  return ok;
}

template <class T>
void optim_step(const OptimStep& s, int64_t n, T* p, const T* g, T* m, T* v) {
#pragma omp parallel for simd if (n > kParallel)
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(g[i]) + s.weight_decay * double(p[i]);
    if (s.adam) {
      m[i] = T(s.beta1 * double(m[i]) + (1 - s.beta1) * d);
      v[i] = T(s.beta2 * double(v[i]) + (1 - s.beta2) * d * d);
      p[i] = T(double(p[i]) - s.lr * (double(m[i]) / s.c1) / (std::sqrt(double(v[i]) / s.c2) + s.eps));
    } else {
      m[i] = T(s.momentum * double(m[i]) + d);
      p[i] = T(double(p[i]) - s.lr * double(m[i]));
    }
  }
}

#define GT_INSTANTIATE(T)                                                                              \
  template void fill<T>(int64_t, T, T*);                                                               \
  template void unary_forward<T>(Unary, int64_t, const T*, T*);                                        \
  template void unary_backward<T>(Unary, int64_t, const T*, const T*, T*);                             \
  template void binary<T>(Binary, int64_t, const T*, const T*, T*);                                    \
  template void binary_broadcast<T>(Binary, const Broadcast4&, const T*, const T*, T*);                \
  template void axpby<T>(int64_t, T, const T*, T, T*);                                                 \
  template void affine<T>(int64_t, const T*, T, T, T*);                                                \
  template void clamp_forward<T>(int64_t, const T*, T, T, T*);                                         \
  template void clamp_backward<T>(int64_t, const T*, T, T, const T*, T*);                              \
  template void secant<T>(int64_t, const T*, const T*, const T*, const T*, const T*, const T*, T, T*); \
  template void bias_add<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);                        \
  template void bias_grad<T>(int64_t, int64_t, int64_t, const T*, T*);                                 \
  template void reduce_axis<T>(int64_t, int64_t, int64_t, T, const T*, T*);                            \
  template void broadcast_axis<T>(int64_t, int64_t, int64_t, T, const T*, T*);                         \
  template bool all_finite<T>(int64_t, const T*);                                                      \
  template void optim_step<T>(const OptimStep&, int64_t, T*, const T*, T*, T*);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cpu
