#include "weights/image.h"

#include <stb_image.h>

#include <algorithm>
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

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  // Only the formats gradtrace promises reach stb_image's decoders (its others - PSD, PIC, HDR, TGA,
  // GIF, PNM - are more attack surface for files nobody gives us).
  auto starts = [&](const char* magic, size_t n) { return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0; };
  if (!starts("\x89PNG\r\n\x1a\n", 8) && !starts("\xff\xd8\xff", 3) && !starts("BM", 2))
    throw Error("image " + name + ": cannot read (not a PNG, JPEG or BMP file)");
  if (bytes.size() > size_t(INT32_MAX)) throw Error("image " + name + ": cannot read (too large)");
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &n))
    throw Error("image " + name + ": cannot read (" + std::string(stbi_failure_reason()) + ")");
  if (double(w) * double(h) > 100e6)
    throw Error("image " + name + ": " + std::to_string(w) + "x" + std::to_string(h) +
                " is over 100 megapixels, refusing to load it");
  std::unique_ptr<uint8_t, void (*)(void*)> data(stbi_load_from_memory(bytes.data(), len, &w, &h, &n, 3), stbi_image_free);
  if (!data) throw Error("image " + name + ": cannot read (" + std::string(stbi_failure_reason()) + ")");
  // The header that stbi_info read and the image that stbi_load decoded must agree (a second
  // header inside the file could say otherwise).
  if (double(w) * double(h) > 100e6) throw Error("image " + name + ": cannot read (inconsistent size)");
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(data.get(), data.get() + size_t(w) * size_t(h) * 3);
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
