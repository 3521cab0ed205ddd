#include "image/image.h"

#include <stb_image.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "io/limits.h"
#include "io/sandbox.h"

namespace gt {

Image load_image(const std::string& path) {
  return decode_image(read_file(path, uint64_t(1) << 30, "image " + path), path);
}

namespace {
[[noreturn]] void unreadable(const std::string& name, const std::string& why) {
  throw Error("image " + name + ": cannot read (" + why + ")");
}

// stb_image 2.27 (Debian 12) writes past a 257-entry array when the 16 code counts of a JPEG Huffman
// table add up to more than 256 (stbi__build_huffman); the JPEG standard allows at most 256 codes.
// Walks the markers (through the entropy-coded data of every scan: progressive files define tables
// between scans) and refuses such a table.
void check_jpeg_huffman_tables(const std::vector<uint8_t>& b, const std::string& name) {
  size_t p = 2;  // after SOI
  while (p + 4 <= b.size()) {
    if (b[p] != 0xFF) {  // entropy-coded data: skip to the next marker (FF 00 is a stuffed byte)
      ++p;
      continue;
    }
    const uint8_t m = b[p + 1];
    if (m == 0x00 || m == 0xFF || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {  // stuffing, fill, RSTn, TEM
      p += m == 0xFF ? 1 : 2;
      continue;
    }
    if (m == 0xD9) return;  // EOI
    const size_t len = size_t(b[p + 2]) << 8 | b[p + 3], end = std::min(p + 2 + len, b.size());
    if (len < 2) return;  // stb_image reports a malformed segment itself
    // DHT: tables of (class and id, 16 counts, the symbols). stb_image reads a table's 16 counts and
    // builds the table from them before it checks them against the segment's length, so the counts
    // are read as it reads them: past the segment's end when it is short, as far as the file goes.
    if (m == 0xC4)
      for (size_t q = p + 4; q < end;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16 && q + i < b.size(); ++i) codes += b[q + i];
        if (codes > 256) unreadable(name, "corrupt JPEG Huffman table");
        q += 17 + codes;
      }
    if (p + 2 + len > b.size()) return;  // stb_image reports the truncation itself
    p = end;
  }
}

// stb_image 2.27 reads an IDAT chunk's data to its buffer plus the bytes so far; before the first
// non-empty IDAT that buffer is a null pointer, and an empty IDAT makes that null + 0 (undefined
// behaviour, UBSan's "applying zero offset to null pointer"). No encoder writes an empty first IDAT;
// such a file is refused. Walks the chunks: length, type, data, CRC.
void check_png_chunks(const std::vector<uint8_t>& b, const std::string& name) {
  for (size_t p = 8; p + 8 <= b.size();) {
    const size_t len = size_t(b[p]) << 24 | size_t(b[p + 1]) << 16 | size_t(b[p + 2]) << 8 | b[p + 3];
    if (std::memcmp(&b[p + 4], "IDAT", 4) == 0) {
      if (len == 0) unreadable(name, "corrupt PNG: an empty IDAT chunk before the image data");
      return;
    }
    if (std::memcmp(&b[p + 4], "IEND", 4) == 0 || len > b.size()) return;
    p += 12 + len;
  }
}

// Why stb_image gave up, in words: its own reason when it has one (Debian's build often has none),
// and for a PNG whose chunks run past the end of the file, that it is truncated and where.
std::string decoder_failure(const std::vector<uint8_t>& b, bool png) {
  if (png) {
    size_t p = 8;
    while (p + 8 <= b.size()) {
      const size_t len = size_t(b[p]) << 24 | size_t(b[p + 1]) << 16 | size_t(b[p + 2]) << 8 | b[p + 3];
      if (std::memcmp(&b[p + 4], "IEND", 4) == 0) break;
      if (p + 12 + len > b.size())
        return "truncated PNG: the file ends inside its " + std::string(reinterpret_cast<const char*>(&b[p + 4]), 4) +
               " chunk, " + std::to_string(b.size()) + " bytes in all, where the chunk needs " +
               std::to_string(p + 12 + len);
      p += 12 + len;
    }
    if (p + 8 > b.size()) return "truncated PNG: the file ends before its IEND chunk";
  }
  const char* why = stbi_failure_reason();
  return why && *why ? std::string(why) : std::string("corrupt image data");
}

}  // namespace

Image decode_image_in_process(const std::vector<uint8_t>& bytes, const std::string& name) {
  // Only the formats gradtrace promises reach stb_image's decoders (its others - PSD, PIC, HDR, TGA,
  // GIF, PNM - are more attack surface for files nobody gives us).
  auto starts = [&](const char* magic, size_t n) {
    return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
  };
  const bool jpeg = starts("\xff\xd8\xff", 3), png = starts("\x89PNG\r\n\x1a\n", 8);
  if (!png && !jpeg && !starts("BM", 2)) unreadable(name, "not a PNG, JPEG or BMP file");
  if (bytes.size() > size_t(INT32_MAX)) unreadable(name, "too large");
  if (jpeg) check_jpeg_huffman_tables(bytes, name);
  if (png) check_png_chunks(bytes, name);
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &n)) unreadable(name, decoder_failure(bytes, png));
  if (double(w) * double(h) > 100e6)
    throw Error("image " + name + ": " + std::to_string(w) + "x" + std::to_string(h) +
                " is over 100 megapixels, refusing to load it");
  std::unique_ptr<uint8_t, void (*)(void*)> data(stbi_load_from_memory(bytes.data(), len, &w, &h, &n, 3),
                                                 stbi_image_free);
  if (!data) unreadable(name, decoder_failure(bytes, png));
  // The header that stbi_info read and the image that stbi_load decoded must agree.
  if (double(w) * double(h) > 100e6) unreadable(name, "inconsistent size");
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(data.get(), data.get() + size_t(w) * size_t(h) * 3);
  return img;
}

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  // stb_image's decoders run in a child process (io/sandbox.h); it sends back the size and pixels.
  const std::string out = in_child(
      "image " + name, "cannot read (the decoder crashed on it: a corrupt or hostile file)",
      [&] {
        const Image img = decode_image_in_process(bytes, name);
        const int32_t size[2] = {img.width, img.height};
        return std::string(reinterpret_cast<const char*>(size), sizeof size) +
               std::string(img.rgb.begin(), img.rgb.end());
      },
      ChildLimits{2.0 * (1 << 30), 60});  // 100 megapixels at most: 400 MB as RGBA, a few seconds
  Image img;
  int32_t size[2] = {0, 0};
  if (out.size() >= sizeof size) std::memcpy(size, out.data(), sizeof size);
  if (size[0] <= 0 || size[1] <= 0 || out.size() != sizeof size + size_t(size[0]) * size_t(size[1]) * 3)
    unreadable(name, "the decoder sent back a malformed image");
  img.width = size[0], img.height = size[1];
  img.rgb.assign(out.begin() + sizeof size, out.end());
  return img;
}

Tensor image_to_tensor(const Image& img) {
  const int64_t H = img.height, W = img.width;
  Tensor t = Tensor::empty({1, 3, H, W});
  float* p = t.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < H * W; ++i) p[c * H * W + i] = img.rgb[size_t(i * 3 + c)];
  return t;
}

Image tensor_to_image(const Tensor& t) {
  const int nd = t.ndim();
  if ((nd != 4 && nd != 3) || t.dim(nd - 3) != 3 || (nd == 4 && t.dim(0) != 1))
    throw Error("tensor_to_image: expected (1,3,H,W) or (3,H,W), got " + t.shape().str());
  const int64_t H = t.dim(nd - 2), W = t.dim(nd - 1);
  const std::vector<float> v = t.to_vector();
  Image img;
  img.width = static_cast<int>(W);
  img.height = static_cast<int>(H);
  img.rgb.resize(size_t(H * W * 3));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < H * W; ++i)
      img.rgb[size_t(i * 3 + c)] = static_cast<uint8_t>(std::lround(std::clamp(v[c * H * W + i], 0.0f, 255.0f)));
  return img;
}

}  // namespace gt
