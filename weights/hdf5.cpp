#include "weights/hdf5.h"
#include "weights/limits.h"
#include "weights/sandbox.h"

#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace gt::h5 {
namespace {
struct Silence {  // HDF5 prints its own error stack by default; we throw instead
  Silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const Silence silence;

struct Handle {  // closes an HDF5 id with the right function
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};
}  // namespace

namespace {
// The vetting walk (see vet_file): every attribute read as File's readers read them, numbers as
// double, strings fixed or variable-length. HDF5 calls these from C: nothing may throw through it.
herr_t vet_attribute(hid_t loc, const char* name, const H5A_info_t*, void*) {
  try {
    Handle a{H5Aopen(loc, name, H5P_DEFAULT), H5Aclose};
    if (a.id < 0) return 0;
    Handle type{H5Aget_type(a.id), H5Tclose};
    Handle space{H5Aget_space(a.id), H5Sclose};
    const hssize_t n = H5Sget_simple_extent_npoints(space.id);
    if (n <= 0 || n > (1 << 24)) return 0;
    const H5T_class_t cls = H5Tget_class(type.id);
    if (cls == H5T_STRING && H5Tis_variable_str(type.id) > 0) {
      std::vector<char*> v(static_cast<size_t>(n), nullptr);
      Handle mem{H5Tget_native_type(type.id, H5T_DIR_ASCEND), H5Tclose};
      if (H5Aread(a.id, mem.id, v.data()) >= 0) H5Dvlen_reclaim(mem.id, space.id, H5P_DEFAULT, v.data());
    } else if (cls == H5T_STRING) {
      const size_t len = H5Tget_size(type.id);
      if (len == 0 || double(len) * double(n) > double(1 << 28)) return 0;
      std::vector<char> buf(len * size_t(n));
      H5Aread(a.id, type.id, buf.data());
    } else if (cls == H5T_FLOAT || cls == H5T_INTEGER) {
      std::vector<double> v(static_cast<size_t>(n));
      H5Aread(a.id, H5T_NATIVE_DOUBLE, v.data());
    }
  } catch (...) {
  }
  return 0;
}

// Every numeric dataset read as File::read reads it (converted to double), in slabs of whole rows
// of at most 4M values, so that the walk's memory stays small.
void vet_dataset(hid_t d) {
  Handle space{H5Dget_space(d), H5Sclose};
  Handle type{H5Dget_type(d), H5Tclose};
  const H5T_class_t cls = H5Tget_class(type.id);
  const int rank = H5Sget_simple_extent_ndims(space.id);
  if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || rank < 0 || rank > 4) return;
  hsize_t dims[4] = {1, 1, 1, 1};
  H5Sget_simple_extent_dims(space.id, dims, nullptr);
  double row = 1;
  for (int i = 1; i < rank; ++i) row *= double(dims[i]);
  if (rank == 0 || row * double(dims[0]) * 8 > double(max_tensor_bytes())) return;  // File::read refuses those
  const hsize_t rows = std::max<hsize_t>(1, hsize_t(double(1 << 22) / std::max(1.0, row)));
  for (hsize_t r0 = 0; r0 < dims[0]; r0 += rows) {
    hsize_t start[4] = {r0, 0, 0, 0}, count[4] = {std::min(rows, dims[0] - r0), dims[1], dims[2], dims[3]};
    if (H5Sselect_hyperslab(space.id, H5S_SELECT_SET, start, nullptr, count, nullptr) < 0) return;
    Handle mem{H5Screate_simple(rank, count, nullptr), H5Sclose};
    std::vector<double> v(size_t(double(count[0]) * row));
    if (H5Dread(d, H5T_NATIVE_DOUBLE, mem.id, space.id, H5P_DEFAULT, v.data()) < 0) return;
  }
}

herr_t vet_object(hid_t root, const char* name, const H5O_info_t* info, void*) {
  try {
    Handle obj{H5Oopen(root, name, H5P_DEFAULT), H5Oclose};
    if (obj.id < 0) return 0;
    H5Aiterate2(obj.id, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, vet_attribute, nullptr);
    if (info->type == H5O_TYPE_DATASET) vet_dataset(obj.id);
  } catch (...) {
  }
  return 0;
}

// libhdf5 (1.10.8 in Debian 12) crashes on some corrupt files (fuzzing found a NULL read in
// H5F__accum_read within 144 runs). So before a file from disk is opened here, a child process
// walks all of it - every object, attribute and dataset - the way the readers below will. libhdf5
// is deterministic: if the walk survives, so will the reads; if it crashes, the error is one line.
void vet_file(const std::string& path) {
  in_child("HDF5 file " + path, "cannot read (the HDF5 library crashed on it: a corrupt or hostile file)", [&] {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
      H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, vet_object, nullptr, H5O_INFO_BASIC);
      H5Fclose(f);
    }
    return std::string();
  });
}
}  // namespace

File::File(const std::string& path, Mode mode) : path_(path), mode_(mode) {
  if (mode == Mode::read) {
    vet_file(path);
    id_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id_ < 0) fail("cannot open for reading (missing, or not an HDF5 file)");
  } else {
    tmp_ = path + ".tmp";
    id_ = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (id_ < 0) fail("cannot create");
  }
}

File::File(const std::string& name, const void* image, size_t size) : path_(name), mode_(Mode::read) {
  Handle fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  if (fapl.id < 0 || H5Pset_fapl_core(fapl.id, 1 << 16, 0) < 0 || H5Pset_file_image(fapl.id, const_cast<void*>(image), size) < 0)
    fail("cannot set up an in-memory file");
  id_ = H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.id);
  if (id_ < 0) fail("cannot open the in-memory image (" + std::to_string(size) + " bytes)");
}

File::~File() {
  if (id_ >= 0) H5Fclose(id_);
  if (!tmp_.empty()) std::remove(tmp_.c_str());  // not committed: leave nothing behind
}

void File::fail(const std::string& what, const std::string& dataset) const {
  throw Error("HDF5 file " + path_ + (dataset.empty() ? "" : ", dataset " + dataset) + ": " + what);
}

bool File::has(const std::string& dataset) const {
  // H5Lexists only checks the last link; walk the path so that a missing group is not an error.
  std::string prefix;
  size_t start = dataset[0] == '/' ? 1 : 0;
  while (start <= dataset.size()) {
    const size_t slash = dataset.find('/', start);
    prefix = dataset.substr(0, slash);
    if (H5Lexists(id_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

namespace {
Handle open_dataset(hid_t file, const std::string& dataset) { return {H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), H5Dclose}; }
}  // namespace

Shape File::shape(const std::string& dataset) const {
  if (!has(dataset)) fail("no such dataset", dataset);
  Handle d = open_dataset(id_, dataset);
  if (d.id < 0) fail("cannot open", dataset);
  Handle space{H5Dget_space(d.id), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(space.id);
  if (rank < 0 || rank > 4) fail("rank " + std::to_string(rank) + " is not supported (at most 4)", dataset);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
  std::vector<int64_t> shape;
  for (hsize_t n : dims) {
    if (n > hsize_t(INT64_MAX)) fail("a dimension of " + std::to_string(n) + " is not supported", dataset);
    shape.push_back(int64_t(n));
  }
  if (shape.empty()) shape.push_back(1);
  Handle type{H5Dget_type(d.id), H5Tclose};
  const H5T_class_t cls = H5Tget_class(type.id);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail("not a numeric dataset", dataset);
  // The size the shape claims, before anything is allocated: under the per-tensor limit, and held by
  // the file. Without filters the data must be stored in full (a dataset that was never written, or
  // whose shape was edited, claims what the file does not hold); with them (deflate) at most 1032:1.
  const uint64_t claimed = claimed_bytes("HDF5 file " + path_, dataset, shape, H5Tget_size(type.id));
  Handle dcpl{H5Dget_create_plist(d.id), H5Pclose};
  const int filters = dcpl.id >= 0 ? H5Pget_nfilters(dcpl.id) : -1;
  const double stored = double(H5Dget_storage_size(d.id));
  if (filters < 0 || (filters == 0 && stored < double(claimed)) || (filters > 0 && stored * 1032 < double(claimed)))
    fail("its shape " + Shape(shape).str() + " claims " + human_bytes(double(claimed)) + ", the file stores " +
             human_bytes(stored),
         dataset);
  return Shape(shape);
}

Tensor File::read(const std::string& dataset, DType t) const {
  const Shape s = shape(dataset);
  std::vector<int64_t> dims;
  for (int i = 0; i < s.ndim(); ++i) dims.push_back(s[i]);
  claimed_bytes("HDF5 file " + path_, dataset, dims, t == DType::f32 ? 4 : 8);  // as read: float or double
  Tensor out = Tensor::empty(s, t);
  Handle d = open_dataset(id_, dataset);
  if (H5Dread(d.id, t == DType::f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.raw()) < 0)
    fail("read failed", dataset);
  return out;
}

std::vector<std::string> File::members(const std::string& group) const {
  Handle g{H5Gopen2(id_, group.c_str(), H5P_DEFAULT), H5Gclose};
  if (g.id < 0) fail("no such group", group);
  H5G_info_t info;
  std::vector<std::string> names;
  if (H5Gget_info(g.id, &info) < 0 || info.nlinks > (1 << 20)) fail("cannot list the members", group);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0 || n > (1 << 16)) fail("cannot read a member's name", group);
    std::string s(static_cast<size_t>(n), '\0');
    H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size() + 1, H5P_DEFAULT);
    names.push_back(s);
  }
  return names;
}

bool File::has_attr(const std::string& name) const { return H5Aexists(id_, name.c_str()) > 0; }

namespace {
// Elements in an attribute (-1 when unreadable): H5Aread fills all of them, so a reader of one value
// must check that there is exactly one.
hssize_t attr_points(hid_t a) {
  Handle space{H5Aget_space(a), H5Sclose};
  return space.id < 0 ? -1 : H5Sget_simple_extent_npoints(space.id);
}
}  // namespace

double File::attr_double(const std::string& name) const {
  Handle a{H5Aopen(id_, name.c_str(), H5P_DEFAULT), H5Aclose};
  if (a.id < 0) fail("no root attribute '" + name + "'");
  if (attr_points(a.id) != 1) fail("attribute '" + name + "' is not a single number");
  double v = 0;
  if (H5Aread(a.id, H5T_NATIVE_DOUBLE, &v) < 0) fail("attribute '" + name + "' is not numeric");
  return v;
}

std::string File::attr_string(const std::string& name) const {
  Handle a{H5Aopen(id_, name.c_str(), H5P_DEFAULT), H5Aclose};
  if (a.id < 0) fail("no root attribute '" + name + "'");
  Handle type{H5Aget_type(a.id), H5Tclose};
  if (H5Tget_class(type.id) != H5T_STRING || attr_points(a.id) != 1) fail("attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(type.id) > 0) {
    char* s = nullptr;
    Handle mem{H5Tget_native_type(type.id, H5T_DIR_ASCEND), H5Tclose};
    if (H5Aread(a.id, mem.id, &s) < 0) fail("cannot read attribute '" + name + "'");
    std::string out = s ? s : "";
    H5free_memory(s);
    return out;
  }
  const size_t len = H5Tget_size(type.id);
  if (len == 0 || len > (size_t(1) << 24)) fail("attribute '" + name + "' has an unreasonable size");
  std::string s(len, '\0');
  if (H5Aread(a.id, type.id, s.data()) < 0) fail("cannot read attribute '" + name + "'");
  return std::string(s.c_str());
}

std::vector<std::string> File::attr_strings(const std::string& object, const std::string& name) const {
  if (object != "/" && !has(object)) fail("no such object", object);
  if (H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0)
    fail("no attribute '" + name + "'", object);
  Handle a{H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  Handle type{H5Aget_type(a.id), H5Tclose};
  Handle space{H5Aget_space(a.id), H5Sclose};
  const hssize_t n = H5Sget_simple_extent_npoints(space.id);
  if (n == 0) return {};  // Keras writes an empty float array for layers without weights
  if (H5Tget_class(type.id) != H5T_STRING) fail("attribute '" + name + "' is not a string array", object);
  if (n < 0 || n > (1 << 24)) fail("attribute '" + name + "' has an unreasonable size", object);
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.id) > 0) {
    std::vector<char*> v(static_cast<size_t>(n), nullptr);
    Handle mem{H5Tget_native_type(type.id, H5T_DIR_ASCEND), H5Tclose};
    if (H5Aread(a.id, mem.id, v.data()) < 0) fail("cannot read attribute '" + name + "'", object);
    for (char* s : v) out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(mem.id, space.id, H5P_DEFAULT, v.data());
  } else {
    const size_t len = H5Tget_size(type.id);
    if (len == 0 || double(len) * double(n) > double(1 << 28)) fail("attribute '" + name + "' has an unreasonable size", object);
    std::vector<char> buf(len * static_cast<size_t>(n));
    if (H5Aread(a.id, type.id, buf.data()) < 0) fail("cannot read attribute '" + name + "'", object);
    for (hssize_t i = 0; i < n; ++i) {
      const char* p = buf.data() + size_t(i) * len;
      out.emplace_back(p, strnlen(p, len));
    }
  }
  return out;
}

void File::write(const std::string& dataset, const Tensor& t) {
  if (mode_ != Mode::write) fail("opened read-only", dataset);
  Handle lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(lcpl.id, 1);
  std::vector<hsize_t> dims;
  for (int i = 0; i < t.ndim(); ++i) dims.push_back(static_cast<hsize_t>(t.dim(i)));
  Handle space{H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose};
  // No modification times in the object headers: the same tensors give a byte-identical file.
  Handle dcpl{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  H5Pset_obj_track_times(dcpl.id, 0);
  Handle d{H5Dcreate2(id_, dataset.c_str(), H5T_IEEE_F32LE, space.id, lcpl.id, dcpl.id, H5P_DEFAULT), H5Dclose};
  if (d.id < 0) fail("cannot create dataset", dataset);
  const Tensor f = t.to(DType::f32);
  if (H5Dwrite(d.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.raw()) < 0) fail("write failed", dataset);
}

void File::set_attr(const std::string& name, double v) {
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle a{H5Acreate2(id_, name.c_str(), H5T_IEEE_F64LE, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  if (a.id < 0 || H5Awrite(a.id, H5T_NATIVE_DOUBLE, &v) < 0) fail("cannot write attribute '" + name + "'");
}

void File::set_attr(const std::string& name, const std::string& v) {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, std::max<size_t>(1, v.size()));
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle a{H5Acreate2(id_, name.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  if (a.id < 0 || H5Awrite(a.id, type.id, v.c_str()) < 0) fail("cannot write attribute '" + name + "'");
}

void File::commit() {
  if (mode_ != Mode::write || tmp_.empty()) fail("nothing to commit");
  H5Fclose(id_);
  id_ = -1;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot move the finished file into place");
  tmp_.clear();
}

}  // namespace gt::h5
