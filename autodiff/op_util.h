// Shared input checks for the op implementations (internal to autodiff/).
#pragma once
#include <string>

#include "autodiff/backend.h"
#include "autodiff/tape.h"

namespace gt::detail {

// Throws gt::Error("op [layer]: msg"); check throws it unless ok.
[[noreturn]] inline void fail(const char* op, const std::string& msg) { throw Error(op_context(op) + ": " + msg); }

inline void check(bool ok, const char* op, const std::string& msg) {
  if (!ok) fail(op, msg);
}

// Throws unless t is defined; name is how the message calls it.
inline void defined(const char* op, const Tensor& t, const char* name) {
  check(t.defined(), op, std::string("input '") + name + "' is undefined");
}

// a and b must be defined and agree on dtype and device.
inline void same_kind(const char* op, const Tensor& a, const Tensor& b, const char* an, const char* bn) {
  defined(op, a, an);
  defined(op, b, bn);
  check(a.dtype() == b.dtype(), op,
        std::string(an) + " is " + to_string(a.dtype()) + " but " + bn + " is " + to_string(b.dtype()));
  check(a.device() == b.device(), op,
        std::string(an) + " is on " + to_string(a.device()) + " but " + bn + " is on " + to_string(b.device()));
}

// same_kind, and equal shapes.
inline void same_shape(const char* op, const Tensor& a, const Tensor& b, const char* an, const char* bn) {
  same_kind(op, a, b, an, bn);
  check(a.shape() == b.shape(), op,
        std::string("shape mismatch: ") + an + " " + a.shape().str() + " vs " + bn + " " + b.shape().str());
}

// t must be defined with exactly n dimensions.
inline void rank(const char* op, const Tensor& t, int n, const char* name) {
  defined(op, t, name);
  check(t.ndim() == n, op,
        std::string(name) + " must have " + std::to_string(n) + " dimensions, got " + t.shape().str());
}

// The backend of t's device, and an uninitialised tensor of shape s with t's dtype and device.
inline Backend& be(const Tensor& t) { return backend(t.device()); }
inline Tensor empty_as(const Tensor& t, const Shape& s) { return Tensor::empty(s, t.dtype(), t.device()); }

// x summed over the axes where s is 1 (or missing), without recording: the backward of a broadcast
// (ops_broadcast.cpp).
Tensor sum_to_shape(const Tensor& x, const Shape& s);

// Records y = op(in) on the current tape (Tape::record) and returns y or a forward hook's replacement.
inline Tensor record(const char* op, const std::vector<Tensor>& in, Tensor y, std::vector<Tensor> saved, BackwardFn fn,
                     const std::function<LinearForm()>& linear = {}) {
  return Tape::current().record(op, in, std::move(y), std::move(saved), std::move(fn), linear);
}

}  // namespace gt::detail
