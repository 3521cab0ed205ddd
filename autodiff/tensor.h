// Tensor: float32 (or float64, for gradient checks), up to 4-D, contiguous, shared storage.
// A Tensor is a cheap handle; copies share the same TensorImpl. Views (reshape) share Storage.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gt {

// Where storage lives (backend(Device::cuda) throws in a build without CUDA), and the element type.
enum class Device : uint8_t { cpu, cuda };
enum class DType : uint8_t { f32, f64 };
// Names for messages ("cpu", "float32"), and the bytes of one element.
const char* to_string(Device d);
const char* to_string(DType t);
size_t dtype_size(DType t);

// Returns when the device has finished the work queued on it (a GPU runs kernels asynchronously:
// timings wait for it). Immediate on the CPU.
void synchronize(Device d);

// Every error in gradtrace is a gt::Error with a message that carries its context
// (op, layer, shapes, file and dataset path where relevant).
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A request that cannot be met as asked: an option out of range, an unknown name (method, layer,
// optimizer, dataset). The caller's to fix; the CLI prints it as a usage error (exit 2).
struct InvalidArgument : Error {
  using Error::Error;
};
// The GPU could not hold a tensor (the message names the layer and the size). Callers that can work
// in smaller pieces (IG's --batch) catch it to say so.
struct OutOfDeviceMemory : Error {
  using Error::Error;
};

// Up to 4 dimensions, each >= 0 (the constructors throw otherwise). A 0-D Shape has numel() 1.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  int ndim() const { return n_; }
  // Unchecked: i must lie in [0, ndim()).
  int64_t operator[](int i) const { return d_[i]; }
  int64_t numel() const;
  std::string str() const;  // "[1,3,224,224]"
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::array<int64_t, 4> d_{};
  int n_ = 0;
};

// A block of device memory. Live bytes are counted so that tests can prove the tape does not leak.
struct Storage {
  Storage(size_t bytes, Device device, bool zeroed = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::cpu;
  // Bytes held by every Storage alive in the process.
  static int64_t live_bytes();
};

class Tensor;
struct TensorImpl;

// A default-constructed Tensor is undefined: defined() is false and shape(), data() and the like throw.
class Tensor {
 public:
  Tensor() = default;
  // empty leaves the values uninitialised; from_vector copies v (shape's numel values, else it throws)
  // and converts it to t.
  static Tensor empty(const Shape& s, DType t = DType::f32, Device d = Device::cpu);
  static Tensor zeros(const Shape& s, DType t = DType::f32, Device d = Device::cpu);
  static Tensor full(const Shape& s, double value, DType t = DType::f32, Device d = Device::cpu);
  static Tensor from_vector(const Shape& s, const std::vector<float>& v, DType t = DType::f32);
  static Tensor from_vector(const Shape& s, const std::vector<double>& v, DType t = DType::f64);
  // Uniform in [lo, hi) from a deterministic generator (std::mt19937_64 seeded with `seed`).
  static Tensor uniform(const Shape& s, double lo, double hi, uint64_t seed, DType t = DType::f32);
  static Tensor empty_like(const Tensor& x) { return empty(x.shape(), x.dtype(), x.device()); }
  static Tensor zeros_like(const Tensor& x) { return zeros(x.shape(), x.dtype(), x.device()); }

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int ndim() const { return shape().ndim(); }
  int64_t dim(int i) const { return shape()[i]; }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const;
  Device device() const;

  // Typed access to the values in host memory; throws when T does not match the dtype, and when the
  // tensor lives on a GPU, whose addresses the host cannot dereference (read it with at, to_vector or
  // to(Device::cpu)). A simulated GPU's memory is the host's, so without this check a host read of a
  // GPU tensor would pass every simulated test and crash on the first real GPU.
  template <class T>
  T* data() const;
  // The typed address on the tensor's own device, for a backend to hand to its kernels.
  template <class T>
  T* device_data() const;
  void* raw() const;  // untyped, on the tensor's own device

  bool requires_grad() const;
  // Marks a tensor as a leaf that wants a gradient (parameters, an input image) or, for a tensor that
  // was produced without a recorded history, as a new leaf from which gradients may be requested.
  Tensor& set_requires_grad(bool on);
  // Accumulated gradient of a leaf after Tape::backward (undefined when none arrived).
  Tensor grad() const;
  // Replaces the accumulated gradient (an undefined g clears it, as the optimisers do after a step).
  void set_grad(const Tensor& g) const;

  Tensor clone() const;                 // deep copy, no history
  Tensor detach() const;                // shares storage, no history
  Tensor to(DType t) const;             // converting copy (or *this when t matches)
  Tensor to(Device d) const;            // copy to another device (or *this when d matches), no history
  Tensor view(const Shape& s) const;    // same storage, new shape (no history; see ops::reshape)
  double item() const;                  // value of a one-element tensor
  double at(int64_t flat_index) const;  // one element, as double
  // The values as a new vector (converted to float or double), copied from the device if need be.
  std::vector<float> to_vector() const;
  std::vector<double> to_vector_f64() const;
  bool all_finite() const;  // no NaN and no Inf

  // The shared state behind the handle; same() is true when both handles share it.
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  static Tensor allocate(const Shape& s, DType t, Device d, bool zeroed);
  std::shared_ptr<TensorImpl> impl_;
  friend struct TensorImpl;
};

// The state all copies of one handle share: storage (shared further by views), shape, dtype and the
// autograd fields (grad: accumulated by Tape::backward).
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::f32;
  bool requires_grad = false;
  Tensor grad;
  // Position on a tape: valid while tape_epoch matches the tape's epoch (see Tape).
  uint64_t tape_epoch = 0;
  int slot = -1;
};

template <class T>
T* Tensor::device_data() const {
  constexpr DType want = sizeof(T) == 4 ? DType::f32 : DType::f64;
  if (!impl_) throw Error("data(): undefined tensor");
  if (impl_->dtype != want)
    throw Error(std::string("data(): tensor is ") + to_string(impl_->dtype) + ", asked for " + to_string(want));
  return static_cast<T*>(impl_->storage->data);
}

template <class T>
T* Tensor::data() const {
  T* p = device_data<T>();
  if (impl_->storage->device != Device::cpu)
    throw Error(std::string("data(): the tensor ") + impl_->shape.str() + " is on " +
                to_string(impl_->storage->device) +
                ", not in host memory: read it with at(), to_vector() or to(Device::cpu)");
  return p;
}

}  // namespace gt
