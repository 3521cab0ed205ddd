// IDX files (LeCun's MNIST format, also Fashion-MNIST), plain or gzip-compressed (read with zlib).
//   bytes 0-1: 0, byte 2: element type (0x08 = unsigned byte), byte 3: number of dimensions d,
//   then d big-endian uint32 sizes, then the elements, row-major.
// Only unsigned-byte files are read (all MNIST-style images and labels are).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gt::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;
};

// Throws gt::Error naming the file for a missing file, a corrupt gzip stream (CRC, truncation), a bad
// magic number, an element type other than unsigned byte, or a size that does not match the header
// (too few elements, or bytes left over).
IdxArray read_idx(const std::string& path);

}  // namespace gt::data
