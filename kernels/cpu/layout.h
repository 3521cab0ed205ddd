// Data movement: padding, channel concatenation, strided gathers, bilinear resize, dtype conversion.
#pragma once
#include <cstdint>

#include "kernels/params.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace gt::cpu {

// planes of (H, W) -> (H+pt+pb, W+pl+pr), border filled with value. Backward crops.
template <class T>
void pad(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr, T value, const T* x,
         T* y);
template <class T>
void pad_backward(int64_t planes, int64_t H, int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr, const T* dy,
                  T* dx);
// src (N, Cs, S) <-> channels [off, off+Cs) of dst (N, Cd, S).
template <class T>
void insert_channels(int64_t N, int64_t Cs, int64_t S, const T* src, int64_t Cd, int64_t off, T* dst);
template <class T>
void extract_channels(int64_t N, int64_t Cs, int64_t S, const T* dst_grad, int64_t Cd, int64_t off, T* src_grad);
// Bilinear with half-pixel centres (PyTorch align_corners=False, TF2 resize):
//   src = (dst + 0.5) * in/out - 0.5, clamped at 0; neighbours i0 = floor(src), i1 = min(i0+1, in-1).
template <class T>
void resize_bilinear(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* x, T* y);
template <class T>
void resize_bilinear_backward(int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* dy, T* dx);
// y (g.dims, contiguous) [i0,i1,i2,i3] = x[i0 g.sa[0] + i1 g.sa[1] + i2 g.sa[2] + i3 g.sa[3]]: any
// permutation of x's axes (transpose) is a choice of strides.
template <class T>
void gather_strided(const Broadcast4& g, const T* x, T* y);
template <class A, class B>
void convert(int64_t n, const A* a, B* b);
// dst[j * ldd + i] = rows[i][j] for i < m, j < n: the m rows (each n long, anywhere in memory) become
// the columns of dst. Single-threaded; 16x16 tiles in registers where AVX-512 is there (float).
template <class T>
void transpose_rows(int64_t m, int64_t n, const T* const* rows, T* dst, int64_t ldd);

#if defined(__AVX512F__)
// GCC 12 reports the unpack intrinsics' own undefined pass-through operand as uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
// r[i][j] <-> r[j][i]: 16 vectors of 16 floats, a 16 x 16 tile, transposed in registers. Three
// interleaving steps: 32-bit pairs, 64-bit pairs (r[4k + j] then holds, in its 128-bit lane L, rows
// 4k..4k+3 of column 4L + j), and two rounds of 128-bit lane shuffles that gather each column's four
// lanes.
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int v = 0; v < 16; v += 2) {
    t[v] = _mm512_unpacklo_ps(r[v], r[v + 1]);
    t[v + 1] = _mm512_unpackhi_ps(r[v], r[v + 1]);
  }
  for (int v = 0; v < 16; v += 4)
    for (int h = 0; h < 2; ++h) {
      const __m512d a = _mm512_castps_pd(t[v + h]), b = _mm512_castps_pd(t[v + h + 2]);
      r[v + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      r[v + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    }
  for (int v = 0; v < 16; v += 8)
    for (int h = 0; h < 4; ++h) {
      t[v + h] = _mm512_shuffle_f32x4(r[v + h], r[v + h + 4], 0x88);
      t[v + h + 4] = _mm512_shuffle_f32x4(r[v + h], r[v + h + 4], 0xDD);
    }
  for (int h = 0; h < 8; ++h) {
    r[h] = _mm512_shuffle_f32x4(t[h], t[h + 8], 0x88);
    r[h + 8] = _mm512_shuffle_f32x4(t[h], t[h + 8], 0xDD);
  }
}
#pragma GCC diagnostic pop
#endif

}  // namespace gt::cpu
