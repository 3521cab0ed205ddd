#include "kernels/cpu/layout.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

namespace gt::cpu {

template <class T>
void pad(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr, T value, const T* x,
         T* y) {
  const int64_t Hp = H + pt + pb, Wp = W + pl + pr;
#pragma omp parallel for schedule(static) if (planes > 1)
  for (int64_t p = 0; p < planes; ++p) {
    T* yp = y + p * Hp * Wp;
    std::fill(yp, yp + Hp * Wp, value);
    for (int64_t i = 0; i < H; ++i) std::memcpy(yp + (i + pt) * Wp + pl, x + (p * H + i) * W, sizeof(T) * W);
  }
}

template <class T>
void pad_backward(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr, const T* dy,
                  T* dx) {
  const int64_t Hp = H + pt + pb, Wp = W + pl + pr;
#pragma omp parallel for schedule(static) if (planes > 1)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < H; ++i)
      std::memcpy(dx + (p * H + i) * W, dy + p * Hp * Wp + (i + pt) * Wp + pl, sizeof(T) * W);
}

template <class T>
void insert_channels(int64_t N, int64_t Cs, int64_t S, const T* src, int64_t Cd, int64_t off, T* dst) {
  for (int64_t n = 0; n < N; ++n) std::memcpy(dst + (n * Cd + off) * S, src + n * Cs * S, sizeof(T) * Cs * S);
}

template <class T>
void extract_channels(int64_t N, int64_t Cs, int64_t S, const T* dst_grad, int64_t Cd, int64_t off, T* src_grad) {
  for (int64_t n = 0; n < N; ++n) std::memcpy(src_grad + n * Cs * S, dst_grad + (n * Cd + off) * S, sizeof(T) * Cs * S);
}

namespace {
struct Lerp {
  int64_t i0, i1;
  double w1;  // weight of i1; i0 gets 1 - w1
};
std::vector<Lerp> lerps(int64_t in, int64_t out) {
  std::vector<Lerp> v(static_cast<size_t>(out));
  const double scale = double(in) / double(out);
  for (int64_t o = 0; o < out; ++o) {
    const double s = std::max(0.0, (o + 0.5) * scale - 0.5);
    const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(s), in - 1);
    v[o] = {i0, std::min(i0 + 1, in - 1), s - double(i0)};
  }
  return v;
}
}  // namespace

template <class T>
void resize_bilinear(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* x, T* y) {
  const auto ly = lerps(H, Ho), lx = lerps(W, Wo);
#pragma omp parallel for schedule(static) if (planes > 1)
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * H * W;
    for (int64_t oy = 0; oy < Ho; ++oy) {
      const Lerp a = ly[oy];
      for (int64_t ox = 0; ox < Wo; ++ox) {
        const Lerp b = lx[ox];
        const double top = (1 - b.w1) * xp[a.i0 * W + b.i0] + b.w1 * xp[a.i0 * W + b.i1];
        const double bot = (1 - b.w1) * xp[a.i1 * W + b.i0] + b.w1 * xp[a.i1 * W + b.i1];
        y[(p * Ho + oy) * Wo + ox] = T((1 - a.w1) * top + a.w1 * bot);
      }
    }
  }
}

template <class T>
void resize_bilinear_backward(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* dy, T* dx) {
  const auto ly = lerps(H, Ho), lx = lerps(W, Wo);
#pragma omp parallel for schedule(static) if (planes > 1)
  for (int64_t p = 0; p < planes; ++p) {
    T* dxp = dx + p * H * W;
    std::fill(dxp, dxp + H * W, T(0));
    for (int64_t oy = 0; oy < Ho; ++oy) {
      const Lerp a = ly[oy];
      for (int64_t ox = 0; ox < Wo; ++ox) {
        const Lerp b = lx[ox];
        const double d = dy[(p * Ho + oy) * Wo + ox];
        dxp[a.i0 * W + b.i0] += T(d * (1 - a.w1) * (1 - b.w1));
        dxp[a.i0 * W + b.i1] += T(d * (1 - a.w1) * b.w1);
        dxp[a.i1 * W + b.i0] += T(d * a.w1 * (1 - b.w1));
        dxp[a.i1 * W + b.i1] += T(d * a.w1 * b.w1);
      }
    }
  }
}

template <class T>
void gather_strided(const Broadcast4& g, const T* x, T* y) {
  const int64_t D0 = g.dims[0], D1 = g.dims[1], D2 = g.dims[2], D3 = g.dims[3];
#pragma omp parallel for collapse(3) if (D0 * D1 * D2 * D3 > (1 << 16))
  for (int64_t i0 = 0; i0 < D0; ++i0)
    for (int64_t i1 = 0; i1 < D1; ++i1)
      for (int64_t i2 = 0; i2 < D2; ++i2) {
        const T* xp = x + i0 * g.sa[0] + i1 * g.sa[1] + i2 * g.sa[2];
        T* yp = y + ((i0 * D1 + i1) * D2 + i2) * D3;
        for (int64_t i3 = 0; i3 < D3; ++i3) yp[i3] = xp[i3 * g.sa[3]];
      }
}

template <class A, class B>
void convert(int64_t n, const A* a, B* b) {
#pragma omp parallel for simd if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) b[i] = static_cast<B>(a[i]);
}

#if defined(__AVX512F__)
namespace {
// The 16 rows r[0..16) (16 floats each, from rows[i] + j0) written as the 16 columns of a tile of dst.
void transpose_tile(const float* const* rows, int64_t j0, float* dst, int64_t ldd) {
  __m512 r[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(rows[i] + j0);
  transpose16(r);
  for (int j = 0; j < 16; ++j) _mm512_storeu_ps(dst + (j0 + j) * ldd, r[j]);
}
}  // namespace
#endif

template <class T>
void transpose_rows(int64_t m, int64_t n, const T* const* rows, T* dst, int64_t ldd) {
  int64_t i0 = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>)
    for (; i0 + 16 <= m; i0 += 16) {
      int64_t j0 = 0;
      for (; j0 + 16 <= n; j0 += 16) transpose_tile(rows + i0, j0, dst + i0, ldd);
      for (int64_t i = i0; i < i0 + 16; ++i)
        for (int64_t j = j0; j < n; ++j) dst[j * ldd + i] = rows[i][j];
    }
#endif
  for (int64_t j0 = 0; j0 < n; j0 += 16)  // the rest in 16-column tiles: each row's reads one cache line
    for (int64_t i = i0; i < m; ++i)
      for (int64_t j = j0; j < std::min(n, j0 + 16); ++j) dst[j * ldd + i] = rows[i][j];
}

#define GT_INSTANTIATE(T)                                                                                     \
  template void pad<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, T, const T*, T*);       \
  template void pad_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*); \
  template void insert_channels<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t, T*);                \
  template void gather_strided<T>(const Broadcast4&, const T*, T*);                                           \
  template void extract_channels<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t, T*);               \
  template void resize_bilinear<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);                \
  template void resize_bilinear_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);       \
  template void transpose_rows<T>(int64_t, int64_t, const T* const*, T*, int64_t);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)
template void convert<float, float>(int64_t, const float*, float*);
template void convert<float, double>(int64_t, const float*, double*);
template void convert<double, float>(int64_t, const double*, float*);
template void convert<double, double>(int64_t, const double*, double*);

}  // namespace gt::cpu
