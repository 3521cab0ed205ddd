// 16-bit floats in weights files (TF Lite float16, ONNX float16 and bfloat16), widened to float.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace gt {

// IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits; subnormals, infinities and NaN kept.
inline float half_to_float(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  const float v = e == 0    ? std::ldexp(float(m), -24)
                  : e == 31 ? (m ? NAN : INFINITY)
                            : std::ldexp(float(m | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

// bfloat16: the upper half of a float32.
inline float bfloat16_to_float(uint16_t b) {
  const uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace gt
