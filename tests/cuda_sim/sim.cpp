// The simulated GPU (tests/cuda_sim/cuda_runtime.h): the CUDA runtime calls gradtrace makes, and a
// scheduler that runs a kernel's threads as fibers, one block at a time.
#undef _FORTIFY_SOURCE  // its longjmp check refuses a jump to another stack
#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "cuda_runtime.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define GT_SIM_ASAN 1
#endif

dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace gt::cuda_sim {
namespace {

cudaError_t last_error = cudaSuccess;

cudaError_t fail(cudaError_t e) {
  last_error = e;
  return e;
}

// ---- the block scheduler ----
//
// A fiber is a stack with a saved position (jmp_buf). It runs simulated threads one after another:
// body, then back to the scheduler, which later resumes it with the next block's thread. So fibers
// are made once (makecontext), and every switch is an _setjmp/_longjmp pair: no system call, unlike
// swapcontext, which saves the signal mask. Thread t of a block always runs on fiber t.

#ifdef GT_SIM_ASAN
constexpr size_t kStack = 256 << 10;  // the sanitizer's redzones make frames larger
#else
constexpr size_t kStack = 64 << 10;
#endif

struct Barrier {
  int arrived = 0;
  uint64_t generation = 0;
};

struct Thread {
  const Barrier* waits_at = nullptr;  // until that barrier's generation moves past wait_generation
  uint64_t wait_generation = 0;
  bool done = false;
  unsigned char slot[8];  // what the thread offers in a warp shuffle
};

struct Fiber {
  std::unique_ptr<char[]> stack{new char[kStack]};
  jmp_buf at;
  bool started = false;  // false: no position yet (new, or its last thread was abandoned)
#ifdef GT_SIM_ASAN
  void* fake_stack = nullptr;
#endif
};

struct Block {
  std::vector<Thread> threads;
  std::vector<Barrier> warp_barrier;
  std::vector<int> warp_live;
  Barrier block_barrier;
  int live = 0, current = 0;
  bool broken = false;  // a thread finished while others waited at a barrier
  void (*body)(void*) = nullptr;
  void* arg = nullptr;
};

Block block;
// Each OS thread that runs kernels (a stream is drained by whichever thread waits for it) has its own
// fibers and scheduler: a fiber waits between blocks on the stack of the thread that ran it.
thread_local std::vector<std::unique_ptr<Fiber>> fibers;
thread_local jmp_buf scheduler_at;
#ifdef GT_SIM_ASAN
thread_local void* scheduler_fake_stack = nullptr;
thread_local const void* scheduler_bottom = nullptr;
thread_local size_t scheduler_size = 0;
#endif

Thread& self() { return block.threads[size_t(block.current)]; }
int warp_of(int t) { return t / 32; }

// From the running fiber to the scheduler; returns when the scheduler resumes this fiber.
void yield() {
  Fiber& f = *fibers[size_t(block.current)];
#ifdef GT_SIM_ASAN
  __sanitizer_start_switch_fiber(&f.fake_stack, scheduler_bottom, scheduler_size);
#endif
  if (!_setjmp(f.at)) _longjmp(scheduler_at, 1);
#ifdef GT_SIM_ASAN
  __sanitizer_finish_switch_fiber(f.fake_stack, nullptr, nullptr);
#endif
}

// A fiber's whole life: one simulated thread after another.
void fiber_main() {
#ifdef GT_SIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &scheduler_bottom, &scheduler_size);
#endif
  for (;;) {
    block.body(block.arg);
    self().done = true;
    --block.live;
    --block.warp_live[size_t(warp_of(block.current))];
    if (block.block_barrier.arrived > 0 || block.warp_barrier[size_t(warp_of(block.current))].arrived > 0)
      block.broken = true;
    yield();
  }
}

// From the scheduler to fiber t, until it yields.
void resume(int t) {
  Fiber& f = *fibers[size_t(t)];
#ifdef GT_SIM_ASAN
  __sanitizer_start_switch_fiber(&scheduler_fake_stack, f.stack.get(), kStack);
#endif
  if (!_setjmp(scheduler_at)) {
    if (f.started) _longjmp(f.at, 1);
    f.started = true;
    ucontext_t start;
    getcontext(&start);
    start.uc_stack.ss_sp = f.stack.get();
    start.uc_stack.ss_size = kStack;
    start.uc_link = nullptr;
    makecontext(&start, fiber_main, 0);
    setcontext(&start);
  }
#ifdef GT_SIM_ASAN
  __sanitizer_finish_switch_fiber(scheduler_fake_stack, nullptr, nullptr);
#endif
}

// Arrives at b, which releases when `expected` threads have arrived; waits unless it was the last.
void arrive(Barrier& b, int expected) {
  if (++b.arrived >= expected) {
    b.arrived = 0;
    ++b.generation;
    return;
  }
  self().waits_at = &b;
  self().wait_generation = b.generation;
  yield();
}

// The order in which a block's runnable threads are resumed (GT_CUDA_SIM_SCHEDULE):
//   - by default each in turn, thread 0 first: it finds a read that overtakes the write of a higher
//     thread before a missing barrier;
//   - reversed: each in turn, the last thread first: the same for the write of a lower thread (thread
//     0 computes a value that the block reads, say);
//   - skewed: always the lowest one, so that warp 0 races as far ahead as the barriers let it while
//     the others have not started: it finds a shared array overwritten before every warp has read it.
enum class Schedule { in_order, reversed, skewed };
Schedule schedule() {
  static const Schedule s = [] {
    const char* v = std::getenv("GT_CUDA_SIM_SCHEDULE");
    const std::string name = v ? v : "";
    return name == "skewed" ? Schedule::skewed : name == "reversed" ? Schedule::reversed : Schedule::in_order;
  }();
  return s;
}

bool runnable(const Thread& t) { return !t.done && (!t.waits_at || t.waits_at->generation != t.wait_generation); }

// Runs one block: every thread as far as it can go, in order, until all have finished.
cudaError_t run_block(int n) {
  while (fibers.size() < size_t(n)) fibers.push_back(std::make_unique<Fiber>());
  block.threads.assign(size_t(n), Thread{});
  block.warp_barrier.assign(size_t((n + 31) / 32), Barrier{});
  block.warp_live.assign(block.warp_barrier.size(), 0);
  for (int t = 0; t < n; ++t) ++block.warp_live[size_t(warp_of(t))];
  block.block_barrier = Barrier{};
  block.live = n;
  block.broken = false;
  const auto run = [&](int t) {
    block.threads[size_t(t)].waits_at = nullptr;
    block.current = t;
    threadIdx =
        dim3(unsigned(t) % blockDim.x, unsigned(t) / blockDim.x % blockDim.y, unsigned(t) / (blockDim.x * blockDim.y));
    resume(t);
  };
  int lo = 0;  // every thread below lo has finished
  while (block.live > 0) {
    bool progress = false;
    if (schedule() == Schedule::skewed) {  // the lowest runnable thread: it runs ahead through every barrier it can
      while (lo < n && block.threads[size_t(lo)].done) ++lo;
      for (int t = lo; t < n && !progress; ++t)
        if (runnable(block.threads[size_t(t)])) run(t), progress = true;
    } else {  // each runnable thread in turn, as far as it goes
      const bool down = schedule() == Schedule::reversed;
      for (int i = 0; i < n; ++i)
        if (const int t = down ? n - 1 - i : i; runnable(block.threads[size_t(t)])) run(t), progress = true;
    }
    const char* why = block.broken ? "a thread finished while others waited at a barrier"
                      : !progress  ? "deadlock: threads wait at different barriers"
                                   : nullptr;
    if (why) {
      std::fprintf(stderr, "cuda_sim: block (%u, %u, %u): %s\n", blockIdx.x, blockIdx.y, blockIdx.z, why);
      for (int t = 0; t < n; ++t)  // the threads stopped halfway are abandoned: their fibers start afresh
        if (!block.threads[size_t(t)].done) fibers[size_t(t)]->started = false;
      return cudaErrorLaunchFailure;
    }
  }
  return cudaSuccess;
}

// ---- counts: GT_CUDA_SIM_STATS=1 prints them at exit ----
// What a real GPU would pay for in host time: a launch costs microseconds, a synchronisation stalls
// the host until the queue drains, a copy crosses PCIe. Counting them finds round trips (a download
// in a loop, a sync per step) without a GPU.
struct Counts {
  std::vector<long> launches = std::vector<long>(1, 0);  // per stream id; 0 is the null stream
  long syncs = 0, to_device = 0, to_host = 0, mallocs = 0;
  double bytes_to_device = 0, bytes_to_host = 0;
  ~Counts() {
    const char* v = std::getenv("GT_CUDA_SIM_STATS");
    if (!v || std::string(v) != "1") return;
    std::fprintf(stderr,
                 "cuda_sim: %ld launches, %ld synchronisations, %ld copies to the device (%.1f MB), %ld to the host "
                 "(%.1f MB), %ld cudaMalloc\n",
                 std::accumulate(launches.begin(), launches.end(), 0L), syncs, to_device, bytes_to_device / 1e6,
                 to_host, bytes_to_host / 1e6, mallocs);
  }
};
Counts counts;

// ---- memory ----

// The simulated device's memory: 16 GB, or GT_CUDA_SIM_MEMORY_MB megabytes (a small GPU, to reach
// the out-of-memory paths with small models).
size_t capacity() {
  static const size_t c = [] {
    const char* v = std::getenv("GT_CUDA_SIM_MEMORY_MB");
    return v && std::atoll(v) > 0 ? size_t(std::atoll(v)) << 20 : size_t(16) << 30;
  }();
  return c;
}
std::map<void*, size_t> allocations;
size_t held = 0;

// ---- streams ----
// Every entry point locks mu: the backend may be called from several threads, and the scheduler's
// state is global. A created stream's work waits in its queue until something needs it done.
std::recursive_mutex mu;

}  // namespace
}  // namespace gt::cuda_sim

struct SimStream {
  int id;
  std::deque<std::function<cudaError_t()>> queue;
  uint64_t queued = 0, done = 0;  // work items ever queued, and ever run
};
struct SimEvent {
  SimStream* stream = nullptr;  // null: recorded on the null stream, which is always done
  uint64_t at = 0;              // the stream's work before the record
};

namespace gt::cuda_sim {
namespace {

std::vector<SimStream*> streams;  // the live ones

void enqueue(SimStream* s, std::function<cudaError_t()> work) {
  s->queue.push_back(std::move(work));
  ++s->queued;
}

// Runs s's queued work until `until` items have run; a failure is returned (and left as the
// last error), as a real GPU reports a kernel's fault at the next synchronisation.
cudaError_t drain(SimStream* s, uint64_t until = UINT64_MAX) {
  cudaError_t first = cudaSuccess;
  while (!s->queue.empty() && s->done < until) {
    const std::function<cudaError_t()> work = std::move(s->queue.front());
    s->queue.pop_front();
    ++s->done;
    if (const cudaError_t e = work(); e != cudaSuccess && first == cudaSuccess) first = e;
  }
  return first == cudaSuccess ? cudaSuccess : fail(first);
}

cudaError_t drain_all() {
  cudaError_t first = cudaSuccess;
  for (SimStream* s : streams)
    if (const cudaError_t e = drain(s); e != cudaSuccess && first == cudaSuccess) first = e;
  return first;
}

// Runs a kernel: every block in turn, each as fibers.
cudaError_t run_grid(dim3 grid, dim3 blk, const std::function<void()>& kernel) {
  static bool running = false;
  if (running) {
    std::fprintf(stderr, "cuda_sim: a kernel launched from inside a kernel\n");
    std::abort();
  }
  running = true;
  block.body = [](void* k) { (*static_cast<const std::function<void()>*>(k))(); };
  block.arg = const_cast<std::function<void()>*>(&kernel);
  blockDim = blk, gridDim = grid;
  const int threads = int(blk.x * blk.y * blk.z);
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        blockIdx = dim3(x, y, z);
        if (cudaError_t e = run_block(threads); e != cudaSuccess) return running = false, fail(e);
      }
  running = false;
  return cudaSuccess;
}

}  // namespace

cudaError_t launch(dim3 grid, dim3 blk, cudaStream_t s, std::function<void()> kernel) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  const uint64_t threads = uint64_t(blk.x) * blk.y * blk.z;
  if (threads == 0 || threads > 1024 || blk.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
      grid.z > 65535 || grid.x > 0x7fffffffu)
    return fail(cudaErrorInvalidConfiguration);
  ++counts.launches[s ? size_t(s->id) : 0];
  if (!s) return run_grid(grid, blk, kernel);
  enqueue(s, [grid, blk, kernel = std::move(kernel)] { return run_grid(grid, blk, kernel); });
  return cudaSuccess;
}

std::vector<long> launches_by_stream() {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  return counts.launches;
}
Stats stats() {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  return {std::accumulate(counts.launches.begin(), counts.launches.end(), 0L), counts.syncs, counts.to_device,
          counts.to_host, counts.mallocs};
}

void sync_block() { arrive(block.block_barrier, block.live); }
void sync_warp() {
  const size_t w = size_t(warp_of(block.current));
  arrive(block.warp_barrier[w], block.warp_live[w]);
}
unsigned char* lane_slot() { return self().slot; }
const unsigned char* lane_slot(int lane) {
  const int t = warp_of(block.current) * 32 + lane;
  if (lane < 0 || lane >= 32 || t >= int(block.threads.size()) || block.threads[size_t(t)].done) return nullptr;
  return block.threads[size_t(t)].slot;
}

}  // namespace gt::cuda_sim

using namespace gt::cuda_sim;

cudaError_t cudaGetLastError() {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
  }
  return "unknown error";
}

cudaError_t cudaGetDeviceCount(int* n) { return *n = 1, cudaSuccess; }
cudaError_t cudaGetDevice(int* dev) { return *dev = 0, cudaSuccess; }
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  if (a != cudaDevAttrMultiProcessorCount) return fail(cudaErrorInvalidValue);
  return *v = 132, cudaSuccess;  // an H100's or H200's: split-K decides as it would there
}
cudaError_t cudaRuntimeGetVersion(int* v) { return *v = 13000, cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  *s = new SimStream{int(counts.launches.size()), {}};
  counts.launches.push_back(0);
  streams.push_back(*s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  ++counts.syncs;
  return s ? drain(s) : cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {  // its queued work still runs, as on a GPU
  const std::lock_guard<std::recursive_mutex> lock(mu);
  if (!s) return fail(cudaErrorInvalidValue);
  const cudaError_t e = drain(s);
  streams.erase(std::find(streams.begin(), streams.end(), s));
  delete s;
  return e;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return *e = new SimEvent, cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t e) { return delete e, cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  e->stream = s, e->at = s ? s->queued : 0;
  return cudaSuccess;
}
// The waiting stream's later work must come after the event's: that work runs now (earlier than
// a GPU might, which no correct program can tell apart).
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t e, unsigned) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  const bool live = std::find(streams.begin(), streams.end(), e->stream) != streams.end();
  return live ? drain(e->stream, e->at) : cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  ++counts.syncs;
  return drain_all();
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  *p = nullptr;
  if (bytes > capacity() - held) return fail(cudaErrorMemoryAllocation);
  ++counts.mallocs;
  void* q = std::malloc(bytes ? bytes : 1);
  if (!q) return fail(cudaErrorMemoryAllocation);
  allocations[q] = bytes;
  held += bytes;
  *p = q;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {  // waits for the whole device first, as a real cudaFree does
  const std::lock_guard<std::recursive_mutex> lock(mu);
  if (const cudaError_t e = drain_all(); e != cudaSuccess) return e;
  if (!p) return cudaSuccess;
  const auto it = allocations.find(p);
  if (it == allocations.end()) return fail(cudaErrorInvalidValue);
  held -= it->second;
  allocations.erase(it);
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  *free = capacity() - held, *total = capacity();
  return cudaSuccess;
}

// A copy from the host takes its bytes now (the caller may reuse the buffer once the call returns);
// the rest happens in the stream's order.
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  if (kind == cudaMemcpyHostToDevice) ++counts.to_device, counts.bytes_to_device += double(bytes);
  if (kind == cudaMemcpyDeviceToHost) ++counts.to_host, counts.bytes_to_host += double(bytes);
  if (!bytes) return cudaSuccess;
  if (!s) return std::memcpy(dst, src, bytes), cudaSuccess;
  if (kind == cudaMemcpyHostToDevice) {
    auto from = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                             static_cast<const unsigned char*>(src) + bytes);
    enqueue(s, [=] { return std::memcpy(dst, from->data(), bytes), cudaSuccess; });
  } else {
    enqueue(s, [=] { return std::memcpy(dst, src, bytes), cudaSuccess; });
  }
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s) {
  const std::lock_guard<std::recursive_mutex> lock(mu);
  if (!bytes) return cudaSuccess;
  if (!s) return std::memset(p, value, bytes), cudaSuccess;
  enqueue(s, [=] { return std::memset(p, value, bytes), cudaSuccess; });
  return cudaSuccess;
}
