#include "data/idx.h"

#include <zlib.h>

#include <memory>

#include "autodiff/tensor.h"

namespace gt::data {
namespace {
// The whole (decompressed) file. gzread reads plain files unchanged, and reports a corrupt stream,
// a bad CRC or a stream cut short as an error instead of returning fewer bytes silently.
std::vector<uint8_t> read_all(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw Error("dataset file " + path + ": cannot open it");
  gzbuffer(f.get(), 1 << 17);
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    const int n = gzread(f.get(), chunk.data(), unsigned(chunk.size()));
    if (n < 0) {
      int code = 0;
      const char* msg = gzerror(f.get(), &code);
      throw Error("dataset file " + path + ": corrupt gzip data (" + msg + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
    if (out.size() > (size_t(1) << 32)) throw Error("dataset file " + path + ": more than 4 GiB of data");
  }
  // A gzip stream cut short ends without an error from gzread on some zlib versions; gzerror tells.
  int code = 0;
  gzerror(f.get(), &code);
  if (code != Z_OK && code != Z_BUF_ERROR) throw Error("dataset file " + path + ": corrupt gzip data");
  if (code == Z_BUF_ERROR) throw Error("dataset file " + path + ": the gzip stream is truncated");
  return out;
}
}  // namespace

IdxArray read_idx(const std::string& path) {
  const std::vector<uint8_t> b = read_all(path);
  auto bad = [&](const std::string& what) { return Error("dataset file " + path + ": " + what); };
  if (b.size() < 4 || b[0] != 0 || b[1] != 0) throw bad("not an IDX file (bad magic number)");
  if (b[2] != 0x08) throw bad("element type 0x" + std::to_string(b[2]) + " is not unsigned byte (0x08)");
  const int nd = b[3];
  if (nd < 1 || nd > 4) throw bad(std::to_string(nd) + " dimensions (expected 1 to 4)");
  const size_t header = 4 + 4 * size_t(nd);
  if (b.size() < header) throw bad("the header is truncated");
  IdxArray a;
  uint64_t count = 1;
  for (int i = 0; i < nd; ++i) {
    const uint8_t* p = &b[4 + 4 * size_t(i)];
    const uint64_t d = uint64_t(p[0]) << 24 | uint64_t(p[1]) << 16 | uint64_t(p[2]) << 8 | p[3];
    a.dims.push_back(int64_t(d));
    count *= d;
    if (count > (uint64_t(1) << 32)) throw bad("the header claims more than 4 GiB of elements");
  }
  const uint64_t have = b.size() - header;
  if (have < count)
    throw bad("truncated: the header claims " + std::to_string(count) + " elements, the file holds " +
              std::to_string(have));
  if (have > count) throw bad(std::to_string(have - count) + " bytes after the last element");
  a.bytes.assign(b.begin() + long(header), b.end());
  return a;
}

}  // namespace gt::data
