#include "io/limits.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "autodiff/tensor.h"

namespace gt {

uint64_t max_tensor_bytes() {
  static const uint64_t limit = [] {
    const char* s = std::getenv("GRADTRACE_MAX_TENSOR_BYTES");
    char* end = nullptr;
    const unsigned long long v = s ? std::strtoull(s, &end, 10) : 0;
    return s && end != s && *end == '\0' && v > 0 ? uint64_t(v) : uint64_t(4) << 30;
  }();
  return limit;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  char b[48];
  std::snprintf(b, sizeof b, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return b;
}

uint64_t claimed_bytes(const std::string& file, const std::string& tensor, const std::vector<int64_t>& dims,
                       uint64_t elem_size) {
  std::string shape;
  for (int64_t d : dims) shape += (shape.empty() ? "" : "x") + std::to_string(d);
  const std::string what = file + ": tensor " + tensor + " [" + shape + "]";
  // The product in double: exact below 2^53, and an overflow shows as a huge value, not a wrap.
  double bytes = double(elem_size);
  for (int64_t d : dims) {
    if (d < 0) throw Error(what + " has a negative dimension");
    bytes *= double(d);
  }
  if (bytes > double(max_tensor_bytes()))
    throw Error(what + " claims " + human_bytes(bytes) + ", over the limit of " +
                human_bytes(double(max_tensor_bytes())) + " per tensor (GRADTRACE_MAX_TENSOR_BYTES raises it)");
  return uint64_t(bytes);
}

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(st)) throw Error(what + ": cannot read (it is a folder, not a file)");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(what + ": cannot read (" + (ec ? ec.message() : std::string(std::strerror(errno))) + ")");
  if (!std::filesystem::is_regular_file(st)) throw Error(what + ": cannot read (not a regular file)");
  const std::streamoff size = in.tellg();
  if (size < 0 || uint64_t(size) > max_bytes)
    throw Error(what + ": cannot read (larger than " + human_bytes(double(max_bytes)) + ")");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) throw Error(what + ": cannot read (read error)");
  return bytes;
}

}  // namespace gt
