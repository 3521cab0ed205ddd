// Register-blocked SGEMM micro-kernel (AVX-512F) over packed strips of B.
//
// A C tile of MR rows x (16*NV) columns lives in MR*NV vector registers (at most 6 x 4 = 24 of 32).
// For every k the kernel loads NV vectors of the packed B row and broadcasts MR scalars of A:
//   C[i, :] += A[i, k] * B[k, :]        i < MR,  MR*NV fused multiply-adds per k.
// K is cut into blocks of kDepth rows so that one packed block of B (kDepth x 64 floats = 32 KB)
// stays in L1 while every row block of A streams past it from L2; C is read and written once per
// K block. A is read in place (no packing), so weights need no per-call re-arrangement.
#include "kernels/cpu/sgemm.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace gt::cpu {

#if defined(__AVX512F__)
namespace {

constexpr int kRows = 6;          // MR of the full tile
constexpr int64_t kDepth = 128;   // K rows per packed block of B

struct Tile {
  int64_t kc;        // depth of this K block
  const float* a;    // A[row0, k0], row stride lda
  int64_t lda;
  const float* b;    // packed block, kc x kStrip
  float* c;          // C[row0, col0], row stride ldc
  int64_t ldc;
  __mmask16 tail;    // lanes of the last vector that exist in C
  bool first;        // first K block: start from the bias (or 0) instead of C
  const float* bias; // bias[row0] or null
};

template <int MR, int NV>
void micro_kernel(const Tile& t) {
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = v == NV - 1 ? t.tail : __mmask16(0xFFFF);
      acc[i][v] = t.first ? (t.bias ? _mm512_set1_ps(t.bias[i]) : _mm512_setzero_ps())
                          : _mm512_maskz_loadu_ps(m, t.c + i * t.ldc + 16 * v);
    }
  const float* a[MR];
  for (int i = 0; i < MR; ++i) a[i] = t.a + i * t.lda;
  const float* b = t.b;
  for (int64_t k = 0; k < t.kc; ++k, b += kStrip) {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(a[i][k]);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      _mm512_mask_storeu_ps(t.c + i * t.ldc + 16 * v, v == NV - 1 ? t.tail : __mmask16(0xFFFF), acc[i][v]);
}

using Kernel = void (*)(const Tile&);

// kernel_table[NV - 1][MR - 1]
template <int NV>
constexpr std::array<Kernel, kRows> kernels_nv() {
  return {micro_kernel<1, NV>, micro_kernel<2, NV>, micro_kernel<3, NV>,
          micro_kernel<4, NV>, micro_kernel<5, NV>, micro_kernel<6, NV>};
}
constexpr std::array<Kernel, kRows> kernel_table[4] = {kernels_nv<1>(), kernels_nv<2>(), kernels_nv<3>(), kernels_nv<4>()};

}  // namespace

bool sgemm_strips_available() { return true; }

void sgemm_strips(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* bias, float* C,
                  int64_t ldc, const PackStrip& pack) {
  // A task is a run of up to kRun adjacent strips times a group of row tiles. Packing the strips of a
  // run one after another reads each row of B (each image row of a convolution's input) as one
  // contiguous stretch, which the hardware prefetchers follow; a lone 64-column strip would touch K
  // scattered 256-byte pieces.
  constexpr int64_t kRun = 4;
  const int64_t strips = (N + kStrip - 1) / kStrip, row_tiles = (M + kRows - 1) / kRows;
  const int64_t threads = omp_get_max_threads();
  const int64_t run = std::clamp<int64_t>(strips / (2 * threads), 1, kRun), runs = (strips + run - 1) / run;
  // Few runs (small images, deep layers): also split the rows of C, one group per thread; with the
  // round-robin schedule below thread t then takes group t of every run, and the load is even.
  const int64_t row_groups = threads > 1 && runs < 4 * threads ? std::min(threads, row_tiles) : 1;
  const int64_t tiles_per_group = (row_tiles + row_groups - 1) / row_groups;
#pragma omp parallel
  {
    std::vector<float> buf(static_cast<size_t>(run * kDepth * kStrip));
#pragma omp for schedule(static, 1) collapse(2)
    for (int64_t ri = 0; ri < runs; ++ri)
      for (int64_t gi = 0; gi < row_groups; ++gi) {
        const int64_t s0 = ri * run, s1 = std::min(strips, s0 + run);
        const int64_t r0 = gi * tiles_per_group * kRows, r1 = std::min(M, r0 + tiles_per_group * kRows);
        if (r0 >= r1) continue;
        for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
          const int64_t kc = std::min(kDepth, K - k0);
          for (int64_t s = s0; s < s1; ++s)
            pack(k0, k0 + kc, s * kStrip, std::min(kStrip, N - s * kStrip), buf.data() + (s - s0) * kDepth * kStrip);
          for (int64_t s = s0; s < s1; ++s) {
            const int64_t n0 = s * kStrip, nn = std::min(kStrip, N - n0);
            const auto& kernels = kernel_table[(nn + 15) / 16 - 1];
            const __mmask16 tail = nn % 16 ? __mmask16((1u << (nn % 16)) - 1) : __mmask16(0xFFFF);
            for (int64_t r = r0; r < r1; r += kRows) {
              const int64_t mr = std::min<int64_t>(kRows, r1 - r);
              const Tile t{kc, A + r * lda + k0, lda, buf.data() + (s - s0) * kDepth * kStrip, C + r * ldc + n0, ldc,
                           tail, k0 == 0, bias ? bias + r : nullptr};
              kernels[mr - 1](t);
            }
          }
        }
      }
  }
}

#else

bool sgemm_strips_available() { return false; }
void sgemm_strips(int64_t, int64_t, int64_t, const float*, int64_t, const float*, float*, int64_t,
                  const PackStrip&) {}

#endif

}  // namespace gt::cpu
