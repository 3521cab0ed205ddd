#include "render/viz.h"

#include <stb_image_write.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::viz {

namespace {
// The value below which (100 - clip)% of xs lie (nearest rank); xs is taken by value and reordered.
float upper_percentile(std::vector<float> xs, double clip) {
  const size_t k =
      std::min(xs.size() - 1, static_cast<size_t>(std::floor((1.0 - clip / 100.0) * double(xs.size() - 1) + 0.5)));
  std::nth_element(xs.begin(), xs.begin() + long(k), xs.end());
  return xs[k];
}
}  // namespace

std::vector<float> normalize(const std::vector<float>& v, Norm n, double clip) {
  if (v.empty()) return v;
  std::vector<float> out(v.size(), n == Norm::symmetric ? 0.5f : 0.0f);
  if (n == Norm::symmetric) {
    std::vector<float> mags(v.size());
    for (size_t i = 0; i < v.size(); ++i) mags[i] = std::abs(v[i]);
    const float m = upper_percentile(std::move(mags), clip);
    if (m > 0)
      for (size_t i = 0; i < v.size(); ++i) out[i] = 0.5f + 0.5f * std::clamp(v[i] / m, -1.0f, 1.0f);
    return out;
  }
  const float lo = *std::min_element(v.begin(), v.end());
  const float hi = n == Norm::percentile ? upper_percentile(v, clip) : *std::max_element(v.begin(), v.end());
  if (hi > lo)
    for (size_t i = 0; i < v.size(); ++i) out[i] = std::clamp((v[i] - lo) / (hi - lo), 0.0f, 1.0f);
  return out;
}

namespace {
// min(floor(256 t), 255) into a 256-entry table, as matplotlib indexes its lookup tables.
struct Colormap {
  const char* name;
  uint8_t rgb[256 * 3];
};
const Colormap kColormaps[] = {
#include "render/colormaps.inc"
};
}  // namespace

std::vector<std::string> colormap_names() {
  std::vector<std::string> v;
  for (const Colormap& c : kColormaps) v.push_back(c.name);
  return v;
}

std::string colormap_list() {
  std::string s;
  for (const Colormap& c : kColormaps) s += (s.empty() ? "" : ", ") + std::string(c.name);
  return s;
}

Image colorize(const std::vector<float>& map01, int w, int h, const std::string& cmap) {
  if (static_cast<int64_t>(map01.size()) != int64_t(w) * h)
    throw Error("colorize: map has " + std::to_string(map01.size()) + " values for " + std::to_string(w) + "x" +
                std::to_string(h));
  const Colormap* cm = nullptr;
  for (const Colormap& c : kColormaps)
    if (cmap == c.name) cm = &c;
  if (!cm) throw Error("unknown colormap '" + cmap + "' (known: " + colormap_list() + ")");
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(map01.size() * 3);
  for (size_t i = 0; i < map01.size(); ++i) {
    const float t = std::isfinite(map01[i]) ? std::clamp(map01[i], 0.0f, 1.0f) : 0.0f;
    const int k = std::min(static_cast<int>(t * 256.0f), 255);
    std::copy_n(cm->rgb + 3 * k, 3, &img.rgb[i * 3]);
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

Image side_by_side(const std::vector<Image>& panels, int gap) {
  Image out;
  for (const Image& p : panels) {
    out.width += p.width + (out.width ? gap : 0);
    out.height = std::max(out.height, p.height);
  }
  out.rgb.assign(size_t(out.width) * out.height * 3, 255);  // white gaps and margins
  int x0 = 0;
  for (const Image& p : panels) {
    for (int y = 0; y < p.height; ++y)
      std::copy_n(&p.rgb[size_t(y * p.width) * 3], p.width * 3, &out.rgb[(size_t(y) * out.width + x0) * 3]);
    x0 += p.width + gap;
  }
  return out;
}

Image blank(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(size_t(w) * size_t(h) * 3, 255);
  return img;
}

void fill_rect(Image& img, int x, int y, int w, int h, Rgb c) {
  for (int j = std::max(0, y); j < std::min(img.height, y + h); ++j)
    for (int i = std::max(0, x); i < std::min(img.width, x + w); ++i) {
      uint8_t* p = &img.rgb[(size_t(j) * img.width + i) * 3];
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
}

void outline(Image& img, const std::vector<int32_t>& label, Rgb c) {
  if (label.size() != size_t(img.width) * size_t(img.height)) throw Error("outline: the labels do not fit the image");
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const size_t p = size_t(y) * size_t(img.width) + size_t(x);
      if ((x + 1 < img.width && label[p + 1] != label[p]) ||
          (y + 1 < img.height && label[p + size_t(img.width)] != label[p]))
        fill_rect(img, x, y, 1, 1, c);
    }
}

void draw_text(Image& img, int x, int y, const std::string& s, Rgb c, int scale, bool vertical) {
  static const std::map<char, std::array<uint8_t, 7>> font = {
#include "render/font5x7.inc"
  };
  int pen = 0;  // along the text: 6 font pixels per character
  for (char ch : s) {
    const auto it = font.find(char(std::toupper(static_cast<unsigned char>(ch))));
    if (it != font.end())
      for (int row = 0; row < 7; ++row)
        for (int col = 0; col < 5; ++col) {
          if (!(it->second[size_t(row)] >> (4 - col) & 1)) continue;
          // horizontal: (pen + col, row); vertical (turned 90 degrees left): (row, -(pen + col))
          const int px = vertical ? x + row * scale : x + (pen + col) * scale;
          const int py = vertical ? y - (pen + col) * scale : y + row * scale;
          fill_rect(img, px, py, scale, scale, c);
        }
    pen += 6;
  }
}

namespace {
// Each pixel repeated factor x factor times (nearest neighbour): small inputs such as 28x28
// Fashion-MNIST stay crisp when shown large.
Image upscale(const Image& img, int factor) {
  Image out;
  out.width = img.width * factor;
  out.height = img.height * factor;
  out.rgb.resize(size_t(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      std::copy_n(&img.rgb[(size_t(y / factor) * img.width + x / factor) * 3], 3,
                  &out.rgb[(size_t(y) * out.width + x) * 3]);
  return out;
}
}  // namespace

Image enlarge(const Image& img, int min_side) {
  const int side = std::max(1, std::min(img.width, img.height));
  return side < min_side ? upscale(img, min_side / side) : img;
}

Image panels(const std::vector<Image>& images, int gap, int min_side) {
  std::vector<Image> big;
  for (const Image& img : images) big.push_back(enlarge(img, min_side));
  return side_by_side(big, gap);
}

namespace {
// s, cut to at most `chars` characters ("..": it went on).
std::string fit(const std::string& s, int chars) {
  if (int(s.size()) <= chars) return s;
  return chars <= 2 ? s.substr(0, size_t(std::max(chars, 0))) : s.substr(0, size_t(chars - 2)) + "..";
}

// A white strip of width w holding `text` left-aligned, in glyphs `scale` pixels per font pixel.
Image text_strip(const std::string& text, int w, int scale) {
  const int pad = 2 * scale;
  Image strip = blank(w, 7 * scale + 2 * pad);
  draw_text(strip, pad, pad, fit(text, (w - 2 * pad) / (6 * scale)), {30, 30, 30}, scale);
  return strip;
}
}  // namespace

Image captioned(const std::vector<Image>& images, const std::string& title, const std::vector<std::string>& names,
                int gap, int min_side) {
  std::vector<Image> labelled;
  for (size_t i = 0; i < images.size(); ++i) {
    const Image big = enlarge(images[i], min_side);
    const int scale = std::max(1, big.width / 112);  // 224 px panels: 14 px letters
    labelled.push_back(i < names.size() ? stack({big, text_strip(names[i], big.width, scale)}) : big);
  }
  const Image row = side_by_side(labelled, gap);
  return stack({text_strip(title, row.width, std::max(1, row.width / 340)), row});
}

Image stack(const std::vector<Image>& rows, int gap) {
  Image out;
  for (const Image& r : rows) {
    out.height += r.height + (out.height ? gap : 0);
    out.width = std::max(out.width, r.width);
  }
  out.rgb.assign(size_t(out.width) * out.height * 3, 255);
  int y0 = 0;
  for (const Image& r : rows) {
    for (int y = 0; y < r.height; ++y)
      std::copy_n(&r.rgb[size_t(y * r.width) * 3], r.width * 3, &out.rgb[(size_t(y0 + y) * out.width) * 3]);
    y0 += r.height + gap;
  }
  return out;
}

void write_png(const std::string& path, const Image& img) {
  const std::string tmp = path + ".tmp.png";
  if (!stbi_write_png(tmp.c_str(), img.width, img.height, 3, img.rgb.data(), img.width * 3)) {
    const int err = errno;
    std::remove(tmp.c_str());
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    const std::string why = !folder.empty() && !std::filesystem::is_directory(folder)
                                ? "the folder " + folder.string() + " does not exist"
                                : std::string(std::strerror(err ? err : EIO));
    throw Error("cannot write PNG " + path + " (" + why + ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot move the finished PNG into place at " + path);
  }
}

}  // namespace gt::viz
