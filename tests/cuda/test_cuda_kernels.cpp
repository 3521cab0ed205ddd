// The CUDA kernels against the CPU kernels, on the same float64 data, element by element: the
// implicit-GEMM gathers, tiling and split-K of all three conv passes on awkward geometries (unequal
// strides and dilations, groups, depthwise with a multiplier), the dense GEMM's transposes, the
// direct depthwise kernels, Winograd, pooling, padding, concatenation, resizing, the element-wise maps and the
// per-output sums. Built only against the simulated GPU (tests/cuda_sim), where a device pointer is
// a host pointer; tests/cuda/test_cuda.cpp covers the same ops through the tape on a real GPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "autodiff/backend.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layout.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/fastdiv.cuh"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layout.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/tiled_gemm.cuh"
#include "kernels/cuda/winograd.h"
#include "tests/test_util.h"

using namespace gt;
using Buf = std::vector<double>;

namespace {

Buf rnd(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Buf v(size_t(std::max<int64_t>(n, 0)));
  for (double& e : v) e = u(rng);
  return v;
}

// The CPU and the CUDA kernel wrote `cpu` and `gpu`: equal up to summation order.
void same(const std::string& what, const Buf& gpu, const Buf& cpu) {
  INFO(what);
  REQUIRE(gpu.size() == cpu.size());
  double worst = 0;  // infinite where an element is NaN: one the kernel never wrote (out())
  for (size_t i = 0; i < gpu.size(); ++i)
    worst = test::worse(worst, std::abs(gpu[i] - cpu[i]) / (1 + std::abs(cpu[i])));
  INFO("largest difference " << worst);
  CHECK(worst < 1e-12);
}

// A buffer of n elements pre-filled with NaN: an element a kernel fails to write shows up.
Buf out(int64_t n) { return Buf(size_t(n), std::nan("")); }

// Stride and dilation (h, w) = (s, s) and (d, d) unless sw and dw are given.
ConvGeom geom(Shape x, Shape w, int64_t s, Pads p, int64_t groups = 1, int64_t d = 1, int64_t sw = 0, int64_t dw = 0) {
  ConvGeom g;
  g.N = x[0], g.C = x[1], g.H = x[2], g.W = x[3], g.O = w[0], g.kh = w[2], g.kw = w[3];
  g.sh = s, g.sw = sw ? sw : s, g.dh = d, g.dw = dw ? dw : d;
  g.pt = p.top, g.pb = p.bottom, g.pl = p.left, g.pr = p.right, g.groups = groups;
  g.finish();
  return g;
}

std::string describe(const ConvGeom& g) {
  const auto pair = [](int64_t a, int64_t b) { return std::to_string(a) + "," + std::to_string(b); };
  return "x " + Shape{g.N, g.C, g.H, g.W}.str() + " w " + Shape{g.O, g.C / g.groups, g.kh, g.kw}.str() + " stride " +
         pair(g.sh, g.sw) + " dilation " + pair(g.dh, g.dw) + " groups " + std::to_string(g.groups) + " pad " +
         pair(g.pt, g.pb) + "," + pair(g.pl, g.pr);
}

}  // namespace

// n / d for every divisor in ds and, for each, the edges (0, around multiples of d, the largest n)
// and random n; returns how many were wrong (the first few reported).
template <class I>
int64_t fastdiv_errors(const std::vector<I>& ds, int64_t& checked) {
  const I top = std::numeric_limits<I>::max();
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<I> any(0, top);
  int64_t wrong = 0;
  for (I d : ds) {
    const cuda::FastDivBy<I> f(d);
    std::vector<I> ns = {0, 1, I(d - 1), d, top, I(top - 1), I(top - d)};
    if (d <= top / 2) ns.push_back(I(2 * d - 1));
    for (I q : {I(1000), I(46340), I(top / d)}) {  // around multiples of d, up to the largest
      if (q > top / d) continue;
      const I m = I(q * d);
      ns.push_back(m);
      if (m > 0) ns.push_back(I(m - 1));
      if (m < top) ns.push_back(I(m + 1));
    }
    for (int r = 0; r < 200; ++r) ns.push_back(any(rng));
    for (I n : ns) {
      ++checked;
      if (f.div(n) != n / d && ++wrong <= 5) FAIL_CHECK(n << " / " << d << ": " << f.div(n) << ", not " << n / d);
    }
  }
  return wrong;
}

// Two kernels, each missing the barrier between a shared write and the reads of other threads. The
// simulator runs threads in order (GT_CUDA_SIM_SCHEDULE: in order by default, reversed, or skewed),
// and each order must catch one of them: a read of a higher thread's value (in order: the reader
// runs first), and of a lower thread's, as when thread 0 computes a value for the block (reversed).
// Pins what each of the ctest runs cuda_sim, cuda_sim_reversed and cuda_sim_skewed can find.
__global__ void racy_read_of_next(double* seen) {  // thread t reads what thread t + 1 wrote
  __shared__ double v[64];
  const int t = int(threadIdx.x);
  v[t] = t + 1000.0;
  seen[t] = t + 1 < 64 ? v[t + 1] : -1;  // no __syncthreads() before it
}
__global__ void racy_broadcast(double value, double* seen) {  // thread 0 writes, every thread reads
  __shared__ double v;
  if (threadIdx.x == 0) v = value;
  seen[threadIdx.x] = v;  // no __syncthreads() before it
}

TEST_CASE("cuda kernels (simulated GPU): each thread order finds the missing barrier it is for") {
  const char* env = std::getenv("GT_CUDA_SIM_SCHEDULE");
  const std::string order = env ? env : "";
  Buf next = out(64), broadcast = out(64);
  double *const to_next = next.data(), *const to_broadcast = broadcast.data();  // GT_LAUNCH copies its arguments
  REQUIRE(GT_LAUNCH(racy_read_of_next, 1, 64, nullptr, to_next) == cudaSuccess);
  REQUIRE(GT_LAUNCH(racy_broadcast, 1, 64, nullptr, 4321.0, to_broadcast) == cudaSuccess);
  bool next_ok = true, broadcast_ok = true;
  for (int t = 0; t < 64; ++t) {
    next_ok = next_ok && next[size_t(t)] == (t + 1 < 64 ? t + 1001.0 : -1);
    broadcast_ok = broadcast_ok && broadcast[size_t(t)] == 4321.0;
  }
  INFO("GT_CUDA_SIM_SCHEDULE=" << order);
  CHECK(next_ok == (order == "reversed"));  // caught in order and skewed (thread 0 reads first)
  CHECK(broadcast_ok == (order != "reversed"));
}

TEST_CASE("cuda kernels: FastDiv divides exactly, in 32 and 64 bits, by every kind of divisor") {
  std::vector<int> d32;
  std::vector<int64_t> d64;
  for (int d = 1; d <= 1000; ++d) d32.push_back(d), d64.push_back(d);
  for (int b = 10; b <= 62; ++b) {
    for (int e = -1; e <= 1; ++e) {
      if (b <= 30) d32.push_back((1 << b) + e);
      d64.push_back((int64_t(1) << b) + e);
    }
  }
  for (int d : {3 * 3 * 512, 7 * 7, 14 * 14, 28 * 28, 56 * 56, 112 * 112, 149 * 149, 224 * 224, 299 * 299, 46341,
                INT32_MAX - 1, INT32_MAX}) {
    d32.push_back(d), d64.push_back(d);
  }
  for (int64_t d : {int64_t(3037000499), int64_t(50) * 512 * 224 * 224, INT64_MAX - 1, INT64_MAX}) d64.push_back(d);
  int64_t checked = 0;
  CHECK(fastdiv_errors(d32, checked) == 0);
  CHECK(fastdiv_errors(d64, checked) == 0);
  CHECK(checked > 400000);
  CHECK(cuda::FastDiv(0).div(12) == 12);  // an empty plane's width: taken as 1, never divided by
}

// The engine behind every GEMM-shaped pass, on each tile shape: M, N and K not multiples of the
// tile or of its K step, several batches, K split into slices (with a workspace) or not (without),
// and K = 0. The conv and GEMM tests below reach each shape only where the heuristic picks it.
template <class Tile>
void check_tiles(const char* shape) {
  const int sizes[][4] = {{130, 260, 37, 2}, {64, 129, 9, 1}, {7, 5, 3, 3}, {200, 140, 1000, 1}, {65, 3, 0, 2}};
  Buf ws(1 << 16);
  for (const auto& [M, N, K, batches] : sizes) {
    const Buf A = rnd(int64_t(batches) * M * K, 1), B = rnd(int64_t(batches) * K * N, 2);
    Buf want(size_t(batches) * M * N, 0.0);
    for (int z = 0; z < batches; ++z)
      for (int m = 0; m < M; ++m)
        for (int k = 0; k < K; ++k)
          for (int n = 0; n < N; ++n)
            want[(size_t(z) * M + m) * N + n] += A[(size_t(z) * M + m) * K + k] * B[(size_t(z) * K + k) * N + n];
    for (bool scratch : {false, true}) {
      Buf got = out(int64_t(batches) * M * N);
      const cuda::RowMajorProduct<double> op{M, N, K, A.data(), B.data(), got.data()};
      REQUIRE(cuda::tiled_gemm_as<double, Tile>(op, batches, scratch ? ws.data() : nullptr,
                                                scratch ? ws.size() * sizeof(double) : 0, nullptr) == cudaSuccess);
      same(std::string(shape) + " tiles, " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
               " x" + std::to_string(batches) + (scratch ? " with a workspace" : ""),
           got, want);
    }
  }
}

TEST_CASE("cuda kernels (simulated GPU): the tile engine on both tile shapes, split into K slices or not") {
  check_tiles<cuda::SquareTile>("128x128");
  check_tiles<cuda::ShortTile>("64x128");
  // 64-row tiles where 128-row ones would leave over a fifth of their rows empty
  for (int M : {1, 48, 64, 190, 192}) CHECK(cuda::short_tiles_pay(M));
  for (int M : {65, 96, 128, 200, 256, 320, 1000}) CHECK_FALSE(cuda::short_tiles_pay(M));
}

TEST_CASE("cuda kernels (simulated GPU): conv2d's three passes match the CPU's") {
  const ConvGeom cases[] = {
      geom({2, 3, 7, 6}, {4, 3, 3, 3}, 1, {1, 1, 1, 1}),
      geom({1, 3, 8, 7}, {5, 3, 3, 3}, 2, {0, 1, 0, 1}),
      geom({1, 2, 9, 9}, {3, 2, 3, 3}, 1, {2, 2, 2, 2}, 1, 2),
      geom({2, 4, 6, 5}, {6, 2, 3, 3}, 1, {1, 1, 1, 1}, 2),
      geom({2, 3, 7, 7}, {3, 1, 3, 3}, 2, {1, 1, 1, 1}, 3),
      geom({1, 2, 6, 6}, {4, 1, 3, 3}, 2, {0, 1, 0, 1}, 2),
      geom({1, 2, 7, 6}, {2, 1, 3, 3}, 1, {2, 2, 2, 2}, 2, 2),
      geom({1, 4, 7, 7}, {6, 4, 1, 1}, 2, {}),
      geom({1, 3, 16, 16}, {8, 3, 7, 7}, 2, {3, 3, 3, 3}),
      geom({2, 6, 5, 5}, {6, 2, 3, 3}, 1, {0, 0, 0, 0}, 3),
      // every spatial parameter differs between the axes
      geom({1, 2, 11, 8}, {3, 2, 5, 3}, 1, {3, 1, 0, 2}, 1, 2, 2, 1),
      geom({2, 4, 6, 5}, {6, 2, 3, 3}, 2, {1, 1, 1, 1}, 2, 1, 1),
      geom({1, 3, 9, 10}, {6, 1, 3, 2}, 2, {1, 0, 2, 1}, 3, 1, 3, 2),
      // 1x1 at stride 1 (its own compile-time case); a weight gradient deep enough to split K
      geom({2, 40, 9, 9}, {7, 40, 1, 1}, 1, {}),
      geom({2, 8, 20, 20}, {5, 8, 3, 3}, 1, {1, 1, 1, 1}),
      // Up to 4 input channels, the data gradient has its own kernel: the implicit GEMM's data gradient
      // again with 5 and more (strided 3x3 and 1x1, the general kernel size), and the narrow kernel
      // with 1 and 4 channels, uneven strides, dilations and padding
      geom({1, 6, 8, 7}, {5, 6, 3, 3}, 2, {0, 1, 0, 1}),
      geom({1, 8, 7, 7}, {6, 8, 1, 1}, 2, {}),
      // a strided 1x1's data gradient runs over the output pixels: with padding, unequal strides, groups
      geom({2, 6, 9, 8}, {5, 6, 1, 1}, 2, {1, 0, 0, 1}, 1, 1, 3),
      geom({1, 8, 7, 7}, {6, 4, 1, 1}, 2, {}, 2),
      geom({1, 5, 11, 8}, {3, 5, 5, 3}, 1, {3, 1, 0, 2}, 1, 2, 2, 1),
      geom({2, 1, 9, 8}, {5, 1, 3, 3}, 1, {1, 1, 1, 1}),
      geom({1, 4, 12, 11}, {6, 4, 5, 3}, 2, {2, 1, 1, 2}, 1, 2, 3, 1),
      // 100 output and 70 input channels: every pass on 128-row tiles (the cases above take 64-row ones)
      geom({1, 70, 6, 5}, {100, 70, 3, 3}, 1, {1, 1, 1, 1}),
  };
  Buf ws(1 << 17);  // split-K scratch, as the backend gives (smaller: 1 MB)
  const size_t ws_bytes = ws.size() * sizeof(double);
  for (const ConvGeom& g : cases) {
    const std::string name = describe(g);
    const int64_t nx = g.N * g.C * g.H * g.W, nw = g.O * (g.C / g.groups) * g.kh * g.kw, ny = g.N * g.O * g.Ho * g.Wo;
    const Buf x = rnd(nx, 1), w = rnd(nw, 2), dy = rnd(ny, 3), bias = rnd(g.O, 4), scale = rnd(g.O, 5);
    for (Act act : {Act::none, Act::relu, Act::relu6}) {
      const Epilogue<double> e(bias.data(), scale.data(), act);
      Buf a = out(ny), b = out(ny);
      cpu::conv2d_forward<double>(g, x.data(), w.data(), e, a.data());
      REQUIRE(cuda::conv2d_forward<double>(g, x.data(), w.data(), e, b.data(), ws.data(), ws_bytes, nullptr) ==
              cudaSuccess);
      same(name + " forward, act " + std::to_string(int(act)), b, a);
      Buf da = out(ny), db = out(ny);
      cpu::epilogue_backward<double>(e, g.N, g.O, g.Ho * g.Wo, dy.data(), a.data(), da.data());
      REQUIRE(cuda::epilogue_backward<double>(e, g.N, g.O, g.Ho * g.Wo, dy.data(), a.data(), db.data(), nullptr) ==
              cudaSuccess);
      same(name + " epilogue backward", db, da);
    }
    Buf a = out(nx), b = out(nx);
    cpu::conv2d_backward_data<double>(g, dy.data(), w.data(), a.data());
    REQUIRE(cuda::conv2d_backward_data<double>(g, dy.data(), w.data(), b.data(), ws.data(), ws_bytes, nullptr) ==
            cudaSuccess);
    same(name + " backward data", b, a);
    Buf wa = out(nw), wb = out(nw);
    cpu::conv2d_backward_weight<double>(g, x.data(), dy.data(), wa.data());
    REQUIRE(cuda::conv2d_backward_weight<double>(g, x.data(), dy.data(), wb.data(), ws.data(), ws_bytes, nullptr) ==
            cudaSuccess);
    same(name + " backward weight", wb, wa);
  }
}

TEST_CASE("cuda kernels (simulated GPU): Winograd F(2x2, 3x3) forward and data gradient match the CPU's conv") {
  const ConvGeom cases[] = {
      geom({2, 16, 9, 7}, {16, 16, 3, 3}, 1, {1, 1, 1, 1}),    // partial tiles at the bottom and right
      geom({1, 20, 8, 8}, {17, 20, 3, 3}, 1, {}),              // no padding
      geom({2, 16, 6, 11}, {24, 16, 3, 3}, 1, {2, 1, 0, 2}),   // asymmetric, up to 2
      geom({2, 16, 24, 22}, {16, 16, 3, 3}, 1, {1, 1, 1, 1}),  // 264 tiles: three chunks (130, 130, 4)
      geom({1, 16, 5, 5}, {16, 16, 3, 3}, 1, {3, 3, 3, 3}),    // padding 3: forward only
      geom({1, 512, 4, 4}, {16, 512, 3, 3}, 1, {1, 1, 1, 1}),  // 4 tiles, K 512: the GEMMs split K
  };
  for (const ConvGeom& g : cases) {
    const std::string name = describe(g);
    // room for the filters and 130 tiles: larger maps take several chunks
    Buf ws(size_t(16 * g.O * g.C + 130 * 16 * (g.C + g.O)));
    const size_t bytes = ws.size() * sizeof(double);
    REQUIRE(cuda::winograd_applicable(g, false, bytes, sizeof(double)));
    CHECK_FALSE(cuda::winograd_applicable(g, false, bytes - 16 * 16 * (g.C + g.O) * sizeof(double), sizeof(double)));
    const int64_t nx = g.N * g.C * g.H * g.W, nw = g.O * g.C * 9, ny = g.N * g.O * g.Ho * g.Wo;
    const Buf x = rnd(nx, 1), w = rnd(nw, 2), dy = rnd(ny, 3), bias = rnd(g.O, 4), scale = rnd(g.O, 5);
    for (Act act : {Act::none, Act::relu}) {
      const Epilogue<double> e(bias.data(), scale.data(), act);
      Buf a = out(ny), b = out(ny);
      cpu::conv2d_forward<double>(g, x.data(), w.data(), e, a.data());
      REQUIRE(cuda::winograd_forward<double>(g, x.data(), w.data(), e, b.data(), ws.data(), bytes, nullptr) ==
              cudaSuccess);
      same(name + " forward, act " + std::to_string(int(act)), b, a);
    }
    {  // room for 300 tiles, chunks capped at the floor of 128: 264 tiles take 3 chunks, not 1
      const int64_t tiles = g.N * ((g.Ho + 1) / 2) * ((g.Wo + 1) / 2);
      Buf big(size_t(16 * g.O * g.C + 300 * 16 * (g.C + g.O)));
      const Epilogue<double> e(bias.data(), scale.data(), Act::relu);
      Buf a = out(ny);
      cpu::conv2d_forward<double>(g, x.data(), w.data(), e, a.data());
      long launches[2];
      for (size_t cap : {0, 1}) {
        Buf b = out(ny);
        cuda::set_winograd_chunk_bytes(cap);
        const long before = cuda_sim::launches_by_stream()[0];
        const cudaError_t status = cuda::winograd_forward<double>(g, x.data(), w.data(), e, b.data(), big.data(),
                                                                  big.size() * sizeof(double), nullptr);
        launches[cap] = cuda_sim::launches_by_stream()[0] - before;
        cuda::set_winograd_chunk_bytes(0);
        REQUIRE(status == cudaSuccess);
        same(name + (cap ? " forward in chunks of at most 128 tiles" : " forward in one chunk"), b, a);
      }
      CHECK(launches[1] - launches[0] == (tiles > 128 ? 2 * 3 : 0));  // 2 more chunks of 3 launches
    }
    const bool backward = g.pt <= 2;
    CHECK(cuda::winograd_applicable(g, true, bytes, sizeof(double)) == backward);
    if (!backward) continue;
    Buf a = out(nx), b = out(nx);
    cpu::conv2d_backward_data<double>(g, dy.data(), w.data(), a.data());
    REQUIRE(cuda::winograd_backward_data<double>(g, dy.data(), w.data(), b.data(), ws.data(), bytes, nullptr) ==
            cudaSuccess);
    same(name + " backward data", b, a);
  }
  CHECK_FALSE(cuda::winograd_applicable(geom({1, 16, 8, 8}, {16, 16, 3, 3}, 2, {1, 1, 1, 1}), false, 1 << 30, 4));
  CHECK_FALSE(cuda::winograd_applicable(geom({1, 16, 8, 8}, {16, 16, 3, 3}, 1, {2, 2, 2, 2}, 1, 2), false, 1 << 30, 4));
  CHECK_FALSE(cuda::winograd_applicable(geom({1, 8, 8, 8}, {16, 8, 3, 3}, 1, {1, 1, 1, 1}), false, 1 << 30, 4));
}

TEST_CASE("cuda kernels (simulated GPU): dense GEMM with every transpose, alpha and beta") {
  // 7 rows: the tile kernel; 1, 3 and 4 (a dense layer at batch 1 to 4): the narrow kernels, with K
  // split into slices when there is a workspace and not when there is none, and more outputs than
  // the forward's warps (8 blocks of 8 on each of the simulated GPU's 132 SMs)
  const int64_t sizes[][3] = {{7, 5, 9}, {1, 37, 300}, {3, 300, 130}, {4, 9, 1000}, {2, 8500, 7}};
  Buf ws(1 << 14);
  for (const auto& [M, N, K] : sizes) {
    const Buf A = rnd(M * K, 1), B = rnd(K * N, 2), C0 = rnd(M * N, 3);
#ifdef __SANITIZE_ADDRESS__
    // Simulated threads are slow under the sanitizers: there the widest product runs each transpose
    // once (beta 0.5, a workspace); the Release passes run every combination in three thread orders.
    const bool once = N > 1000;
#else
    const bool once = false;
#endif
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 0.5})
          for (bool scratch : {false, true}) {
            if (once && (beta == 0.0 || !scratch)) continue;
            Buf a = C0, b = C0;
            cpu::gemm<double>(ta, tb, M, N, K, 2.0, A.data(), B.data(), beta, a.data());
            REQUIRE(cuda::gemm<double>(ta, tb, M, N, K, 2.0, A.data(), B.data(), beta, b.data(),
                                       scratch ? ws.data() : nullptr, scratch ? ws.size() * sizeof(double) : 0,
                                       nullptr) == cudaSuccess);
            same("gemm " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) + " ta " +
                     std::to_string(ta) + " tb " + std::to_string(tb) + " beta " + std::to_string(beta) +
                     (scratch ? " with a workspace" : ""),
                 b, a);
          }
  }
}

TEST_CASE("cuda kernels (simulated GPU): below gemm_needs_workspace()'s K, no product splits, even with a workspace") {
  // One launch, not two (the slices, then their sum), on the narrow path (1 row) and on the tile
  // engine (8 rows); at the threshold the narrow path splits: it is the smallest that can.
  Buf ws(1 << 20);
  const auto launches = [&](int64_t M, int64_t N, int64_t K) {
    const Buf A = rnd(M * K, 1), B = rnd(K * N, 2);
    Buf C = out(M * N);
    const long before = cuda_sim::stats().launches;
    REQUIRE(cuda::gemm<double>(false, false, M, N, K, 1.0, A.data(), B.data(), 0.0, C.data(), ws.data(),
                               ws.size() * sizeof(double), nullptr) == cudaSuccess);
    return cuda_sim::stats().launches - before;
  };
  const int64_t K = 128;
  REQUIRE(cuda::gemm_needs_workspace(K));
  REQUIRE_FALSE(cuda::gemm_needs_workspace(K - 1));
  CHECK(launches(1, 8, K - 1) == 1);
  CHECK(launches(8, 8, K - 1) == 1);
  CHECK(launches(1, 8, K) == 2);
}

TEST_CASE("cuda kernels (simulated GPU): pooling forward and backward") {
  const auto pg = [](int64_t k, int64_t s, Pads p, bool inc) {
    PoolGeom g;
    g.N = 2, g.C = 3, g.H = 9, g.W = 8, g.kh = g.kw = k, g.sh = g.sw = s;
    g.pt = p.top, g.pb = p.bottom, g.pl = p.left, g.pr = p.right, g.count_include_pad = inc;
    g.finish();
    return g;
  };
  for (const PoolGeom& g : {pg(2, 2, {}, false), pg(3, 2, {1, 1, 1, 1}, false), pg(3, 2, {1, 1, 1, 1}, true),
                            pg(3, 1, {1, 1, 1, 1}, false), pg(3, 2, {0, 1, 0, 1}, true), pg(2, 1, {}, false)}) {
    const std::string name = "k " + std::to_string(g.kh) + " s " + std::to_string(g.sh) + " pad " +
                             std::to_string(g.pt) + std::to_string(g.pb) + " inc " +
                             std::to_string(g.count_include_pad);
    const int64_t nx = g.N * g.C * g.H * g.W, ny = g.N * g.C * g.Ho * g.Wo;
    Buf x = rnd(nx, 1);
    for (size_t i = 0; i < x.size(); i += 7) x[i] = x[i + 1 < x.size() ? i + 1 : i];  // ties: the first must win
    const Buf dy = rnd(ny, 2);
    Buf a = out(ny), b = out(ny);
    cpu::maxpool_forward<double>(g, x.data(), a.data());
    REQUIRE(cuda::maxpool_forward<double>(g, x.data(), b.data(), nullptr) == cudaSuccess);
    same("maxpool forward " + name, b, a);
    a = out(ny), b = out(ny);
    cpu::avgpool_forward<double>(g, x.data(), a.data());
    REQUIRE(cuda::avgpool_forward<double>(g, x.data(), b.data(), nullptr) == cudaSuccess);
    same("avgpool forward " + name, b, a);
    Buf da = out(nx), db = out(nx);
    cpu::maxpool_backward<double>(g, x.data(), dy.data(), da.data());
    REQUIRE(cuda::maxpool_backward<double>(g, x.data(), dy.data(), db.data(), nullptr) == cudaSuccess);
    same("maxpool backward " + name, db, da);
    da = out(nx), db = out(nx);
    cpu::avgpool_backward<double>(g, dy.data(), da.data());
    REQUIRE(cuda::avgpool_backward<double>(g, dy.data(), db.data(), nullptr) == cudaSuccess);
    same("avgpool backward " + name, db, da);
  }
}

TEST_CASE("cuda kernels (simulated GPU): padding, channels, bilinear resize") {
  const int64_t P = 6, H = 5, W = 4;
  const Buf x = rnd(P * H * W, 1);
  {
    const int64_t n = P * (H + 3) * (W + 2);
    Buf a = out(n), b = out(n);
    cpu::pad<double>(P, H, W, 1, 2, 0, 2, 0.5, x.data(), a.data());
    REQUIRE(cuda::pad<double>(P, H, W, 1, 2, 0, 2, 0.5, x.data(), b.data(), nullptr) == cudaSuccess);
    same("pad", b, a);
    Buf da = out(P * H * W), db = out(P * H * W);
    cpu::pad_backward<double>(P, H, W, 1, 2, 0, 2, a.data(), da.data());
    REQUIRE(cuda::pad_backward<double>(P, H, W, 1, 2, 0, 2, a.data(), db.data(), nullptr) == cudaSuccess);
    same("pad backward", db, da);
  }
  {
    const int64_t N = 2, Cs = 3, S = 10, Cd = 7, off = 2;
    const Buf src = rnd(N * Cs * S, 2), dst0 = rnd(N * Cd * S, 3);
    Buf a = dst0, b = dst0;
    cpu::insert_channels<double>(N, Cs, S, src.data(), Cd, off, a.data());
    REQUIRE(cuda::insert_channels<double>(N, Cs, S, src.data(), Cd, off, b.data(), nullptr) == cudaSuccess);
    same("insert_channels", b, a);
    Buf ga = out(N * Cs * S), gb = out(N * Cs * S);
    cpu::extract_channels<double>(N, Cs, S, dst0.data(), Cd, off, ga.data());
    REQUIRE(cuda::extract_channels<double>(N, Cs, S, dst0.data(), Cd, off, gb.data(), nullptr) == cudaSuccess);
    same("extract_channels", gb, ga);
  }
  for (const auto& [Ho, Wo] : std::vector<std::pair<int64_t, int64_t>>{{224, 224}, {2, 3}, {5, 9}, {1, 1}, {5, 4}}) {
    const std::string name = "resize 5x4 -> " + std::to_string(Ho) + "x" + std::to_string(Wo);
    Buf a = out(P * Ho * Wo), b = out(P * Ho * Wo);
    cpu::resize_bilinear<double>(P, H, W, Ho, Wo, x.data(), a.data());
    REQUIRE(cuda::resize_bilinear<double>(P, H, W, Ho, Wo, x.data(), b.data(), nullptr) == cudaSuccess);
    same(name, b, a);
    const Buf dy = rnd(P * Ho * Wo, 4);
    Buf da = out(P * H * W), db = out(P * H * W);
    cpu::resize_bilinear_backward<double>(P, H, W, Ho, Wo, dy.data(), da.data());
    REQUIRE(cuda::resize_bilinear_backward<double>(P, H, W, Ho, Wo, dy.data(), db.data(), nullptr) == cudaSuccess);
    same(name + " backward", db, da);
  }
}

namespace {
// The inputs the element-wise kernel tests share: (N, C, S) = (2, 3, 20), a NaN in x[0].
struct ElementwiseData {
  static constexpr int64_t N = 2, C = 3, S = 20, n = N * C * S;
  Buf x = rnd(n, 1), y2 = rnd(n, 2), dy = rnd(n, 3), c = rnd(C, 4), c2 = rnd(C, 5);
  ElementwiseData() { x[0] = std::nan(""); }  // NaN goes where std::min / std::max send it
};

// One kernel on the CPU and on the simulated GPU, from the same initial output (init, or zeros of
// `count`); NaN in both places is a match.
void both(const std::string& what, const std::function<void(double*)>& cpu_fn,
          const std::function<cudaError_t(double*)>& gpu_fn, int64_t count, const Buf& init) {
  Buf a = init.empty() ? out(count) : init, b = a;
  cpu_fn(a.data());
  REQUIRE(gpu_fn(b.data()) == cudaSuccess);
  for (size_t i = 0; i < a.size(); ++i)
    if (std::isnan(a[i]) && std::isnan(b[i])) a[i] = b[i] = 0;
  same(what, b, a);
}
}  // namespace

TEST_CASE("cuda kernels (simulated GPU): element-wise maps, broadcasting, bias, axis reductions") {
  const ElementwiseData d;
  const auto& [x, y2, dy, c, c2] = d;
  constexpr int64_t N = ElementwiseData::N, C = ElementwiseData::C, S = ElementwiseData::S, n = ElementwiseData::n;
  for (Unary op : {Unary::relu, Unary::relu6, Unary::sigmoid, Unary::tanh, Unary::rsqrt, Unary::abs}) {
    const std::string u = "unary " + std::to_string(int(op));
    both(
        u + " forward", [&](double* o) { cpu::unary_forward<double>(op, n, x.data(), o); },
        [&](double* o) { return cuda::unary_forward<double>(op, n, x.data(), o, nullptr); }, n, {});
    both(
        u + " backward", [&](double* o) { cpu::unary_backward<double>(op, n, y2.data(), dy.data(), o); },
        [&](double* o) { return cuda::unary_backward<double>(op, n, y2.data(), dy.data(), o, nullptr); }, n, {});
  }
  for (Binary op : {Binary::add, Binary::sub, Binary::mul, Binary::div, Binary::add_relu})
    both(
        "binary " + std::to_string(int(op)), [&](double* o) { cpu::binary<double>(op, n, x.data(), y2.data(), o); },
        [&](double* o) { return cuda::binary<double>(op, n, x.data(), y2.data(), o, nullptr); }, n, {});
  both(
      "axpby", [&](double* o) { cpu::axpby<double>(n, 2.0, x.data(), -0.5, o); },
      [&](double* o) { return cuda::axpby<double>(n, 2.0, x.data(), -0.5, o, nullptr); }, n, y2);
  both(
      "affine", [&](double* o) { cpu::affine<double>(n, x.data(), 3.0, 0.25, o); },
      [&](double* o) { return cuda::affine<double>(n, x.data(), 3.0, 0.25, o, nullptr); }, n, {});
  both(
      "clamp forward", [&](double* o) { cpu::clamp_forward<double>(n, x.data(), -0.3, 0.4, o); },
      [&](double* o) { return cuda::clamp_forward<double>(n, x.data(), -0.3, 0.4, o, nullptr); }, n, {});
  both(
      "clamp backward", [&](double* o) { cpu::clamp_backward<double>(n, x.data(), -0.3, 0.4, dy.data(), o); },
      [&](double* o) { return cuda::clamp_backward<double>(n, x.data(), -0.3, 0.4, dy.data(), o, nullptr); }, n, {});
  // x_ref = x on every third element (the fallback there); with and without a and y_ref
  Buf x_ref = x;
  for (size_t i = 0; i < size_t(n); ++i) x_ref[i] += i % 3 ? 0.5 : 0.0;
  for (bool all : {true, false}) {
    const double *a = all ? dy.data() : nullptr, *y_ref = all ? x.data() : nullptr;
    both(
        all ? "secant" : "secant without a and y_ref",
        [&](double* o) { cpu::secant<double>(n, a, y2.data(), y_ref, x.data(), x_ref.data(), dy.data(), 1e-10, o); },
        [&](double* o) {
          return cuda::secant<double>(n, a, y2.data(), y_ref, x.data(), x_ref.data(), dy.data(), 1e-10, o, nullptr);
        },
        n, {});
  }
  both(
      "fill", [&](double* o) { cpu::fill<double>(n, 1.5, o); },
      [&](double* o) { return cuda::fill<double>(n, 1.5, o, nullptr); }, n, {});
  both(
      "bias_add", [&](double* o) { cpu::bias_add<double>(N, C, S, y2.data(), c.data(), o); },
      [&](double* o) { return cuda::bias_add<double>(N, C, S, y2.data(), c.data(), o, nullptr); }, n, {});
  // (outer, len, inner) = (N, C, S): a channel sum with inner > 1 (inner == 1 is a warp reduction)
  both(
      "reduce_axis", [&](double* o) { cpu::reduce_axis<double>(N, C, S, 0.5, y2.data(), o); },
      [&](double* o) { return cuda::reduce_axis<double>(N, C, S, 0.5, y2.data(), o, nullptr); }, N * S, {});
  both(
      "reduce_axis, inner 1 (block per row)",
      [&](double* o) { cpu::reduce_axis<double>(N * C, S, 1, 0.5, y2.data(), o); },
      [&](double* o) { return cuda::reduce_axis<double>(N * C, S, 1, 0.5, y2.data(), o, nullptr); }, N * C, {});
  both(
      "bias_grad", [&](double* o) { cpu::bias_grad<double>(N, C, S, y2.data(), o); },
      [&](double* o) { return cuda::bias_grad<double>(N, C, S, y2.data(), o, nullptr); }, C, {});
  both(
      "broadcast_axis", [&](double* o) { cpu::broadcast_axis<double>(N, C, S, 0.5, y2.data(), o); },
      [&](double* o) { return cuda::broadcast_axis<double>(N, C, S, 0.5, y2.data(), o, nullptr); }, n, {});
  // y (2,3,4,5) from a (2,1,4,1) and b (3,1,5): both repeated, along different axes
  const Broadcast4 g{{2, 3, 4, 5}, {4, 0, 1, 0}, {0, 5, 0, 1}};
  for (Binary op : {Binary::add, Binary::sub, Binary::mul, Binary::div, Binary::add_relu})
    both(
        "binary_broadcast " + std::to_string(int(op)),
        [&](double* o) { cpu::binary_broadcast<double>(op, g, x.data() + 1, y2.data(), o); },
        [&](double* o) { return cuda::binary_broadcast<double>(op, g, x.data() + 1, y2.data(), o, nullptr); }, 120, {});
}

TEST_CASE("cuda kernels (simulated GPU): batch norm, optimiser steps, NLL and dtype conversion") {
  const ElementwiseData d;
  const auto& [x, y2, dy, c, c2] = d;
  constexpr int64_t N = ElementwiseData::N, C = ElementwiseData::C, S = ElementwiseData::S, n = ElementwiseData::n;
  const Buf var = [&] {
    Buf v = c2;
    for (double& e : v) e = 0.5 + std::abs(e);
    return v;
  }();
  both(
      "bn_forward",
      [&](double* o) { cpu::bn_forward<double>(N, C, S, y2.data(), c.data(), var.data(), c2.data(), c.data(), o); },
      [&](double* o) {
        return cuda::bn_forward<double>(N, C, S, y2.data(), c.data(), var.data(), c2.data(), c.data(), o, nullptr);
      },
      n, {});
  both(
      "bn_backward (inference, dx only)",
      [&](double* o) {
        cpu::bn_backward<double>(N, C, S, y2.data(), dy.data(), c.data(), var.data(), c2.data(), false, o, nullptr,
                                 nullptr);
      },
      [&](double* o) {
        return cuda::bn_backward<double>(N, C, S, y2.data(), dy.data(), c.data(), var.data(), c2.data(), false, o,
                                         nullptr, nullptr, nullptr);
      },
      n, {});
  for (bool adam : {false, true}) {
    OptimStep o;
    o.adam = adam, o.lr = 0.1, o.momentum = 0.9, o.weight_decay = 0.01, o.c1 = 0.19, o.c2 = 0.002;
    Buf pa = x, ma = y2, va = var, pb = x, mb = y2, vb = var;
    pa[0] = pb[0] = 0.5;  // not the NaN
    va.resize(size_t(n), 0.25), vb.resize(size_t(n), 0.25);
    cpu::optim_step<double>(o, n, pa.data(), dy.data(), ma.data(), va.data());
    REQUIRE(cuda::optim_step<double>(o, n, pb.data(), dy.data(), mb.data(), vb.data(), nullptr) == cudaSuccess);
    same(std::string(adam ? "adam" : "sgd") + " step: parameters", pb, pa);
    same(std::string(adam ? "adam" : "sgd") + " step: first moments", mb, ma);
    same(std::string(adam ? "adam" : "sgd") + " step: second moments", vb, va);
  }
  const std::vector<int32_t> labels{2, 0, 1, 2};
  both(
      "nll_forward", [&](double* o) { o[0] = cpu::nll_forward<double>(4, 3, y2.data(), labels.data()); },
      [&](double* o) { return cuda::nll_forward<double>(4, 3, y2.data(), labels.data(), o, nullptr); }, 1, {});
  both(
      "nll_backward", [&](double* o) { cpu::nll_backward<double>(4, 3, labels.data(), 0.7, o); },
      [&](double* o) { return cuda::nll_backward<double>(4, 3, labels.data(), 0.7, o, nullptr); }, 12, {});
  std::vector<float> f(static_cast<size_t>(n));
  Buf back = out(n);
  REQUIRE(cuda::convert<double, float>(n, y2.data(), f.data(), nullptr) == cudaSuccess);
  REQUIRE(cuda::convert<float, double>(n, f.data(), back.data(), nullptr) == cudaSuccess);
  for (size_t i = 0; i < back.size(); ++i) CHECK(back[i] == double(float(y2[i])));
}
