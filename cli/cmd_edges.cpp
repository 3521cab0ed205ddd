// gradtrace edges: the smallest end-to-end example: a tiny conv net with hand-set Sobel filters, image in,
// saliency PNG out.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "cli/cli.h"
#include "image/image.h"
#include "io/hdf5.h"
#include "nn/tiny_cnn.h"
#include "render/viz.h"
#include "xai/saliency.h"

namespace gt::cli {
namespace {

const char* kHelp =
    "usage: gradtrace edges [options]\n"
    "\n"
    "Runs a tiny CNN whose first layer holds Sobel edge filters (class 0 = 'edges', class 1 = 'flat'),\n"
    "computes the saliency map d y_edges / d x on gradtrace's own tape, and writes a PNG with three\n"
    "panels: the input, the saliency map, and the map blended over the input.\n"
    "\n"
    "options:\n"
    "  --image FILE     PNG/JPEG/BMP input (default: a generated picture of a disc and a square)\n"
    "  --out FILE       output PNG (default: saliency.png)\n"
    "  --size S         the image is resized to SxS before the net (default 128)\n"
    "  --cmap NAME      colormap: hot, viridis, plasma, inferno, magma, gray, jet, turbo, bwr (default hot)\n"
    "  --alpha A        weight of the map in the overlay panel (default 0.5)\n"
    "  --raw FILE       also write the raw result as HDF5: attribution [1,3,S,S], map [S,S]\n" GT_FLAG_CAPTION
        GT_FLAG_THREADS;

// A 128x128 picture: a bright disc and a dark square on a flat background.
Image synthetic_image() {
  Image img;
  img.width = img.height = 128;
  img.rgb.resize(128 * 128 * 3);
  for (int y = 0; y < 128; ++y)
    for (int x = 0; x < 128; ++x) {
      uint8_t* p = &img.rgb[size_t(y * 128 + x) * 3];
      const int bg = 110;
      const bool disc = (x - 44) * (x - 44) + (y - 48) * (y - 48) < 26 * 26;
      const bool square = x >= 72 && x < 112 && y >= 68 && y < 108;
      p[0] = disc ? 240 : square ? 30 : bg;
      p[1] = disc ? 200 : square ? 40 : bg;
      p[2] = disc ? 60 : square ? 120 : bg + 20;
    }
  return img;
}

}  // namespace

int run_edges(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--no-caption"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string image_path = a.get("--image", "");
  const std::string out = a.get("--out", "saliency.png");
  const std::string raw = a.get("--raw", "");
  const int64_t size = a.get_int("--size", 128, 8, 4096);
  const std::string cmap = a.get("--cmap", "hot");
  const double alpha = a.get_double("--alpha", 0.5, 0.0, 1.0);
  const bool caption = !a.flag("--no-caption");
  apply_threads(a);
  a.finish();
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  check_colormap(cmap);

  const Image original = image_path.empty() ? synthetic_image() : load_image(image_path);
  Tensor x;
  {
    NoGradGuard no_grad;
    x = ops::resize_bilinear(image_to_tensor(original), size, size);
  }
  auto net = nn::tiny_edge_cnn();
  const xai::Model model = [&](const Tensor& in) { return (*net)(in); };
  Tensor logits;
  {
    NoGradGuard no_grad;
    logits = model(x);
  }
  std::printf("logits: edges %.4f, flat %.4f\n", logits.at(0), logits.at(1));
  const Tensor grad = xai::saliency(model, x, 0);
  const std::vector<float> map = xai::channel_map(grad);
  const Image input = tensor_to_image(x);
  const Image heat = viz::colorize(viz::normalize(map, viz::Norm::minmax), int(size), int(size), cmap);
  const Image panel =
      figure({input, heat, viz::overlay(input, heat, alpha)}, "saliency of class 'edges', a hand-set Sobel net",
             {"input", "saliency", "overlay"}, caption);
  if (!raw.empty()) {
    h5::File f(raw, h5::File::Mode::write);
    f.write("attribution", grad);
    f.write("map", Tensor::from_vector({size, size}, map));
    f.set_attr("target", 0.0);
    f.commit();
    std::printf("wrote %s\n", raw.c_str());
  }
  viz::write_png(out, panel);
  std::printf("wrote %s (%dx%d: input | saliency of class 'edges' | overlay)\n", out.c_str(), panel.width,
              panel.height);
  return 0;
}

}  // namespace gt::cli
