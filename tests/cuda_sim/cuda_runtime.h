// A GPU simulated on the host, for testing gradtrace's CUDA code on machines without one (and
// without nvcc): this header stands in for <cuda_runtime.h> when kernels/cuda/*.cu and
// autodiff/backend_cuda.cpp are compiled as plain C++ (tests/CMakeLists.txt, target
// gradtrace_core_cudasim). The kernels run unchanged:
//   - a launch runs its blocks one after another; each of a block's threads is a fiber
//     (tests/cuda_sim/sim.cpp) with its own threadIdx, running until it finishes or waits;
//   - __shared__ is one static array, shared by the block's fibers;
//   - __syncthreads() waits until every live thread of the block has arrived, and a warp shuffle
//     until every live lane of the warp has. Threads run in order, each as far as it can go (thread 0
//     first), so a missing barrier shows up as a wrong result: a reader overtakes a writer. With
//     GT_CUDA_SIM_SCHEDULE=reversed, the last thread goes first (a reader of thread 0's value
//     overtakes it); with skewed, the lowest runnable thread always goes first, so warp 0 runs
//     ahead of the rest: a writer overtakes a reader. Threads that wait at different barriers, or
//     finish while others wait, are an error, not a hang;
//   - "device memory" is host memory (so AddressSanitizer sees a kernel's out-of-bounds access),
//     with a capacity (16 GB, or GT_CUDA_SIM_MEMORY_MB): a larger allocation fails as cudaMalloc does;
//   - the null stream (the kernel tests') runs each call before it returns. A created stream is a
//     queue that runs only when something waits for it: a synchronisation, an event waited on,
//     cudaFree or the stream's destruction. So work that another stream reads without an event in
//     between has not happened yet, and a missing wait shows up as a wrong result;
//   - GT_CUDA_SIM_STATS=1 prints, at exit, the launches, synchronisations, copies and cudaMallocs:
//     what costs host time on a real GPU, so round trips show up without one.
// Not simulated: true parallelism, so data races between threads of the same barrier phase beyond
// the order above, and float rounding of the GPU's own math functions.
#pragma once
#include <math.h>  // exp, log, fma, ... in the global namespace, with the float overloads, as CUDA has them

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#define GT_CUDA_SIM 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInsufficientDriver = 35,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaEventDisableTiming = 2;
using cudaStream_t = struct SimStream*;
using cudaEvent_t = struct SimEvent*;

cudaError_t cudaGetLastError();
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetDevice(int* dev);
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int dev);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemGetInfo(size_t* free, size_t* total);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s);

// The running thread's coordinates (set by the scheduler before it resumes a fiber).
extern dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace gt::cuda_sim {

// Queues kernel(), a call of the kernel with its arguments bound, to run as every thread of every
// block of the grid (at once on the null stream).
cudaError_t launch(dim3 grid, dim3 block, cudaStream_t s, std::function<void()> kernel);
// Launches queued on each stream so far, in the order the streams were created (0: the null stream).
std::vector<long> launches_by_stream();
// What a real GPU would pay for in host time, counted so far (GT_CUDA_SIM_STATS=1 prints it at exit).
struct Stats {
  long launches, syncs, to_device, to_host, mallocs;  // syncs: of a stream or of the device
};
Stats stats();

void sync_block();
void sync_warp();
unsigned char* lane_slot();                // this thread's 8-byte exchange slot
const unsigned char* lane_slot(int lane);  // another lane's of the same warp (nullptr: none)

}  // namespace gt::cuda_sim

#define GT_LAUNCH(kernel, grid, block, stream, ...) \
  ::gt::cuda_sim::launch(grid, block, stream, [=] { kernel(__VA_ARGS__); })

inline void __syncthreads() { gt::cuda_sim::sync_block(); }

// Every lane publishes v, waits for the warp, reads lane ^ mask's, and waits again (so that no lane
// overwrites its slot before the others have read it).
template <class T>
T __shfl_xor_sync(unsigned, T v, int lane_mask) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
  std::memcpy(gt::cuda_sim::lane_slot(), &v, sizeof(T));
  gt::cuda_sim::sync_warp();
  T r = v;
  if (const unsigned char* p = gt::cuda_sim::lane_slot(int(threadIdx.x % 32) ^ lane_mask))
    std::memcpy(&r, p, sizeof(T));
  gt::cuda_sim::sync_warp();
  return r;
}

// The high half of the double-width product (one instruction on the GPU in 32 bits).
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((uint64_t(a) * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}

// CUDA's device min/max: for floating point, fmin/fmax (a NaN loses to a number).
template <class T>
T max(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return fmax(a, b);
  return a < b ? b : a;
}
template <class T>
T min(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return fmin(a, b);
  return b < a ? b : a;
}
