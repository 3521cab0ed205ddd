// Minimal HDF5 I/O over the C API: float tensors as datasets, scalar attributes.
// Errors name the file and the dataset. Files being written go to "<path>.tmp" and are renamed into
// place by commit(), so a failure never leaves a partial output file behind.
// A file opened for reading is read whole by libhdf5 in a child process (io/sandbox.h) and
// sent back as a snapshot, which the readers below answer from: libhdf5 has memory-safety bugs on
// hostile files, and never parses a file from disk in gradtrace's own process. The snapshot holds
// every dataset's metadata and either its values or, for a dataset stored whole and as this machine's
// float32 or float64 (contiguous, unfiltered: a weights file's), where its bytes lie in the file:
// read() then reads them straight into the tensor (pread), after the snapshot's parser has checked
// that every such range lies inside the file and that no two overlap. Bulk data never crosses the
// pipe, and is held once. All datasets together stay under max_tensor_bytes() (io/limits.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autodiff/tensor.h"

namespace gt::h5 {

class File {
 public:
  enum class Mode { read, write };
  File(const std::string& path, Mode mode);
  // Reads a file held in memory (the weights embedded in the binary), in this process; name is for
  // messages.
  File(const std::string& name, const void* image, size_t size);
  // The snapshot of a file on disk, as libhdf5 in the child sends it back, and a File over such bytes
  // (name is for messages). A hostile file meets gradtrace's own process only as these bytes, so the
  // fuzz targets feed them to the readers directly (tests/fuzz/README.md).
  struct SnapshotBytes {
    std::string bytes;
    int fd = -1;  // the file that the snapshot's data ranges point into (-1: none); the File closes it
  };
  static SnapshotBytes snapshot(const std::string& path);
  File(const std::string& name, SnapshotBytes snapshot);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  bool has(const std::string& path) const;  // a group or a dataset
  // Reads a numeric dataset of rank <= 4 (any stored numeric type) as a tensor of dtype t.
  Tensor read(const std::string& dataset, DType t = DType::f32) const;
  // Rows r0 .. r1 - 1 of it (along its first dimension): a large dataset converted piece by piece.
  Tensor read_rows(const std::string& dataset, int64_t r0, int64_t r1, DType t = DType::f32) const;
  // The shape of a numeric dataset of rank <= 4, from its metadata only (no data is read).
  Shape shape(const std::string& dataset) const;
  // Names of the members of a group ("/" for the root), in HDF5's order.
  std::vector<std::string> members(const std::string& group) const;
  bool has_attr(const std::string& name) const;            // root attribute
  double attr_double(const std::string& name) const;       // root attribute
  std::string attr_string(const std::string& name) const;  // root attribute
  // A string-array attribute of any object ("/" = root): fixed-length or variable-length strings.
  std::vector<std::string> attr_strings(const std::string& object, const std::string& name) const;

  // Stored as float32 unless store_as(f64) said otherwise; intermediate groups are created.
  void write(const std::string& dataset, const Tensor& t);
  void store_as(DType t) { store_ = t; }  // the element type of the datasets written from here on
  void set_attr(const std::string& name, double v);
  void set_attr(const std::string& name, const std::string& v);
  void commit();  // finishes a written file: closes it and moves it into place

  const std::string& path() const { return path_; }

 private:
  struct Attr;
  struct Object;
  struct Snapshot;
  [[noreturn]] void fail(const std::string& what, const std::string& dataset = "") const;
  const Object* find(const std::string& path) const;                                // null when absent
  const Attr* attribute(const std::string& object, const std::string& name) const;  // null when absent
  std::string path_, tmp_;
  long long id_ = -1;               // hid_t, when writing
  std::unique_ptr<Snapshot> snap_;  // when reading
  Mode mode_;
  DType store_ = DType::f32;
};

}  // namespace gt::h5
