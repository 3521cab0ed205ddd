// Register-blocked SGEMM micro-kernel (AVX-512F) over packed strips of B.
//
// A C tile of MR rows x (16*NV) columns lives in MR*NV vector registers (at most 6 x 4 = 24 of 32).
// For every k the kernel loads NV vectors of the packed B row and broadcasts MR scalars of A:
//   C[i, :] += A[i, k] * B[k, :]        i < MR,  MR*NV fused multiply-adds per k.
// K is cut into blocks of kDepth rows: one packed block of B (kDepth x 64 floats = 128 KB) stays in L2
// while every row block of A streams past it; C is read and written once per K block (the epilogue's
// scale, residual and activation are applied in registers before the last block's store). A depth of 512
// rather than 128 (a block in L1) reads C a quarter as often: 187-215 GFLOP/s instead of 155-182 on
// 2 cores whose FMA peak is 232 (Inception/VGG-sized products). A is read in place (no packing), so
// weights need no per-call re-arrangement.
#include "kernels/cpu/sgemm.h"

#include <omp.h>

#include <algorithm>
#include <array>

#include "kernels/cpu/scratch.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace gt::cpu {

constexpr int64_t kStreamBytes = 8 << 20;  // see strip_tasks

#if defined(__AVX512F__)
namespace {

constexpr int kRows = kRowTile;
constexpr int64_t kDepth = kPackDepth;

struct Tile {
  int64_t kc;        // depth of this K block
  const float* a;    // A[row0, k0], row stride lda
  int64_t lda, csa;  // A[i][k] = a[i * lda + k * csa]
  const float* b;    // block of B, kc x (16 NV), row stride ldb
  int64_t ldb;
  float* c;  // C[row0, col0], row stride ldc
  int64_t ldc;
  __mmask16 tail;     // lanes of the last vector that exist in C
  bool first;         // first K block: start from the bias (or 0) instead of C
  const float* bias;  // bias[row0] or null
  const Finish* fin;  // last K block: the rest of the epilogue, rows from row0; null otherwise
};

// The epilogue after the initial bias, on a tile's registers: v = act(scale[i] v + bias[i] + r), r
// the residual's vector. The activations match apply_epilogue's bits: max(v, 0) returns its second
// operand, 0, where v is NaN (relu maps NaN to 0); relu6 as min(max(v, 0), 6) with v second
// returns v where it is NaN.
__m512 finish_row(const Finish& f, int64_t i, __m512 v, __m512 r) {
  if (f.scale) v = _mm512_fmadd_ps(v, _mm512_set1_ps(f.scale[i]), _mm512_set1_ps(f.bias ? f.bias[i] : 0.f));
  if (f.residual) v = _mm512_add_ps(v, r);
  switch (f.act) {
    case Act::none:
      return v;
    case Act::relu:
      return _mm512_max_ps(v, _mm512_setzero_ps());
    case Act::relu6:
      return _mm512_min_ps(_mm512_set1_ps(6.f), _mm512_max_ps(_mm512_setzero_ps(), v));
  }
  return v;
}

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
  // C[i, :] += A[i, k] * B[k, :] for one row of B, its vectors loaded by load(v).
  auto fma_row = [&](int64_t ka, auto load) {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = load(v);
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(a[i][ka]);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
  };
  // A full load of row k's last vector reads 16 - (lanes in the tail) floats past the row's data.
  // Where B is read in place (1x1 convs) the buffer may end soon after: the rows whose full load
  // would reach past the block's last value, (kc - 1 - k) ldb < 16 - tail lanes (only the last row
  // when ldb >= 16), load that vector masked (AddressSanitizer caught the over-read). Only those:
  // a masked load in every row costs a third of a ResNet50 saliency map.
  const int64_t gap = 16 - __builtin_popcount(t.tail);
  const int64_t masked = gap == 0 ? 0 : std::min(t.kc, (gap + t.ldb - 1) / std::max<int64_t>(1, t.ldb));
  const float* b = t.b;
  int64_t k = 0, ka = 0;
  for (; k < t.kc - masked; ++k, ka += t.csa, b += t.ldb)
    fma_row(ka, [&](int v) { return _mm512_loadu_ps(b + 16 * v); });
  for (; k < t.kc; ++k, ka += t.csa, b += t.ldb)
    fma_row(ka, [&](int v) {
      return v == NV - 1 ? _mm512_maskz_loadu_ps(t.tail, b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
    });
  if (t.fin) {
    const float* res = t.fin->residual;
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) {
        const __mmask16 m = v == NV - 1 ? t.tail : __mmask16(0xFFFF);
        const __m512 r = res ? _mm512_maskz_loadu_ps(m, res + i * t.ldc + 16 * v) : _mm512_setzero_ps();
        acc[i][v] = finish_row(*t.fin, i, acc[i][v], r);
      }
    // Streaming stores skip reading C's lines into the cache first (a product too large to stay
    // there): whole vectors on 64-byte boundaries only.
    if (t.fin->stream && t.tail == 0xFFFF && ((reinterpret_cast<uintptr_t>(t.c) | uintptr_t(t.ldc) * 4) & 63) == 0) {
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) _mm512_stream_ps(t.c + i * t.ldc + 16 * v, acc[i][v]);
      return;
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
constexpr std::array<Kernel, kRows> kernel_table[4] = {kernels_nv<1>(), kernels_nv<2>(), kernels_nv<3>(),
                                                       kernels_nv<4>()};

}  // namespace

bool sgemm_strips_available() { return true; }

void sgemm_strip(int64_t M, int64_t K, const float* A, int64_t lda, const float* Bp, int64_t ldb, float* C, int64_t ldc,
                 int64_t nn, const float* bias, bool accumulate, int64_t csa, const Finish* fin) {
  const auto& kernels = kernel_table[(nn + 15) / 16 - 1];
  const __mmask16 tail = nn % 16 ? __mmask16((1u << (nn % 16)) - 1) : __mmask16(0xFFFF);
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
    const int64_t kc = std::min(kDepth, K - k0);
    for (int64_t r = 0; r < M; r += kRows) {
      const Finish f = fin ? fin->from(r, ldc) : Finish{};
      const Tile t{kc,
                   A + r * lda + k0 * csa,
                   lda,
                   csa,
                   Bp + k0 * ldb,
                   ldb,
                   C + r * ldc,
                   ldc,
                   tail,
                   k0 == 0 && !accumulate,
                   bias ? bias + r : nullptr,
                   fin && k0 + kc == K ? &f : nullptr};
      kernels[std::min<int64_t>(kRows, M - r) - 1](t);
    }
  }
}

#else

bool sgemm_strips_available() { return false; }
void sgemm_strip(int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, const float*,
                 bool, int64_t, const Finish*) {}

#endif

WorkSplit split_work(int64_t N, int64_t M, int64_t max_run, int64_t batch) {
  // A task is a run of at most max_run adjacent strips times a group of rows of C. The runs are a
  // multiple of the thread count and differ by at most one strip. Few runs (small images, deep
  // layers): the rows are split too, one group per thread.
  WorkSplit w;
  const int64_t threads = omp_get_max_threads();
  w.strips = (N + kStrip - 1) / kStrip;
  w.runs = std::min(w.strips, threads * ((w.strips + threads * max_run - 1) / (threads * max_run)));
  w.max_run = (w.strips + w.runs - 1) / w.runs;
  const int64_t row_tiles = (M + kRowTile - 1) / kRowTile;
  const int64_t groups = threads > 1 && batch * w.runs < 4 * threads ? std::min(threads, row_tiles) : 1;
  w.rows_per_group = (row_tiles + groups - 1) / groups * kRowTile;
  w.groups = (M + w.rows_per_group - 1) / w.rows_per_group;
  return w;
}

namespace {
// The task loop of sgemm_strips and sgemm: B is either packed by `pack` or read in place at B, ldb.
// A batch of products shares A (a convolution's images): tasks are (image, run, row group).
void strip_tasks(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, int64_t csa, const Epilogue<float>& e,
                 float* C, int64_t ldc, const PackStrip* pack, const float* B, int64_t ldb, const Batch& batch) {
  // Packing the strips of a run one after another reads each row of B (each image row of a
  // convolution's input) as one contiguous stretch, which the hardware prefetchers follow; a lone
  // 64-column strip would touch K scattered 256-byte pieces.
  // Tasks are handed out dynamically: in a batch, a round-robin gave one thread every image's longer
  // run (a 17x17 plane is 5 strips: runs of 3 and 2), and the other thread waited a third of the time.
  const WorkSplit w = split_work(N, M, 4, batch.count);
  const float* bias = e.initial_bias();  // the rest of the epilogue follows the K loop
  const Epilogue<float> rest = e.after_initial_bias();
  const int64_t block = kPackDepth * kStrip;
  // A product of more than a quarter of L3 is stored past the caches: it would have left them before
  // the next layer reads it, and skipping the read-for-ownership of its lines made ResNet50's 56x56
  // 1x1 convs 15-20% faster at batch 10. Smaller ones stay cached for their consumer.
  const bool stream = batch.count * M * N * int64_t(sizeof(float)) > kStreamBytes;
  const Finish finish{rest.scale, rest.bias, rest.act, stream, rest.residual};
#pragma omp parallel
  {
    const Scratch<float> buf(static_cast<size_t>(pack ? w.max_run * block : 0));
#pragma omp for schedule(dynamic, 1) collapse(3) nowait
    for (int64_t bi = 0; bi < batch.count; ++bi)
      for (int64_t ri = 0; ri < w.runs; ++ri)
        for (int64_t gi = 0; gi < w.groups; ++gi) {
          const int64_t s0 = ri * w.strips / w.runs, s1 = (ri + 1) * w.strips / w.runs;
          float* Cb = C + bi * batch.stride_c;
          const int64_t r0 = gi * w.rows_per_group, rows = std::min(M - r0, w.rows_per_group);
          for (int64_t k0 = 0; k0 < K; k0 += kPackDepth) {
            const int64_t kc = std::min(kPackDepth, K - k0);
            if (pack)
              for (int64_t s = s0; s < s1; ++s)
                (*pack)(bi, k0, k0 + kc, s * kStrip, std::min(kStrip, N - s * kStrip), buf.data() + (s - s0) * block);
            for (int64_t s = s0; s < s1; ++s) {
              const float* b = pack ? buf.data() + (s - s0) * block : B + bi * batch.stride_b + k0 * ldb + s * kStrip;
              const Finish fin = finish.from(r0, ldc, bi * batch.stride_c + s * kStrip);
              sgemm_strip(rows, kc, A + r0 * lda + k0 * csa, lda, b, pack ? kStrip : ldb, Cb + r0 * ldc + s * kStrip,
                          ldc, std::min(kStrip, N - s * kStrip), k0 == 0 && bias ? bias + r0 : nullptr, k0 > 0, csa,
                          k0 + kc == K ? &fin : nullptr);
            }
          }
        }
    if (stream) store_fence();  // complete the streaming stores before the region's barrier
  }
}
}  // namespace

void sgemm_strips(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Epilogue<float>& e, float* C,
                  int64_t ldc, const PackStrip& pack, const Batch& batch, int64_t csa) {
  strip_tasks(M, N, K, A, lda, csa, e, C, ldc, &pack, nullptr, 0, batch);
}

void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
           const Epilogue<float>& e, float* C, int64_t ldc, int64_t csa, const Batch& batch) {
  strip_tasks(M, N, K, A, lda, csa, e, C, ldc, nullptr, B, ldb, batch);
}

}  // namespace gt::cpu
