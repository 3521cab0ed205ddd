#include "image/preprocess.h"

#include <algorithm>
#include <cmath>

#include "io/hdf5.h"

namespace gt {

namespace {
// Weights of a triangle (bilinear) filter whose support widens with the downscale factor, so that
// shrinking averages every source pixel instead of sampling a few (PIL's BILINEAR resize does the
// same). For each output index: the first source index and its normalised weights.
struct Taps {
  std::vector<int64_t> first;
  std::vector<std::vector<float>> w;
};
Taps triangle_taps(int64_t in, int64_t out) {
  const double scale = double(in) / double(out), support = std::max(scale, 1.0);
  Taps t;
  for (int64_t o = 0; o < out; ++o) {
    const double centre = (o + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(0, int64_t(centre - support + 0.5));
    const int64_t hi = std::min<int64_t>(in, int64_t(centre + support + 0.5));
    std::vector<float> w;
    double sum = 0;
    for (int64_t i = lo; i < hi; ++i) {
      const double d = std::max(0.0, 1.0 - std::abs((i + 0.5 - centre) / support));
      w.push_back(float(d));
      sum += d;
    }
    for (float& v : w) v = float(v / sum);
    t.first.push_back(lo);
    t.w.push_back(std::move(w));
  }
  return t;
}

// (1,3,h,w) -> (1,3,H,W), separable: rows first, then columns.
Tensor resample(const Tensor& x, int64_t H, int64_t W) {
  const int64_t h = x.dim(2), w = x.dim(3);
  const Taps tx = triangle_taps(w, W), ty = triangle_taps(h, H);
  const float* src = x.data<float>();
  std::vector<float> mid(size_t(3 * h * W));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < W; ++j) {
        double s = 0;
        for (size_t k = 0; k < tx.w[j].size(); ++k) s += tx.w[j][k] * src[(c * h + i) * w + tx.first[j] + int64_t(k)];
        mid[size_t((c * h + i) * W + j)] = float(s);
      }
  Tensor y = Tensor::empty({1, 3, H, W});
  float* dst = y.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        double s = 0;
        for (size_t k = 0; k < ty.w[i].size(); ++k)
          s += ty.w[i][k] * mid[size_t((c * h + ty.first[i] + int64_t(k)) * W + j)];
        dst[(c * H + i) * W + j] = float(s);
      }
  return y;
}
}  // namespace

Tensor resize_image(const Image& img, int64_t H, int64_t W, const std::string& resize) {
  const Tensor x = image_to_tensor(img);
  if (resize == "squash") return resample(x, H, W);
  if (resize != "crop") throw Error("unknown resize mode '" + resize + "' (known: squash, crop)");
  const double scale = (double(std::min(H, W)) / 0.875) / double(std::min(img.width, img.height));
  const int64_t h = std::max<int64_t>(H, std::lround(img.height * scale));
  const int64_t w = std::max<int64_t>(W, std::lround(img.width * scale));
  const Tensor r = resample(x, h, w);
  const int64_t top = (h - H) / 2, left = (w - W) / 2;
  Tensor out = Tensor::empty({1, 3, H, W});
  const float* src = r.data<float>();
  float* dst = out.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) dst[(c * H + i) * W + j] = src[(c * h + i + top) * w + j + left];
  return out;
}

Tensor gaussian_blur(const Tensor& x, double sigma) {
  if (x.ndim() != 4) throw Error("gaussian_blur: expected (N,C,H,W), got " + x.shape().str());
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<double> k(size_t(2 * r + 1));
  double total = 0;
  for (int i = -r; i <= r; ++i) total += k[size_t(i + r)] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& v : k) v /= total;
  const int64_t planes = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  std::vector<double> v = x.to_vector_f64(), tmp(v.size());
  // One 1-D pass along W (step 1) then along H (step W); samples outside repeat the edge.
  auto pass = [&](const std::vector<double>& in, std::vector<double>& out, int64_t n, int64_t step, int64_t lines,
                  int64_t line_step) {
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t l = 0; l < lines; ++l) {
        const double* src = in.data() + p * H * W + l * line_step;
        double* dst = out.data() + p * H * W + l * line_step;
        for (int64_t i = 0; i < n; ++i) {
          double s = 0;
          for (int j = -r; j <= r; ++j) s += k[size_t(j + r)] * src[std::clamp<int64_t>(i + j, 0, n - 1) * step];
          dst[i * step] = s;
        }
      }
  };
  pass(v, tmp, W, 1, H, W);
  pass(tmp, v, H, W, W, 1);
  return Tensor::from_vector(x.shape(), v, x.dtype());
}

Tensor preprocess(const Tensor& x, const std::string& mode) {
  if (mode == "gray" || mode == "gray255") {  // ITU-R BT.601 luminance (/ 255 for gray): (N,3,H,W) -> (N,1,H,W)
    const float scale = mode == "gray" ? 1 / 255.0f : 1.0f;
    const int64_t N = x.dim(0), S = x.dim(2) * x.dim(3);
    Tensor y = Tensor::empty({N, 1, x.dim(2), x.dim(3)});
    const std::vector<float> v = x.to_vector();
    float* p = y.data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const float* q = &v[size_t(n * 3 * S + i)];
        p[n * S + i] = luminance(q[0], q[S], q[2 * S]) * scale;
      }
    return y;
  }
  Tensor y = x.clone();
  float* p = y.data<float>();
  const int64_t S = x.dim(2) * x.dim(3);
  if (mode == "none") return y;
  if (mode == "tf") {
    for (int64_t i = 0; i < y.numel(); ++i) p[i] = p[i] / 127.5f - 1.0f;
  } else if (mode == "unit") {
    for (int64_t i = 0; i < y.numel(); ++i) p[i] = p[i] / 255.0f;
  } else if (mode == "caffe") {
    const float mean_bgr[3] = {103.939f, 116.779f, 123.68f};
    const std::vector<float> v = x.to_vector();
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < S; ++i) p[c * S + i] = v[(2 - c) * S + i] - mean_bgr[c];
  } else if (mode == "torch") {
    const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < S; ++i) p[c * S + i] = (p[c * S + i] / 255.0f - mean[c]) / stdv[c];
  } else {
    throw Error("unknown preprocessing '" + mode + "' (known: caffe, tf, torch, unit, gray, gray255, none)");
  }
  return y;
}

Tensor deprocess(const Tensor& x, const std::string& mode) {
  if (mode == "gray" || mode == "gray255") {  // (N,1,H,W) -> (N,3,H,W): the gray value in every channel
    const float scale = mode == "gray" ? 255.0f : 1.0f;
    const int64_t N = x.dim(0), S = x.dim(2) * x.dim(3);
    Tensor y = Tensor::empty({N, 3, x.dim(2), x.dim(3)});
    const std::vector<float> v = x.to_vector();
    float* p = y.data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < S; ++i) p[(n * 3 + c) * S + i] = v[size_t(n * S + i)] * scale;
    return y;
  }
  Tensor y = x.to(DType::f32).clone();
  float* p = y.data<float>();
  const int64_t S = x.dim(2) * x.dim(3);
  if (mode == "none") return y;
  if (mode == "tf") {
    for (int64_t i = 0; i < y.numel(); ++i) p[i] = (p[i] + 1.0f) * 127.5f;
  } else if (mode == "unit") {
    for (int64_t i = 0; i < y.numel(); ++i) p[i] = p[i] * 255.0f;
  } else if (mode == "caffe") {  // BGR minus means -> RGB
    const float mean_bgr[3] = {103.939f, 116.779f, 123.68f};
    const std::vector<float> v = y.to_vector();
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < S; ++i) p[c * S + i] = v[(2 - c) * S + i] + mean_bgr[2 - c];
  } else if (mode == "torch") {
    const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < S; ++i) p[c * S + i] = (p[c * S + i] * stdv[c] + mean[c]) * 255.0f;
  } else {
    throw Error("unknown preprocessing '" + mode + "' (known: caffe, tf, torch, unit, gray, gray255, none)");
  }
  return y;
}

namespace {
// Both, as the model's info says (resize may override the model's default when not empty).
Tensor model_input(const Image& img, const nn::ModelInfo& info, const std::string& resize) {
  return preprocess(resize_image(img, info.input_h, info.input_w, resize.empty() ? info.resize : resize),
                    info.preprocessing);
}
}  // namespace

bool is_tensor_input(const std::string& path) {
  return path.size() > 3 && path.compare(path.size() - 3, 3, ".h5") == 0;
}

Tensor load_input(const std::string& path, const nn::ModelInfo& info, const std::string& resize, DType dtype) {
  const bool h5 = is_tensor_input(path);
  if (!h5) return model_input(load_image(path), info, resize).to(dtype);
  return tensor_input(h5::File(path, h5::File::Mode::read), info, dtype);
}

Tensor tensor_input(const h5::File& f, const nn::ModelInfo& info, DType dtype) {
  // The shape from the metadata first: a file that claims a huge input is refused before it is read.
  const Shape s = f.shape("input");
  if (s.ndim() != 4 || s[0] != 1 || s[1] != info.channels || s[2] > 4096 || s[3] > 4096)
    throw Error("input file " + f.path() + ", dataset input: expected [1," + std::to_string(info.channels) +
                ",H,W] with H, W at most 4096, found " + s.str());
  const Tensor x = f.read("input", dtype);
  if (!x.all_finite()) {  // every map of it would be NaN: say where the bad value is instead
    const std::vector<double> v = x.to_vector_f64();
    size_t i = 0;
    while (i < v.size() && std::isfinite(v[i])) ++i;
    const int64_t HW = s[2] * s[3], k = int64_t(i);
    throw Error("input file " + f.path() + ", dataset input: element [0," + std::to_string(k / HW) + "," +
                std::to_string(k % HW / s[3]) + "," + std::to_string(k % s[3]) + "] is " + std::to_string(v[i]) +
                "; gradtrace explains finite inputs only");
  }
  return x;
}

}  // namespace gt
