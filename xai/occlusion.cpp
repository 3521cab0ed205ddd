#include "xai/occlusion.h"

#include "autodiff/tape.h"
#include "xai/method.h"

namespace gt::xai {

Tensor occlusion(const Model& model, const Tensor& x, const Tensor& baseline, const Target& t,
                 const OcclusionOptions& o) {
  if (x.ndim() != 4 || x.dim(0) != 1) throw Error("occlusion: expected one image (1,C,H,W), got " + x.shape().str());
  if (baseline.shape() != x.shape())
    throw Error("occlusion: the baseline has shape " + baseline.shape().str() + ", the input " + x.shape().str());
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3), HW = H * W;
  if (o.window < 1 || o.window > std::min(H, W) || o.stride < 1 || o.batch < 1)
    throw Error("occlusion: window must lie in [1, " + std::to_string(std::min(H, W)) + "] and stride, batch be >= 1");
  const int64_t ny = (H - o.window) / o.stride + 1, nx = (W - o.window) / o.stride + 1, windows = ny * nx;
  NoGradGuard no_grad;
  const double f_x = row_scores(model(x), t)[0];
  const std::vector<double> xv = x.to_vector_f64(), bv = baseline.to_vector_f64();
  std::vector<double> total(size_t(HW), 0.0), count(size_t(HW), 0.0);
  auto corner = [&](int64_t w) { return std::pair<int64_t, int64_t>{w / nx * o.stride, w % nx * o.stride}; };
  score_copies(
      model, x, windows, o.batch,
      [&](int64_t w, double* img) {  // x with window w taken from the baseline
        std::copy(xv.begin(), xv.end(), img);
        const auto [y0, x0] = corner(w);
        for (int64_t c = 0; c < C; ++c)
          for (int64_t yy = y0; yy < y0 + o.window; ++yy)
            std::copy_n(bv.data() + c * HW + yy * W + x0, o.window, img + c * HW + yy * W + x0);
      },
      [&](int64_t w0, const Tensor& logits) {
        const std::vector<double> scores = row_scores(logits, t);
        for (size_t j = 0; j < scores.size(); ++j) {
          const double drop = f_x - scores[j];
          const auto [y0, x0] = corner(w0 + int64_t(j));
          for (int64_t yy = y0; yy < y0 + o.window; ++yy)
            for (int64_t xx = x0; xx < x0 + o.window; ++xx)
              total[size_t(yy * W + xx)] += drop, count[size_t(yy * W + xx)] += 1;
        }
        if (o.progress) o.progress(w0 + int64_t(scores.size()), windows);
      });
  std::vector<double> out(size_t(C * HW));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < HW; ++i)
      out[size_t(c * HW + i)] = count[size_t(i)] ? total[size_t(i)] / count[size_t(i)] : 0.0;
  return Tensor::from_vector(x.shape(), out, x.dtype());
}

// ---- registry entry ----
Method occlusion_entry() {
  Method m;
  m.name = "occlusion";
  m.summary = "the score's drop when a sliding window covers the image";
  m.paper = "Zeiler & Fergus 2014";
  m.options = {int_option("window", 16, 1, 1 << 16, "W", "window side in pixels"),
               int_option("stride", 8, 1, 1 << 16, "S", "step in pixels"),
               real_option("fill", 128, 0, 255, "V", "pixel value the window shows, before preprocessing (128: gray)"),
               batch_option(16, "occluded copies")};
  m.gradient_free = true;
  m.cost = Cost::hundreds;
  m.progress_unit = "windows";
  m.run = [](Subject& s, const Target& t, const Options& o, const Progress& progress) {
    OcclusionOptions oo;
    oo.window = int(o.integer("window"));
    oo.stride = int(o.integer("stride"));
    oo.batch = int(o.integer("batch"));
    oo.progress = progress;
    const double fill = o.real("fill");
    MethodResult r;
    r.attribution = occlusion(s.fn, s.x, s.pixel_fill(fill), t, oo);
    r.params = fmt("window %.0f, stride %.0f, fill %.0f", oo.window, oo.stride, fill);
    return r;
  };
  return m;
}

}  // namespace gt::xai
