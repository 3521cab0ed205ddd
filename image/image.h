// Image input: PNG/JPEG/BMP (stb_image) to an RGB byte image, and to a (1,3,H,W) tensor.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/tensor.h"

namespace gt {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
};

// PNG, JPEG or BMP; gray, RGBA and 16-bit converted to 8-bit RGB. Refuses images over 100 megapixels.
Image load_image(const std::string& path);
// The same from the file's bytes (PNG, JPEG or BMP; anything else is refused); name is for messages.
// stb_image decodes in a child process, so that a decoder bug on a hostile file ends in a clean error.
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name);
// The decoding itself, in this process (the fuzz target, which must see stb_image's coverage).
Image decode_image_in_process(const std::vector<uint8_t>& bytes, const std::string& name);
// (1,3,H,W) float32 with values in [0, 255] (preprocessing is applied later, per model).
Tensor image_to_tensor(const Image& img);
// (1,3,H,W) or (3,H,W) values, clamped to [0, 255] and rounded.
Image tensor_to_image(const Tensor& t);

}  // namespace gt
