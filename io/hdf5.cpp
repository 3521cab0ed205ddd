#include "io/hdf5.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>
#include <type_traits>
#include <vector>

#include "io/limits.h"
#include "io/sandbox.h"

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

// ---- The snapshot: a file read whole by libhdf5, as plain bytes -------------------------------------
// libhdf5 1.10.8 (Debian 12) crashes on corrupt files, and reads out of bounds on some without
// crashing (fuzzing found a NULL read in H5F__accum_read in 144 runs, and memcpy over-reads in
// H5HG_read when it converts variable-length strings). So libhdf5 never reads an untrusted file in
// gradtrace's own process: a child walks the whole file and sends back a snapshot, and File answers
// every query from that. A crash or hang in the child is a one-line error; an over-read there can
// only garble the snapshot, which is parsed here with every length checked.
//
// Records, in order: per object (the root is ""), 'G' or 'D', its path, its attributes, then
//   group:   its members' names (its hard links, in name order);
//   dataset: an error message, or "" followed by the rank, the dims, the element size (4: float32,
//            8: float64; integers and other floats are sent as float64), then 0 and the raw values,
//            or 1 and the file offset of the values (a contiguous, unfiltered dataset stored as
//            this machine's float32 or float64, read by the parent itself).
// An attribute is its name, a kind ('n' numbers, 's' strings, 'x' anything else), its element count
// and, for 'n' and 's', the values.

constexpr int kMaxDepth = 32;
constexpr size_t kMaxObjects = 1 << 20, kMaxAttrElems = 1 << 24, kMaxStringBytes = 1 << 28;

struct Writer {
  std::string out;
  void u64(uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) { u64(s.size()), out += s; }
};

// Reads one attribute as File's readers read it: numbers as double, strings fixed or variable-length.
void put_attribute(Writer& w, hid_t obj, const std::string& name) {
  w.str(name);
  Handle a{H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose};
  Handle type{H5Aget_type(a.id), H5Tclose};
  Handle space{H5Aget_space(a.id), H5Sclose};
  const hssize_t n = space.id < 0 ? -1 : H5Sget_simple_extent_npoints(space.id);
  const H5T_class_t cls = H5Tget_class(type.id);
  const size_t count = n < 0 ? 0 : size_t(n);
  const size_t len = cls == H5T_STRING ? H5Tget_size(type.id) : 0;
  const bool vlen = cls == H5T_STRING && H5Tis_variable_str(type.id) > 0;
  const auto other = [&] { w.out += 'x', w.u64(count); };
  if (a.id < 0 || n < 0 || count > kMaxAttrElems) return other();
  if (cls == H5T_FLOAT || cls == H5T_INTEGER) {
    std::vector<double> v(count);
    if (count && H5Aread(a.id, H5T_NATIVE_DOUBLE, v.data()) < 0) return other();
    w.out += 'n', w.u64(count);
    if (count) w.out.append(reinterpret_cast<const char*>(v.data()), count * sizeof(double));
  } else if (vlen) {
    std::vector<char*> v(count, nullptr);
    Handle mem{H5Tget_native_type(type.id, H5T_DIR_ASCEND), H5Tclose};
    if (count && H5Aread(a.id, mem.id, v.data()) < 0) return other();
    w.out += 's', w.u64(count);
    for (char* s : v) w.str(s ? std::string(s, strnlen(s, kMaxStringBytes)) : "");
    if (count) H5Dvlen_reclaim(mem.id, space.id, H5P_DEFAULT, v.data());
  } else if (cls == H5T_STRING) {
    if (len == 0 || double(len) * double(count) > double(kMaxStringBytes)) return other();
    std::vector<char> buf(len * count);
    if (count && H5Aread(a.id, type.id, buf.data()) < 0) return other();
    w.out += 's', w.u64(count);
    for (size_t i = 0; i < count; ++i) w.str(std::string(&buf[i * len], strnlen(&buf[i * len], len)));
  } else {
    other();
  }
}

herr_t collect_name(hid_t, const char* name, const H5A_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->push_back(name);
  return 0;
}

void put_attributes(Writer& w, hid_t obj) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &names);
  w.u64(names.size());
  for (const std::string& n : names) put_attribute(w, obj, n);
}

// The file offset of a dataset's values when the parent can read them itself: stored whole in one
// place (contiguous, no filters, not in an external file) as the native type they are read as.
// -1 otherwise.
int64_t offset_in_file(hid_t d, hid_t dcpl, hid_t type, size_t elem, size_t numel) {
  if (dcpl < 0 || H5Pget_layout(dcpl) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl) != 0 ||
      H5Pget_external_count(dcpl) != 0 || H5Tequal(type, elem == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE) <= 0 ||
      H5Dget_storage_size(d) != hsize_t(numel * elem))
    return -1;
  const haddr_t at = H5Dget_offset(d);
  return at == HADDR_UNDEF || at > haddr_t(INT64_MAX) ? -1 : int64_t(at);
}

struct Walk {
  std::string file;  // "HDF5 file <path>", for messages
  Writer w;
  size_t objects = 0;
  double data_bytes = 0;
  bool by_offset = false;  // datasets stored whole are sent as their offset in the file (a file on disk)

  // A numeric dataset of rank <= 4, checked before it is read: the size its shape claims is under
  // the per-tensor limit and held by the file. Without filters the data must be stored in full (a
  // dataset that was never written, or whose shape was edited, claims what the file does not hold);
  // with them (deflate) at most 1032:1. All datasets together stay under the limit too.
  void dataset(hid_t d, const std::string& path) {
    Handle space{H5Dget_space(d), H5Sclose};
    Handle type{H5Dget_type(d), H5Tclose};
    const std::string where = file + ", dataset " + path + ": ";
    const int rank = H5Sget_simple_extent_ndims(space.id);
    if (rank < 0 || rank > 4) return w.str(where + "rank " + std::to_string(rank) + " is not supported (at most 4)");
    const H5T_class_t cls = H5Tget_class(type.id);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) return w.str(where + "not a numeric dataset");
    hsize_t dims[4] = {1, 1, 1, 1};
    H5Sget_simple_extent_dims(space.id, dims, nullptr);
    std::vector<int64_t> shape;
    for (int i = 0; i < rank; ++i) {
      if (dims[i] > hsize_t(INT64_MAX))
        return w.str(where + "a dimension of " + std::to_string(dims[i]) + " is not supported");
      shape.push_back(int64_t(dims[i]));
    }
    if (shape.empty()) shape.push_back(1);
    const size_t elem = cls == H5T_FLOAT && H5Tget_size(type.id) <= 4 ? 4 : 8;
    uint64_t claimed = 0;
    try {
      claimed = claimed_bytes(file, path, shape, H5Tget_size(type.id));
      claimed_bytes(file, path, shape, elem);
    } catch (const Error& e) {
      return w.str(e.what());
    }
    Handle dcpl{H5Dget_create_plist(d), H5Pclose};
    const int filters = dcpl.id >= 0 ? H5Pget_nfilters(dcpl.id) : -1;
    const double stored = double(H5Dget_storage_size(d));
    if (filters < 0 || (filters == 0 && stored < double(claimed)) || (filters > 0 && stored * 1032 < double(claimed)))
      return w.str(where + "its shape " + Shape(shape).str() + " claims " + human_bytes(double(claimed)) +
                   ", the file stores " + human_bytes(stored));
    const size_t numel = size_t(Shape(shape).numel());
    data_bytes += double(numel * elem);
    if (data_bytes > double(max_tensor_bytes()))
      throw Error(file + ": its datasets hold more than " + human_bytes(double(max_tensor_bytes())) +
                  " in all (the limit; GRADTRACE_MAX_TENSOR_BYTES raises it)");
    const size_t mark = w.out.size();
    w.str(""), w.u64(shape.size());
    for (int64_t n : shape) w.u64(uint64_t(n));
    w.u64(elem);
    if (const int64_t offset = by_offset ? offset_in_file(d, dcpl.id, type.id, elem, numel) : -1; offset >= 0)
      return w.u64(1), w.u64(uint64_t(offset));
    w.u64(0);
    const size_t at = w.out.size();
    w.out.resize(at + numel * elem);
    if (H5Dread(d, elem == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &w.out[at]) < 0) {
      w.out.resize(mark);
      w.str(where + "read failed");
    }
  }

  void object(hid_t parent, const std::string& name, const std::string& path, int depth) {
    if (++objects > kMaxObjects || depth > kMaxDepth) throw Error(file + ": too many objects, or nested too deep");
    Handle obj{H5Oopen(parent, name.c_str(), H5P_DEFAULT), H5Oclose};
    H5O_info_t info;
    if (obj.id < 0 || H5Oget_info2(obj.id, &info, H5O_INFO_BASIC) < 0) {
      if (depth == 0) throw Error(file + ": cannot read its root group");
      return;
    }
    if (info.type != H5O_TYPE_GROUP && info.type != H5O_TYPE_DATASET) return;
    const bool group = info.type == H5O_TYPE_GROUP;
    w.out += group ? 'G' : 'D';
    w.str(path);
    put_attributes(w, obj.id);
    if (!group) return dataset(obj.id, path);
    std::vector<std::string> members;
    H5G_info_t g;
    if (H5Gget_info(obj.id, &g) >= 0 && g.nlinks <= kMaxObjects)
      for (hsize_t i = 0; i < g.nlinks; ++i) {
        H5L_info_t link;
        const ssize_t n = H5Lget_name_by_idx(obj.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (n <= 0 || n > (1 << 16)) continue;
        std::string s(size_t(n), '\0');
        H5Lget_name_by_idx(obj.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size() + 1, H5P_DEFAULT);
        // Hard links only: soft and external links (which would open other files) are not followed.
        if (H5Lget_info(obj.id, s.c_str(), &link, H5P_DEFAULT) >= 0 && link.type == H5L_TYPE_HARD) members.push_back(s);
      }
    w.u64(members.size());
    for (const std::string& m : members) w.str(m);
    for (const std::string& m : members) object(obj.id, m, path.empty() ? m : path + "/" + m, depth + 1);
  }
};

// by_offset: the file is on disk, and the parent reads the datasets stored whole from it.
std::string walk_file(hid_t f, const std::string& name, bool by_offset) {
  Walk walk{"HDF5 file " + name, {}, 0, 0, by_offset};
  walk.object(f, ".", "", 0);
  return std::move(walk.w.out);
}

// "/a/b/" -> "a/b": the snapshot's keys have no leading or trailing slash; the root is "".
std::string key(const std::string& path) {
  const size_t b = path.find_first_not_of('/');
  if (b == std::string::npos) return "";
  return path.substr(b, path.find_last_not_of('/') - b + 1);
}
}  // namespace

struct File::Attr {
  char kind = 'x';  // 'n' numbers, 's' strings, 'x' anything else
  uint64_t count = 0;
  std::vector<double> numbers;
  std::vector<std::string> strings;
};

struct File::Object {
  bool group = false;
  std::map<std::string, Attr> attrs;
  std::vector<std::string> members;
  std::string error;  // a dataset that cannot be read: why
  std::vector<int64_t> dims;
  size_t elem = 0;             // 4 or 8
  const char* data = nullptr;  // the values, inside Snapshot::bytes; or
  int64_t offset = -1;         // where they lie in the file (Snapshot::file_fd)
};

struct File::Snapshot {
  struct Fd {  // closed however the Snapshot ends, a throw from its constructor included
    int fd;
    ~Fd() {
      if (fd >= 0) close(fd);
    }
  };
  Fd file_fd;  // the file the data ranges point into
  std::string bytes;
  std::map<std::string, Object> objects;
  uint64_t file_size = 0;

  // Parses bytes; every length is checked against what is left, and every data range against the
  // file (fd, owned from here on): inside it, and not overlapping another.
  Snapshot(std::string b, int fd, const std::string& file) : file_fd{fd}, bytes(std::move(b)) {
    struct stat st {};
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) file_size = uint64_t(st.st_size);
    size_t at = 0;
    const auto bad = [&] { return Error("HDF5 file " + file + ": cannot read (its snapshot is malformed)"); };
    const auto take = [&](size_t n) {
      if (n > bytes.size() - at) throw bad();
      at += n;
      return bytes.data() + at - n;
    };
    const auto u64 = [&] {
      uint64_t v;
      std::memcpy(&v, take(sizeof v), sizeof v);
      return v;
    };
    const auto str = [&] {
      const uint64_t n = u64();
      if (n > bytes.size()) throw bad();
      return std::string(take(size_t(n)), size_t(n));
    };
    while (at < bytes.size()) {
      const char tag = *take(1);
      if (tag != 'G' && tag != 'D') throw bad();
      Object o;
      o.group = tag == 'G';
      const std::string path = str();
      for (uint64_t i = 0, n = u64(); i < n; ++i) {
        const std::string name = str();
        Attr a;
        a.kind = *take(1);
        a.count = u64();
        if (a.kind != 'x' && a.count > kMaxAttrElems) throw bad();
        if (a.kind == 'n') {
          const char* p = take(size_t(a.count) * sizeof(double));
          a.numbers.resize(size_t(a.count));
          if (a.count) std::memcpy(a.numbers.data(), p, size_t(a.count) * sizeof(double));
        } else if (a.kind == 's') {
          for (uint64_t k = 0; k < a.count; ++k) a.strings.push_back(str());
        } else if (a.kind != 'x') {
          throw bad();
        }
        o.attrs.emplace(name, std::move(a));
      }
      if (o.group) {
        for (uint64_t i = 0, n = u64(); i < n; ++i) o.members.push_back(str());
      } else if ((o.error = str()).empty()) {
        const uint64_t rank = u64();
        if (rank < 1 || rank > 4) throw bad();
        double numel = 1;
        for (uint64_t i = 0; i < rank; ++i) {
          o.dims.push_back(int64_t(u64()));
          if (o.dims.back() < 0) throw bad();
          numel *= double(o.dims.back());
        }
        o.elem = size_t(u64());
        if (o.elem != 4 && o.elem != 8) throw bad();
        const uint64_t where = u64();
        if (where == 0) {
          if (numel * double(o.elem) > double(bytes.size())) throw bad();
          o.data = take(size_t(numel) * o.elem);
        } else if (where == 1 && fd >= 0) {
          const uint64_t off = u64();
          const double len = numel * double(o.elem);  // (exact once it is at most the file's size)
          if (len > double(file_size) || off > file_size - uint64_t(len))
            throw Error("HDF5 file " + file + ", dataset " + path + ": its data (" + human_bytes(len) + " at offset " +
                        std::to_string(off) + ") lies outside the file (" + std::to_string(file_size) + " bytes)");
          o.offset = int64_t(off);
        } else {
          throw bad();
        }
      }
      objects.emplace(path, std::move(o));
    }
    check_overlaps(file);
  }

  // No two datasets' data ranges share a byte: a crafted file could otherwise alias one tensor's
  // values as another's.
  void check_overlaps(const std::string& file) const {
    std::vector<std::tuple<uint64_t, uint64_t, const std::string*>> ranges;
    for (const auto& [path, o] : objects)
      if (o.offset >= 0 && Shape(o.dims).numel() > 0)
        ranges.emplace_back(uint64_t(o.offset), uint64_t(Shape(o.dims).numel()) * o.elem, &path);
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
      if (std::get<0>(ranges[i]) < std::get<0>(ranges[i - 1]) + std::get<1>(ranges[i - 1]))
        throw Error("HDF5 file " + file + ": the data of datasets " + *std::get<2>(ranges[i - 1]) + " and " +
                    *std::get<2>(ranges[i]) + " overlap (at offset " + std::to_string(std::get<0>(ranges[i])) + ")");
  }

  // n bytes of the file at offset into dst; false when the file holds fewer (it changed since).
  bool pread_all(char* dst, size_t n, uint64_t offset) const {
    while (n > 0) {
      const ssize_t r = ::pread(file_fd.fd, dst, n, off_t(offset));
      if (r <= 0) return false;
      dst += r, n -= size_t(r), offset += uint64_t(r);
    }
    return true;
  }
};

File::SnapshotBytes File::snapshot(const std::string& path) {
  // The child's limits scale with the file: its values (deflated at most 1032:1, under the limit),
  // held twice at most, 1 GiB for libhdf5 itself; 10 s of CPU plus 1 s per 10 MB.
  std::error_code ec;
  const double bytes = double(std::filesystem::file_size(path, ec)), size = ec ? 0 : bytes;
  const double values = std::min(double(max_tensor_bytes()), 1032 * size);
  const ChildLimits limits{2 * values + double(1 << 30), 10 + int(size / 10e6)};
  const std::string file = "HDF5 file " + path;
  // The parent's own descriptor of the file, which the data ranges are read from.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(file + ": cannot open for reading (missing, or not an HDF5 file)");
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) close(fd);
    }
  } closer{fd};
  SnapshotBytes sb{in_child(
      file, "cannot read (the HDF5 library crashed on it: a corrupt or hostile file)",
      [&] {
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f < 0) throw Error(file + ": cannot open for reading (missing, or not an HDF5 file)");
        std::string s = walk_file(f, path, true);
        H5Fclose(f);
        return s;
      },
      limits)};
  sb.fd = fd, closer.fd = -1;
  return sb;
}

File::File(const std::string& name, SnapshotBytes s)
    : path_(name), snap_(std::make_unique<Snapshot>(std::move(s.bytes), s.fd, name)), mode_(Mode::read) {}

File::File(const std::string& path, Mode mode) : path_(path), mode_(mode) {
  if (mode == Mode::read) {
    SnapshotBytes sb = snapshot(path);
    snap_ = std::make_unique<Snapshot>(std::move(sb.bytes), sb.fd, path);
  } else {
    tmp_ = path + ".tmp";
    id_ = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (id_ < 0) fail("cannot create");
  }
}

File::File(const std::string& name, const void* image, size_t size) : path_(name), mode_(Mode::read) {
  Handle fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  if (fapl.id < 0 || H5Pset_fapl_core(fapl.id, 1 << 16, 0) < 0 ||
      H5Pset_file_image(fapl.id, const_cast<void*>(image), size) < 0)
    fail("cannot set up an in-memory file");
  Handle f{H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.id), H5Fclose};
  if (f.id < 0) fail("cannot open the in-memory image (" + std::to_string(size) + " bytes)");
  snap_ = std::make_unique<Snapshot>(walk_file(f.id, name, false), -1, name);
}

File::~File() {
  if (id_ >= 0) H5Fclose(id_);
  if (!tmp_.empty()) std::remove(tmp_.c_str());  // not committed: leave nothing behind
}

void File::fail(const std::string& what, const std::string& dataset) const {
  throw Error("HDF5 file " + path_ + (dataset.empty() ? "" : ", dataset " + dataset) + ": " + what);
}

const File::Object* File::find(const std::string& path) const {
  if (!snap_) fail("opened for writing", path);
  const auto it = snap_->objects.find(key(path));
  return it == snap_->objects.end() ? nullptr : &it->second;
}

bool File::has(const std::string& path) const { return find(path) != nullptr; }

Shape File::shape(const std::string& dataset) const {
  const Object* o = find(dataset);
  if (!o || o->group) fail("no such dataset", dataset);
  if (!o->error.empty()) throw Error(o->error);
  return Shape(o->dims);
}

Tensor File::read(const std::string& dataset, DType t) const { return read_rows(dataset, 0, shape(dataset)[0], t); }

Tensor File::read_rows(const std::string& dataset, int64_t r0, int64_t r1, DType t) const {
  Shape s = shape(dataset);
  const Object& o = *find(dataset);
  claimed_bytes("HDF5 file " + path_, dataset, o.dims, t == DType::f32 ? 4 : 8);  // as read: float or double
  if (r0 < 0 || r1 < r0 || r1 > s[0])
    fail("rows " + std::to_string(r0) + " to " + std::to_string(r1) + " are not in " + s.str(), dataset);
  const size_t row = size_t(s.numel() / std::max<int64_t>(s[0], 1)), n = size_t(r1 - r0) * row;
  std::vector<int64_t> dims = o.dims;
  dims[0] = r1 - r0;
  Tensor out = Tensor::empty(Shape(dims), t);
  const char* data = o.data ? o.data + size_t(r0) * row * o.elem : nullptr;
  std::vector<char> staged;  // the file's bytes, when they must be converted
  if (o.offset >= 0) {
    char* dst = o.elem == 4 && t == DType::f32   ? reinterpret_cast<char*>(out.data<float>())
                : o.elem == 8 && t == DType::f64 ? reinterpret_cast<char*>(out.data<double>())
                                                 : nullptr;
    if (!dst) staged.resize(n * o.elem), dst = staged.data();
    if (!snap_->pread_all(dst, n * o.elem, uint64_t(o.offset) + uint64_t(r0) * row * o.elem))
      fail("cannot read its data (the file changed?)", dataset);
    if (staged.empty()) return out;
    data = staged.data();
  }
  const auto convert = [&](auto* dst) {
    if (o.elem == sizeof(*dst)) return void(std::memcpy(dst, data, n * o.elem));
    for (size_t i = 0; i < n; ++i) {  // float32 <-> float64, as HDF5 converts (rounding to nearest)
      if (o.elem == 4) {
        float v;
        std::memcpy(&v, data + 4 * i, 4);
        dst[i] = static_cast<std::remove_pointer_t<decltype(dst)>>(v);
      } else {
        double v;
        std::memcpy(&v, data + 8 * i, 8);
        dst[i] = static_cast<std::remove_pointer_t<decltype(dst)>>(v);
      }
    }
  };
  if (t == DType::f32)
    convert(out.data<float>());
  else
    convert(out.data<double>());
  return out;
}

std::vector<std::string> File::members(const std::string& group) const {
  const Object* o = find(group);
  if (!o || !o->group) fail("no such group", group);
  return o->members;
}

const File::Attr* File::attribute(const std::string& object, const std::string& name) const {
  const Object* o = find(object);
  if (!o) fail("no such object", object);
  const auto it = o->attrs.find(name);
  return it == o->attrs.end() ? nullptr : &it->second;
}

bool File::has_attr(const std::string& name) const { return attribute("/", name) != nullptr; }

double File::attr_double(const std::string& name) const {
  const Attr* a = attribute("/", name);
  if (!a) fail("no root attribute '" + name + "'");
  if (a->count != 1) fail("attribute '" + name + "' is not a single number");
  if (a->kind != 'n') fail("attribute '" + name + "' is not numeric");
  return a->numbers[0];
}

std::string File::attr_string(const std::string& name) const {
  const Attr* a = attribute("/", name);
  if (!a) fail("no root attribute '" + name + "'");
  if (a->kind != 's' || a->count != 1) fail("attribute '" + name + "' is not a string");
  return a->strings[0];
}

std::vector<std::string> File::attr_strings(const std::string& object, const std::string& name) const {
  const Attr* a = attribute(object, name);
  if (!a) fail("no attribute '" + name + "'", object);
  if (a->count == 0) return {};  // Keras writes an empty float array for layers without weights
  if (a->kind != 's') fail("attribute '" + name + "' is not a string array", object);
  return a->strings;
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
  const bool f64 = store_ == DType::f64;
  Handle d{
      H5Dcreate2(id_, dataset.c_str(), f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, space.id, lcpl.id, dcpl.id, H5P_DEFAULT),
      H5Dclose};
  if (d.id < 0) fail("cannot create dataset", dataset);
  const Tensor f = t.to(Device::cpu).to(store_);
  if (H5Dwrite(d.id, f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.raw()) < 0)
    fail("write failed", dataset);
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
