// Visualisation: normalise a map, colour it, blend it over the image, write a PNG.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/tensor.h"
#include "image/image.h"

namespace gt::viz {

// Normalisation of a map to [0, 1] for a colormap:
//   minmax      (v - min) / (max - min)
//   percentile  the same with max replaced by the value that `clip` percent of the map lie above,
//               and values above it clipped to 1: one hot pixel no longer darkens the whole map
//   symmetric   for signed maps: 0.5 + 0.5 v / m, m = that percentile of |v|, so that 0 sits in the
//               middle of a diverging colormap (bwr) and the sign stays visible
// A constant map becomes all 0 (symmetric: all 0.5).
enum class Norm { minmax, percentile, symmetric };
std::vector<float> normalize(const std::vector<float>& v, Norm n, double clip = 1.0);
// Names accepted by colorize(), and the same as one comma-separated string for messages.
std::vector<std::string> colormap_names();
std::string colormap_list();
// map in [0,1] of size w*h -> RGB image through the named colormap (matplotlib's 256-entry tables:
// hot, viridis, plasma, inferno, magma, gray, jet, turbo, bwr).
Image colorize(const std::vector<float>& map01, int w, int h, const std::string& cmap);
// alpha * heat + (1 - alpha) * base, after resizing base to heat's size if needed.
Image overlay(const Image& base, const Image& heat, double alpha);
// Panels left to right with `gap` white pixels between them (top-aligned).
Image side_by_side(const std::vector<Image>& panels, int gap = 0);
// A small image (shorter side under min_side pixels) enlarged by the integer factor that brings it
// closest to min_side; others unchanged.
Image enlarge(const Image& img, int min_side = 112);
// Images enlarged, then side by side: what the commands write for a 28x28 input.
Image panels(const std::vector<Image>& images, int gap = 4, int min_side = 112);
// Panels top to bottom with `gap` white pixels between them (left-aligned).
Image stack(const std::vector<Image>& rows, int gap = 0);
// panels() with words, so that a figure pasted into a presentation explains itself: `title` in a
// strip above (the method, the class and its probability) and each panel's name under it
// ("original", "counterfactual", "difference"), in the built-in 5x7 font (ASCII letters, digits and
// a few signs; others are left blank). Text that does not fit is cut with "..".
Image captioned(const std::vector<Image>& images, const std::string& title, const std::vector<std::string>& names,
                int gap = 4, int min_side = 112);
// Drawing for plots: a white canvas, filled rectangles, and text in a 5x7 bitmap font (upper case;
// lower case is drawn as upper case), scaled by an integer; vertical text runs bottom to top.
struct Rgb {
  uint8_t r, g, b;
};
Image blank(int w, int h);
// (x, y) is the top-left corner; whatever falls outside the image is clipped.
void fill_rect(Image& img, int x, int y, int w, int h, Rgb c);
// Marks in c every pixel whose right or lower neighbour has another label (label: one per pixel,
// row-major): the borders of segments, such as LIME's superpixels.
void outline(Image& img, const std::vector<int32_t>& label, Rgb c);
// Horizontal text has its top-left at (x, y); vertical text starts at (x, y) and runs upwards.
void draw_text(Image& img, int x, int y, const std::string& s, Rgb c, int scale = 1, bool vertical = false);
// Writes a PNG atomically (temporary file, then rename).
void write_png(const std::string& path, const Image& img);

}  // namespace gt::viz
