#include "autodiff/tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>

#include "autodiff/backend.h"

namespace gt {

const char* to_string(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }
const char* to_string(DType t) { return t == DType::f32 ? "float32" : "float64"; }
size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }

void synchronize(Device d) { backend(d).synchronize(); }

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  if (dims.size() > 4) throw Error("Shape: at most 4 dimensions, got " + std::to_string(dims.size()));
  n_ = static_cast<int>(dims.size());
  for (int i = 0; i < n_; ++i) {
    if (dims[i] < 0) throw Error("Shape: negative dimension " + std::to_string(dims[i]));
    d_[i] = dims[i];
  }
}

int64_t Shape::numel() const {
  // A zero anywhere first: [6e18, 3, 0] is empty, and its other dimensions' product would overflow.
  for (int i = 0; i < n_; ++i)
    if (d_[i] == 0) return 0;
  int64_t n = 1;
  for (int i = 0; i < n_; ++i) n *= d_[i];
  return n;
}

std::string Shape::str() const {
  std::ostringstream s;
  s << '[';
  for (int i = 0; i < n_; ++i) s << (i ? "," : "") << d_[i];
  s << ']';
  return s.str();
}

bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}

static std::atomic<int64_t> g_live_bytes{0};

Storage::Storage(size_t n, Device d, bool zeroed) : bytes(n), device(d) {
  data = zeroed ? backend(d).allocate_zeroed(n) : backend(d).allocate(n);
  g_live_bytes += static_cast<int64_t>(n);
}

Storage::~Storage() {
  backend(device).deallocate(data);
  g_live_bytes -= static_cast<int64_t>(bytes);
}

int64_t Storage::live_bytes() { return g_live_bytes.load(); }

Tensor Tensor::allocate(const Shape& s, DType t, Device d, bool zeroed) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(s.numel()) * dtype_size(t), d, zeroed);
  impl->shape = s;
  impl->dtype = t;
  return Tensor(impl);
}

Tensor Tensor::empty(const Shape& s, DType t, Device d) { return allocate(s, t, d, false); }
Tensor Tensor::zeros(const Shape& s, DType t, Device d) { return allocate(s, t, d, true); }

Tensor Tensor::full(const Shape& s, double value, DType t, Device d) {
  Tensor x = empty(s, t, d);
  backend(d).fill(x, value);
  return x;
}

Tensor Tensor::from_vector(const Shape& s, const std::vector<float>& v, DType t) {
  if (static_cast<int64_t>(v.size()) != s.numel())
    throw Error("from_vector: " + std::to_string(v.size()) + " values for shape " + s.str());
  Tensor x = empty(s, DType::f32);
  if (!v.empty()) std::memcpy(x.raw(), v.data(), v.size() * sizeof(float));  // (an empty vector's data may be null)
  return x.to(t);
}

Tensor Tensor::from_vector(const Shape& s, const std::vector<double>& v, DType t) {
  if (static_cast<int64_t>(v.size()) != s.numel())
    throw Error("from_vector: " + std::to_string(v.size()) + " values for shape " + s.str());
  Tensor x = empty(s, DType::f64);
  if (!v.empty()) std::memcpy(x.raw(), v.data(), v.size() * sizeof(double));
  return x.to(t);
}

Tensor Tensor::uniform(const Shape& s, double lo, double hi, uint64_t seed, DType t) {
  // Drawn in double and stored in the tensor's dtype directly (no double copy of a 100M-weight layer).
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Tensor out = empty(s, t);
  const int64_t n = s.numel();
  if (t == DType::f64) {
    double* p = out.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = dist(rng);
  } else {
    float* p = out.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(dist(rng));
  }
  return out;
}

static TensorImpl& need(const std::shared_ptr<TensorImpl>& p, const char* what) {
  if (!p) throw Error(std::string(what) + ": undefined tensor");
  return *p;
}

const Shape& Tensor::shape() const { return need(impl_, "shape()").shape; }
DType Tensor::dtype() const { return need(impl_, "dtype()").dtype; }
Device Tensor::device() const { return need(impl_, "device()").storage->device; }
void* Tensor::raw() const { return need(impl_, "raw()").storage->data; }
bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  need(impl_, "set_requires_grad()").requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return need(impl_, "grad()").grad; }
void Tensor::set_grad(const Tensor& g) const { need(impl_, "set_grad()").grad = g; }

Tensor Tensor::clone() const {
  Tensor y = empty(shape(), dtype(), device());
  backend(device()).copy(*this, y);
  return y;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = need(impl_, "detach()").storage;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

Tensor Tensor::to(DType t) const {
  if (dtype() == t) return *this;
  Tensor y = empty(shape(), t, device());
  backend(device()).copy(*this, y);
  return y;
}

Tensor Tensor::view(const Shape& s) const {
  if (s.numel() != numel())
    throw Error("view: cannot view " + shape().str() + " as " + s.str() + " (element counts differ)");
  Tensor y = detach();
  y.impl_->shape = s;
  return y;
}

double Tensor::item() const {
  if (numel() != 1) throw Error("item(): tensor of shape " + shape().str() + " is not a single value");
  return at(0);
}

double Tensor::at(int64_t i) const {
  if (i < 0 || i >= numel()) throw Error("at(): index " + std::to_string(i) + " outside " + shape().str());
  if (device() != Device::cpu) return to(Device::cpu).at(i);
  return dtype() == DType::f32 ? static_cast<const float*>(raw())[i] : static_cast<const double*>(raw())[i];
}

Tensor Tensor::to(Device d) const {
  if (device() == d) return *this;
  Tensor y = empty(shape(), dtype(), d);
  if (d == Device::cpu)
    backend(device()).read(*this, y.raw());
  else
    backend(d).write(y, raw());
  return y;
}

std::vector<double> Tensor::to_vector_f64() const {
  const Tensor c = to(Device::cpu).to(DType::f64);
  const double* p = c.data<double>();
  return std::vector<double>(p, p + numel());
}

bool Tensor::all_finite() const { return backend(device()).all_finite(*this); }

std::vector<float> Tensor::to_vector() const {
  const Tensor c = to(Device::cpu).to(DType::f32);
  const float* p = c.data<float>();
  return std::vector<float>(p, p + numel());
}

}  // namespace gt
