// Uninitialised scratch buffers for the CPU kernels.
#pragma once
#include <cstddef>
#include <memory>

namespace gt::cpu {

// n values left uninitialised, for a buffer that is written before it is read: std::vector<T>(n)
// writes n zeros first (the strip GEMM's 512 KB of packing space per thread and call, and the
// patch and product buffers of the convolutions, cost ResNet50 1.4% of its forward in memset).
template <class T>
class Scratch {
 public:
  explicit Scratch(size_t n) : p_(new T[n]) {}
  T* data() const { return p_.get(); }

 private:
  std::unique_ptr<T[]> p_;
};

}  // namespace gt::cpu
