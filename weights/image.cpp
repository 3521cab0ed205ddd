#include "weights/image.h"

#include <stb_image.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

namespace gt {

Image load_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("image " + path + ": cannot read (cannot open the file)");
  const std::streamoff size = in.tellg();
  if (size < 0 || size > (std::streamoff(1) << 30)) throw Error("image " + path + ": cannot read (larger than 1 GiB)");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) throw Error("image " + path + ": cannot read (read error)");
  return decode_image(bytes, path);
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
    const size_t len = size_t(b[p + 2]) << 8 | b[p + 3], end = p + 2 + len;
    if (len < 2 || end > b.size()) return;  // stb_image reports a truncated segment itself
    if (m == 0xC4)  // DHT: tables of (class and id, 16 counts, the symbols)
      for (size_t q = p + 4; q < end;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16 && q + i < end; ++i) codes += b[q + i];
        if (q + 17 > end || codes > 256 || q + 17 + codes > end) unreadable(name, "corrupt JPEG Huffman table");
        q += 17 + codes;
      }
    p = end;
  }
}

bool read_all(int fd, void* dst, size_t n) {
  for (auto* p = static_cast<char*>(dst); n > 0;) {
    const ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k, n -= size_t(k);
  }
  return true;
}

bool write_all(int fd, const void* src, size_t n) {
  for (auto* p = static_cast<const char*>(src); n > 0;) {
    const ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k, n -= size_t(k);
  }
  return true;
}
}  // namespace

Image decode_image_in_process(const std::vector<uint8_t>& bytes, const std::string& name) {
  // Only the formats gradtrace promises reach stb_image's decoders (its others - PSD, PIC, HDR, TGA,
  // GIF, PNM - are more attack surface for files nobody gives us).
  auto starts = [&](const char* magic, size_t n) { return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0; };
  const bool jpeg = starts("\xff\xd8\xff", 3);
  if (!starts("\x89PNG\r\n\x1a\n", 8) && !jpeg && !starts("BM", 2)) unreadable(name, "not a PNG, JPEG or BMP file");
  if (bytes.size() > size_t(INT32_MAX)) unreadable(name, "too large");
  if (jpeg) check_jpeg_huffman_tables(bytes, name);
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &n)) unreadable(name, stbi_failure_reason());
  if (double(w) * double(h) > 100e6)
    throw Error("image " + name + ": " + std::to_string(w) + "x" + std::to_string(h) +
                " is over 100 megapixels, refusing to load it");
  std::unique_ptr<uint8_t, void (*)(void*)> data(stbi_load_from_memory(bytes.data(), len, &w, &h, &n, 3), stbi_image_free);
  if (!data) unreadable(name, stbi_failure_reason());
  // The header that stbi_info read and the image that stbi_load decoded must agree.
  if (double(w) * double(h) > 100e6) unreadable(name, "inconsistent size");
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(data.get(), data.get() + size_t(w) * size_t(h) * 3);
  return img;
}

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  // stb_image's decoders have known memory-safety bugs on hostile files that we cannot fix from
  // outside. They run in a child process: if one crashes (or a sanitizer stops it), gradtrace says
  // so in one line, and its own memory was never exposed. The child sends back a status, the size
  // and the pixels (or the error message) through a pipe.
  int fds[2];
  if (pipe(fds) != 0) return decode_image_in_process(bytes, name);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    return decode_image_in_process(bytes, name);
  }
  if (pid == 0) {
    close(fds[0]);
    int32_t head[3] = {0, 0, 0};  // ok (1) or error (0); width and height, or the message's length
    std::string message;
    Image img;
    try {
      img = decode_image_in_process(bytes, name);
      head[0] = 1, head[1] = img.width, head[2] = img.height;
    } catch (const std::exception& e) {
      message = e.what();
      head[2] = int32_t(message.size());
    }
    const bool ok = write_all(fds[1], head, sizeof head) &&
                    (head[0] ? write_all(fds[1], img.rgb.data(), img.rgb.size()) : write_all(fds[1], message.data(), message.size()));
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  int32_t head[3] = {0, 0, 0};
  Image img;
  std::string message;
  bool got = read_all(fds[0], head, sizeof head);
  if (got && head[0] == 1 && head[1] > 0 && head[2] > 0 && double(head[1]) * double(head[2]) <= 100e6) {
    img.width = head[1], img.height = head[2];
    img.rgb.resize(size_t(head[1]) * size_t(head[2]) * 3);
    got = read_all(fds[0], img.rgb.data(), img.rgb.size());
  } else if (got && head[0] == 0 && head[2] >= 0 && head[2] < (1 << 16)) {
    message.resize(size_t(head[2]));
    got = read_all(fds[0], message.data(), message.size());
  } else {
    got = false;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    unreadable(name, "the decoder crashed on it: a corrupt or hostile file");
  if (!message.empty()) throw Error(message);
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
