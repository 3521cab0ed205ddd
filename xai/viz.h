// Visualisation: normalise a map, colour it, blend it over the image, write a PNG.
#pragma once
#include <string>
#include <vector>

#include "autodiff/tensor.h"
#include "weights/image.h"

namespace gt::viz {

// min-max normalisation of a map to [0, 1] (a constant map becomes all zeros).
std::vector<float> normalize01(const std::vector<float>& v);
// Names accepted by colorize().
std::vector<std::string> colormap_names();
// map in [0,1] of size w*h -> RGB image through the named colormap.
Image colorize(const std::vector<float>& map01, int w, int h, const std::string& cmap);
// alpha * heat + (1 - alpha) * base, after resizing base to heat's size if needed.
Image overlay(const Image& base, const Image& heat, double alpha);
// Writes a PNG atomically (temporary file, then rename).
void write_png(const std::string& path, const Image& img);

}  // namespace gt::viz
