// Launch helpers shared by the CUDA kernels (device code only; included by the .cu files).
// Every kernel function in kernels/cuda launches on the stream it is given and returns the launch's
// cudaError_t; the backend (autodiff/backend_cuda.cpp) checks it and turns it into a gt::Error.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace gt::cuda {

constexpr int kThreads = 256;

// kernel<<<grid, block, 0, stream>>>(args...), then the launch's status. A macro because
// tests/cuda_sim, the host simulator the tests run these kernels on, defines its own.
#ifndef GT_CUDA_SIM
#define GT_LAUNCH(kernel, grid, block, stream, ...) \
  (kernel<<<grid, block, 0, stream>>>(__VA_ARGS__), cudaGetLastError())
#endif

// Enough blocks of kThreads to cover n, capped: the grid-stride loops below do the rest.
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 1 ? 1 : b > (1 << 20) ? (1 << 20) : b);
}

template <class F>
__global__ void for_each_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) f(i);
}

// f(i) for every i in [0, n), one thread per index. f is a __device__ lambda.
template <class F>
cudaError_t for_each(int64_t n, cudaStream_t s, F f) {
  if (n <= 0) return cudaSuccess;
  return GT_LAUNCH(for_each_kernel, blocks_for(n), kThreads, s, n, f);
}

// The sum of v over the block (blockDim.x a multiple of 32, at most 1024), returned to every thread.
// The order of the additions depends only on the block size, so results are the same run to run.
template <class T>
__device__ T block_sum(T v) {
  __shared__ T part[32];
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // part may still be read by a previous call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  T s = lane < warps ? part[lane] : T(0);
  for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
  return s;
}

// The maximum of v over the block, likewise.
template <class T>
__device__ T block_max(T v) {
  __shared__ T part[32];
  for (int o = 16; o > 0; o /= 2) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  T s = lane < warps ? part[lane] : part[0];
  for (int o = 16; o > 0; o /= 2) s = max(s, __shfl_xor_sync(0xffffffffu, s, o));
  return s;
}

// One block per output o: out(o, sum) with the sum over the block of part(o, from, step), each
// thread taking a strided share (from = its index, step = the block's size). part and out are
// __device__ lambdas.
template <class T, class Part, class Out>
__global__ void reduce_each_kernel(int64_t outputs, Part part, Out out) {
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {  // uniform across the block
    const T sum = block_sum(part(o, int64_t(threadIdx.x), int64_t(blockDim.x)));
    if (threadIdx.x == 0) out(o, sum);
  }
}

template <class T, class Part, class Out>
cudaError_t reduce_each(int64_t outputs, cudaStream_t s, Part part, Out out) {
  if (outputs <= 0) return cudaSuccess;
  return GT_LAUNCH(reduce_each_kernel<T>, unsigned(outputs < (1 << 20) ? outputs : (1 << 20)), kThreads, s, outputs,
                   part, out);
}

}  // namespace gt::cuda
