#include "xai/superpixels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "autodiff/tensor.h"

namespace gt::xai {
namespace {

using Lab = std::array<double, 3>;

// sRGB (0..255) -> CIELAB under D65: undo the sRGB gamma, take XYZ, then
//   L = 116 f(Y/Yn) - 16,  a = 500 (f(X/Xn) - f(Y/Yn)),  b = 200 (f(Y/Yn) - f(Z/Zn)),
//   f(t) = t^(1/3) above (6/29)^3, else t / (3 (6/29)^2) + 4/29.
Lab to_lab(double r8, double g8, double b8) {
  auto linear = [](double c) {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  const double r = linear(r8), g = linear(g8), b = linear(b8);
  const double X = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const double Y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double Z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
  constexpr double d = 6.0 / 29;
  auto f = [&](double t) { return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29; };
  return {116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))};
}

double sq_dist(const Lab& p, const Lab& q) {
  return (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2]);
}

struct Centre {
  Lab lab;
  double y, x;
};

// Relabels every 4-connected region of one label as its own segment, numbered in raster order of
// their first pixels. A region smaller than min_size joins a region it touches that is already
// numbered (the one above or left of its first pixel always is, unless it starts at (0, 0)).
Segments connected(const std::vector<int32_t>& label, int64_t H, int64_t W, int64_t min_size) {
  Segments s{H, W, 0, std::vector<int32_t>(size_t(H * W), -1)};
  std::vector<int64_t> region;
  const int64_t dy[] = {-1, 1, 0, 0}, dx[] = {0, 0, -1, 1};
  for (int64_t start = 0; start < H * W; ++start) {
    if (s.label[size_t(start)] >= 0) continue;
    const int32_t old = label[size_t(start)];
    int32_t touching = -1;
    region.assign(1, start);
    s.label[size_t(start)] = -2;  // in the region being grown
    for (size_t i = 0; i < region.size(); ++i) {
      const int64_t y = region[i] / W, x = region[i] % W;
      for (int d = 0; d < 4; ++d) {
        const int64_t yy = y + dy[d], xx = x + dx[d];
        if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
        const int64_t q = yy * W + xx;
        const int32_t got = s.label[size_t(q)];
        if (got == -1 && label[size_t(q)] == old) {
          s.label[size_t(q)] = -2;
          region.push_back(q);
        } else if (got >= 0 && touching < 0) {
          touching = got;
        }
      }
    }
    const bool small = int64_t(region.size()) < min_size && touching >= 0;
    const int32_t id = small ? touching : int32_t(s.count++);
    for (int64_t p : region) s.label[size_t(p)] = id;
  }
  return s;
}

}  // namespace

Segments slic(const std::vector<float>& rgb, int64_t C, int64_t H, int64_t W, int64_t segments, double compactness,
              int iterations) {
  if ((C != 1 && C != 3) || H < 1 || W < 1 || int64_t(rgb.size()) != C * H * W)
    throw Error("slic: expected 1 or 3 planes of " + std::to_string(H) + "x" + std::to_string(W) + " pixels");
  if (segments < 1 || !(compactness > 0))
    throw Error("slic: the number of segments must be >= 1 and the compactness > 0");
  const int64_t N = H * W;
  std::vector<Lab> img(static_cast<size_t>(N));
  for (int64_t p = 0; p < N; ++p)
    img[size_t(p)] = C == 3 ? to_lab(rgb[size_t(p)], rgb[size_t(N + p)], rgb[size_t(2 * N + p)])
                            : Lab{100.0 * rgb[size_t(p)] / 255, 0, 0};

  // Centres on a grid of about `segments` cells of side S, each moved to the pixel of least colour
  // gradient |I(y, x+1) - I(y, x-1)|^2 + |I(y+1, x) - I(y-1, x)|^2 in its 3x3 neighbourhood.
  const double S = std::sqrt(double(N) / double(segments));
  const int64_t ny = std::clamp<int64_t>(int64_t(std::llround(double(H) / S)), 1, H),
                nx = std::clamp<int64_t>(int64_t(std::llround(double(W) / S)), 1, W);
  auto at = [&](int64_t y, int64_t x) -> const Lab& {
    return img[size_t(std::clamp<int64_t>(y, 0, H - 1) * W + std::clamp<int64_t>(x, 0, W - 1))];
  };
  auto gradient = [&](int64_t y, int64_t x) {
    return sq_dist(at(y, x + 1), at(y, x - 1)) + sq_dist(at(y + 1, x), at(y - 1, x));
  };
  std::vector<Centre> centres;
  for (int64_t i = 0; i < ny; ++i)
    for (int64_t j = 0; j < nx; ++j) {
      int64_t cy = (2 * i + 1) * H / (2 * ny), cx = (2 * j + 1) * W / (2 * nx);
      double best = gradient(cy, cx);
      for (int64_t y = std::max<int64_t>(0, cy - 1); y <= std::min(H - 1, cy + 1); ++y)
        for (int64_t x = std::max<int64_t>(0, cx - 1); x <= std::min(W - 1, cx + 1); ++x)
          if (gradient(y, x) < best) best = gradient(y, x), cy = y, cx = x;
      centres.push_back({img[size_t(cy * W + cx)], double(cy), double(cx)});
    }

  // k-means rounds, each centre searching its 2S x 2S window: D^2 = d_lab^2 + (m / S)^2 d_xy^2.
  const double w = (compactness / S) * (compactness / S);
  const int64_t reach = int64_t(std::ceil(S));
  // A pixel no window reaches in a round keeps its label; before the first round, its grid cell's.
  std::vector<int32_t> label(static_cast<size_t>(N));
  for (int64_t p = 0; p < N; ++p) label[size_t(p)] = int32_t(p / W * ny / H * nx + p % W * nx / W);
  std::vector<double> dist(static_cast<size_t>(N));
  for (int it = 0; it < iterations; ++it) {
    std::fill(dist.begin(), dist.end(), std::numeric_limits<double>::infinity());
    for (size_t k = 0; k < centres.size(); ++k) {
      const Centre& c = centres[k];
      const int64_t cy = int64_t(std::llround(c.y)), cx = int64_t(std::llround(c.x));
      const int64_t y0 = std::max<int64_t>(0, cy - reach), y1 = std::min(H - 1, cy + reach);
      const int64_t x0 = std::max<int64_t>(0, cx - reach), x1 = std::min(W - 1, cx + reach);
      for (int64_t y = y0; y <= y1; ++y)
        for (int64_t x = x0; x <= x1; ++x) {
          const int64_t p = y * W + x;
          const double d = sq_dist(img[size_t(p)], c.lab) + w * ((y - c.y) * (y - c.y) + (x - c.x) * (x - c.x));
          if (d < dist[size_t(p)]) dist[size_t(p)] = d, label[size_t(p)] = int32_t(k);
        }
    }
    // Each centre moves to the mean (L, a, b, y, x) of its pixels; one with none stays put.
    std::vector<std::array<double, 6>> sum(centres.size(), {0, 0, 0, 0, 0, 0});
    for (int64_t p = 0; p < N; ++p) {
      auto& s = sum[size_t(label[size_t(p)])];
      const Lab& v = img[size_t(p)];
      s[0] += v[0], s[1] += v[1], s[2] += v[2], s[3] += double(p / W), s[4] += double(p % W), s[5] += 1;
    }
    for (size_t k = 0; k < centres.size(); ++k)
      if (const auto& s = sum[k]; s[5] > 0)
        centres[k] = {{s[0] / s[5], s[1] / s[5], s[2] / s[5]}, s[3] / s[5], s[4] / s[5]};
  }
  return connected(label, H, W, N / int64_t(centres.size()) / 4);
}

}  // namespace gt::xai
