#include "xai/viz.h"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::viz {

std::vector<float> normalize01(const std::vector<float>& v) {
  if (v.empty()) return v;
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const float a = *lo, range = *hi - *lo;
  std::vector<float> out(v.size(), 0.0f);
  if (range > 0)
    for (size_t i = 0; i < v.size(); ++i) out[i] = (v[i] - a) / range;
  return out;
}

std::vector<std::string> colormap_names() { return {"hot", "gray"}; }

namespace {
// matplotlib's 'hot' segments: red rises from 0.0416 to 1 over [0, 0.365], green over
// [0.365, 0.746], blue over [0.746, 1].
void hot(double t, uint8_t* rgb) {
  auto ramp = [t](double a, double b) { return std::clamp((t - a) / (b - a), 0.0, 1.0); };
  rgb[0] = static_cast<uint8_t>(std::lround(255 * (0.0416 + 0.9584 * ramp(0.0, 0.365079))));
  rgb[1] = static_cast<uint8_t>(std::lround(255 * ramp(0.365079, 0.746032)));
  rgb[2] = static_cast<uint8_t>(std::lround(255 * ramp(0.746032, 1.0)));
}
}  // namespace

Image colorize(const std::vector<float>& map01, int w, int h, const std::string& cmap) {
  if (static_cast<int64_t>(map01.size()) != int64_t(w) * h)
    throw Error("colorize: map has " + std::to_string(map01.size()) + " values for " + std::to_string(w) + "x" +
                std::to_string(h));
  const auto names = colormap_names();
  if (std::find(names.begin(), names.end(), cmap) == names.end())
    throw Error("unknown colormap '" + cmap + "' (known: hot, gray)");
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(map01.size() * 3);
  for (size_t i = 0; i < map01.size(); ++i) {
    const double t = std::clamp<double>(map01[i], 0.0, 1.0);
    uint8_t* p = &img.rgb[i * 3];
    if (cmap == "hot") hot(t, p);
    else p[0] = p[1] = p[2] = static_cast<uint8_t>(std::lround(255 * t));
  }
  return img;
}

Image overlay(const Image& base_in, const Image& heat, double alpha) {
  if (alpha < 0 || alpha > 1) throw Error("overlay: alpha must lie in [0, 1], got " + std::to_string(alpha));
  Image base = base_in;
  if (base.width != heat.width || base.height != heat.height) {
    NoGradGuard no_grad;
    base = tensor_to_image(ops::resize_bilinear(image_to_tensor(base_in), heat.height, heat.width));
  }
  Image out = heat;
  for (size_t i = 0; i < out.rgb.size(); ++i)
    out.rgb[i] = static_cast<uint8_t>(std::lround(alpha * heat.rgb[i] + (1 - alpha) * base.rgb[i]));
  return out;
}

void write_png(const std::string& path, const Image& img) {
  const std::string tmp = path + ".tmp.png";
  if (!stbi_write_png(tmp.c_str(), img.width, img.height, 3, img.rgb.data(), img.width * 3)) {
    std::remove(tmp.c_str());
    throw Error("cannot write PNG " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot move the finished PNG into place at " + path);
  }
}

}  // namespace gt::viz
