// The CUDA backend's memory and streams (internal to autodiff/backend_cuda.cpp): checked CUDA calls,
// the caching allocator (see backend_cuda.cpp's header comment) and a stream with its workspace.
#pragma once
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "autodiff/backend.h"
#include "autodiff/tape.h"

namespace gt::cuda_backend_detail {

inline std::string mb(double bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MB", bytes / 1e6);
  return s;
}

// Throws for a failed CUDA call, after clearing the (non-sticky) error it left.
inline void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();
  throw Error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

// Reports a failed CUDA call where nothing may throw (a destructor), and clears the error.
inline void warn(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();
  std::fprintf(stderr, "gradtrace: warning: CUDA error in %s: %s\n", what, cudaGetErrorString(e));
}

class Cache {
 public:
  // A block of at least `bytes` for work on stream s.
  void* get(size_t bytes, cudaStream_t s) {
    const size_t want = round(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    if (void* p = take(s, want, s)) return p;
    // One that another stream freed: the tape's saved activations, say, are allocated on a model's
    // stream and freed on the caller's when the tape is reset. Without this, every pass would
    // cudaMalloc them anew, and the caller's list would grow until the device is full.
    for (auto& [from, list] : free_)
      if (from != s)
        if (void* p = take(from, want, s)) return p;
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, want);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_locked();
      e = cudaMalloc(&p, want);
    }
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total = 0;
      if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) cudaGetLastError();  // the message then says 0 free
      const std::string& layer = NameScope::current();
      throw OutOfDeviceMemory("out of GPU memory" + (layer.empty() ? std::string() : " in layer " + layer) + ": " +
                              mb(double(want)) + " requested, " + mb(double(held_)) + " held by gradtrace, " +
                              mb(double(free_bytes)) + " free of " + mb(double(total)));
    }
    check(e, "cudaMalloc");
    size_[p] = want;
    held_ += want;
    return p;
  }
  // p is free for the work queued on s from now on.
  void put(void* p, cudaStream_t s) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = size_.find(p);
    if (it == size_.end()) return;
    Free& f = free_[s];
    f.blocks.emplace(it->second, Block{p, ++f.frees});
  }
  // Stream `from` has finished all its work (and will queue no more): its free blocks go to `to`,
  // free for any stream at once.
  void adopt(cudaStream_t from, cudaStream_t to) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = free_.find(from);
    if (it != free_.end()) {
      for (auto& [bytes, b] : it->second.blocks) free_[to].blocks.emplace(bytes, Block{b.p, 0});
      if (it->second.mark) warn(cudaEventDestroy(it->second.mark), "cudaEventDestroy");
      free_.erase(it);
    }
    for (auto& [s, f] : free_) f.waited.erase(from);  // a new stream may get its handle
  }

 private:
  struct Block {
    void* p;
    uint64_t freed;  // its number among the frees on its list's stream; 0: free for any stream
  };
  struct Free {
    std::multimap<size_t, Block> blocks;  // by size
    uint64_t frees = 0;                   // blocks put on this list so far
    // A stream that has waited for this one's queue, and the frees that wait covers.
    std::map<cudaStream_t, uint64_t> waited;
    cudaEvent_t mark = nullptr;  // marks this stream's queue for those waits
  };

  // The smallest block freed on stream `from` that holds `want` bytes, if it wastes at most a quarter
  // of itself, for work on s. A block freed on another stream may still be read by the work queued
  // there before its free, so s waits for that work first: one event for all the blocks freed there
  // so far, and none for the next ones taken from there if they were freed before it.
  void* take(cudaStream_t from, size_t want, cudaStream_t s) {
    Free& f = free_[from];
    const auto it = f.blocks.lower_bound(want);
    if (it == f.blocks.end() || it->first > want + want / 4) return nullptr;
    if (from != s && it->second.freed > f.waited[s]) {
      if (!f.mark) check(cudaEventCreateWithFlags(&f.mark, cudaEventDisableTiming), "cudaEventCreateWithFlags");
      check(cudaEventRecord(f.mark, from), "cudaEventRecord (a cached block changes streams)");
      check(cudaStreamWaitEvent(s, f.mark, 0), "cudaStreamWaitEvent (a cached block changes streams)");
      f.waited[s] = f.frees;
    }
    void* p = it->second.p;
    f.blocks.erase(it);
    return p;
  }
  // 512-byte steps below 1 MB, 1 MB steps above: the sizes of one pass repeat exactly in the next.
  static size_t round(size_t n) {
    const size_t step = n < (1u << 20) ? 512 : (1u << 20);
    return std::max<size_t>(step, (n + step - 1) / step * step);
  }
  void release_locked() {
    // every stream may still use a cached block: its owner died, not its kernels
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before releasing cached GPU memory)");
    for (auto& [stream, f] : free_) {
      for (auto& [bytes, b] : f.blocks) {
        check(cudaFree(b.p), "cudaFree");
        size_.erase(b.p);
        held_ -= bytes;
      }
      f.blocks.clear();
    }
  }
  std::mutex mu_;
  std::map<cudaStream_t, Free> free_;  // per stream
  std::unordered_map<void*, size_t> size_;
  size_t held_ = 0;  // bytes taken from cudaMalloc and not yet freed
};

// Scratch for the GEMM kernels' split-K and the Winograd transforms (a chunk of tiles at a time).
constexpr size_t kWorkspace = size_t(256) << 20;

// A stream, the event that marks how far its work has been queued (for StreamScope's switches),
// and the workspace of the kernels on it: two streams running at once must not share one.
class CudaStream final : public Stream {
 public:
  // default_stream: the backend's, which `nullptr` stands for in order(); none for that stream itself.
  CudaStream(Cache& cache, const CudaStream* default_stream) : cache_(cache), default_(default_stream) {
    check(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    check(cudaEventCreateWithFlags(&mark_, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  }
  ~CudaStream() override {
    // Its queued work may still read the blocks freed on it: that work finishes first.
    warn(cudaStreamSynchronize(s_), "cudaStreamSynchronize (a model's stream, as the model goes)");
    if (workspace_) cache_.put(workspace_, s_);
    if (default_) cache_.adopt(s_, default_->s_);
    warn(cudaEventDestroy(mark_), "cudaEventDestroy");
    warn(cudaStreamDestroy(s_), "cudaStreamDestroy");
  }
  void order(const Stream* from, const Stream* to) const override {
    const CudaStream& f = of(from);
    check(cudaEventRecord(f.mark_, f.s_), "cudaEventRecord");
    check(cudaStreamWaitEvent(of(to).s_, f.mark_, 0), "cudaStreamWaitEvent");
  }
  cudaStream_t get() const { return s_; }
  void* workspace() {  // taken from the cache once and kept (threads share the default stream)
    std::lock_guard<std::mutex> lock(mu_);
    if (!workspace_) try {
        workspace_ = cache_.get(kWorkspace, s_);
      } catch (const OutOfDeviceMemory& e) {  // not an OutOfDeviceMemory: a smaller batch would not help
        throw Error(std::string(e.what()) + ", for the kernels' workspace (" + mb(double(kWorkspace)) +
                    " per stream, whatever the batch)");
      }
    return workspace_;
  }

 private:
  const CudaStream& of(const Stream* s) const {
    return s ? static_cast<const CudaStream&>(*s) : default_ ? *default_ : *this;
  }
  Cache& cache_;
  const CudaStream* default_;
  cudaStream_t s_ = nullptr;
  cudaEvent_t mark_ = nullptr;
  std::mutex mu_;
  void* workspace_ = nullptr;
};

}  // namespace gt::cuda_backend_detail
