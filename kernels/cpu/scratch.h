// Uninitialised scratch buffers for the CPU kernels.
#pragma once
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace gt::cpu {

// n values left uninitialised, for a buffer that is written before it is read: std::vector<T>(n)
// writes n zeros first (the strip GEMM's 512 KB of packing space per thread and call, and the
// patch and product buffers of the convolutions, cost ResNet50 1.4% of its forward in memset).
// The start is 64-byte aligned (a cache line: whole lines can be streamed into it).
template <class T>
class Scratch {
  static_assert(std::is_trivially_default_constructible_v<T>);
  static constexpr std::align_val_t kAlign{64};
  struct Free {
    void operator()(T* p) const { ::operator delete[](p, kAlign); }
  };

 public:
  explicit Scratch(size_t n) : p_(static_cast<T*>(::operator new[](n * sizeof(T), kAlign))) {}
  T* data() const { return p_.get(); }

 private:
  std::unique_ptr<T, Free> p_;
};

}  // namespace gt::cpu
