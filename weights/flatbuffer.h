// A bounds-checked reader for FlatBuffers (the TF Lite file format), written from the format's spec:
//   table:  int32 soffset to its vtable (vtable = table - soffset), then fields;
//   vtable: uint16 vtable size, uint16 table size, uint16 offset per field (0 = absent, use default);
//   offset fields (table, vector, string): uint32 relative to the field's own position;
//   vector: uint32 length, then elements (tables as uint32 relative offsets).
// Every read is checked against the file size, so a truncated or corrupt file is an error, never a crash.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "autodiff/tensor.h"

namespace gt::fb {

class Buffer {
 public:
  Buffer(std::vector<uint8_t> bytes, std::string path) : bytes_(std::move(bytes)), path_(std::move(path)) {}
  template <class T>
  T read(size_t pos) const {
    check(pos, sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + pos, sizeof(T));
    return v;
  }
  void check(size_t pos, size_t n) const {
    if (pos > bytes_.size() || n > bytes_.size() - pos)
      throw Error(path_ + ": corrupt or truncated flatbuffer (reading " + std::to_string(n) + " bytes at offset " +
                  std::to_string(pos) + " of a " + std::to_string(bytes_.size()) + "-byte file)");
  }
  const uint8_t* data(size_t pos, size_t n) const {
    check(pos, n);
    return bytes_.data() + pos;
  }
  size_t size() const { return bytes_.size(); }
  const std::string& path() const { return path_; }

 private:
  std::vector<uint8_t> bytes_;
  std::string path_;
};

class Table;

class Vector {
 public:
  Vector() = default;
  Vector(const Buffer* b, size_t pos) : b_(b), pos_(pos + 4), n_(b->read<uint32_t>(pos)) {}
  size_t size() const { return n_; }
  template <class T>
  T at(size_t i) const {
    return b_->read<T>(pos_ + i * sizeof(T));
  }
  Table table(size_t i) const;
  std::string string(size_t i) const;
  // Raw element bytes (for byte vectors such as buffer data).
  const uint8_t* bytes(size_t elem_size) const { return b_->data(pos_, n_ * elem_size); }

 private:
  const Buffer* b_ = nullptr;
  size_t pos_ = 0, n_ = 0;
};

class Table {
 public:
  Table() = default;
  Table(const Buffer* b, size_t pos) : b_(b), pos_(pos) {
    const int64_t vt = int64_t(pos) - b->read<int32_t>(pos);
    if (vt < 0) b->check(size_t(-1), 1);
    vt_ = size_t(vt);
    vt_size_ = b->read<uint16_t>(vt_);
  }
  bool valid() const { return b_ != nullptr; }
  bool has(int field) const { return field_pos(field) != 0; }
  template <class T>
  T scalar(int field, T def) const {
    const size_t p = field_pos(field);
    return p ? b_->read<T>(p) : def;
  }
  Table table(int field) const {
    const size_t p = field_pos(field);
    return p ? Table(b_, p + b_->read<uint32_t>(p)) : Table();
  }
  Vector vector(int field) const {
    const size_t p = field_pos(field);
    return p ? Vector(b_, p + b_->read<uint32_t>(p)) : Vector();
  }
  // Where a field's value starts in the buffer (0 when absent); lets tests patch a file.
  size_t field_position(int field) const { return field_pos(field); }
  std::string string(int field) const {
    const size_t p = field_pos(field);
    if (!p) return "";
    const size_t s = p + b_->read<uint32_t>(p);
    const uint32_t n = b_->read<uint32_t>(s);
    return std::string(reinterpret_cast<const char*>(b_->data(s + 4, n)), n);
  }

 private:
  size_t field_pos(int field) const {
    if (!b_) return 0;
    const size_t slot = 4 + 2 * size_t(field);
    if (slot + 2 > vt_size_) return 0;
    const uint16_t off = b_->read<uint16_t>(vt_ + slot);
    return off ? pos_ + off : 0;
  }
  const Buffer* b_ = nullptr;
  size_t pos_ = 0, vt_ = 0;
  uint16_t vt_size_ = 0;
};

inline Table Vector::table(size_t i) const {
  const size_t p = pos_ + 4 * i;
  return Table(b_, p + b_->read<uint32_t>(p));
}

inline std::string Vector::string(size_t i) const {
  const size_t p = pos_ + 4 * i;
  const size_t s = p + b_->read<uint32_t>(p);
  const uint32_t n = b_->read<uint32_t>(s);
  return std::string(reinterpret_cast<const char*>(b_->data(s + 4, n)), n);
}

}  // namespace gt::fb
