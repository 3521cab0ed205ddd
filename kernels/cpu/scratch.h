// Uninitialised scratch buffers for the CPU kernels, and the fence after streaming into them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace gt::cpu {

// n values left uninitialised, for a buffer that is written before it is read: std::vector<T>(n)
// writes n zeros first (the strip GEMM's 512 KB of packing space per thread and call, and the
// patch and product buffers of the convolutions, cost ResNet50 1.4% of its forward in memset).
// data() is 64-byte aligned (a cache line: whole lines can be streamed into it). The alignment is
// taken from a plain allocation 64 bytes longer: glibc's aligned operator new kept VGG16's saliency
// at 21 MB more peak memory.
template <class T>
class Scratch {
  static_assert(std::is_trivially_default_constructible_v<T>);
  static constexpr size_t kAlign = 64;

 public:
  explicit Scratch(size_t n) : raw_(new T[n + kAlign / sizeof(T)]) {
    const auto at = reinterpret_cast<uintptr_t>(raw_.get());
    data_ = reinterpret_cast<T*>((at + kAlign - 1) / kAlign * kAlign);
  }
  T* data() const { return data_; }

 private:
  std::unique_ptr<T[]> raw_;
  T* data_;
};

// Orders streaming (non-temporal) stores, which are weakly ordered, before the stores that follow:
// a thread that streamed into scratch calls it before the barrier after which others read.
inline void store_fence() {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

}  // namespace gt::cpu
