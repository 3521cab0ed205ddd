// The conv kernel chooses between code paths by size (pointwise GEMM, whole im2col, per-thread
// column chunks, transposed-conv or col2im data gradient, direct depthwise). The small gradient
// checks reach only some of them, so here each path is compared, in float32, with a naive
// double-precision convolution on shapes large enough to select it.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "autodiff/backend.h"
#include "kernels/cpu/layout.h"
#include "kernels/cpu/sgemm.h"
#include "kernels/cpu/winograd.h"
#include "tests/test_util.h"

using namespace gt;

namespace {
struct Ref {
  std::vector<double> y, dx, dw;
};

// Direct definition: y[n,o,oy,ox] = b[o] + sum_{c,i,j} w[o,c,i,j] x[n, g*Cg + c, oy*sh - pt + i*dh, ox*sw - pl + j*dw]
Ref naive(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
          const std::vector<float>& dy) {
  const int64_t Cg = g.C / g.groups, Og = g.O / g.groups;
  Ref r{std::vector<double>(size_t(g.N * g.O * g.Ho * g.Wo)), std::vector<double>(x.size()),
        std::vector<double>(w.size())};
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t oy = 0; oy < g.Ho; ++oy)
        for (int64_t ox = 0; ox < g.Wo; ++ox) {
          const int64_t yi = ((n * g.O + o) * g.Ho + oy) * g.Wo + ox;
          double s = b[size_t(o)];
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < g.kh; ++i)
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t iy = oy * g.sh - g.pt + i * g.dh, ix = ox * g.sw - g.pl + j * g.dw;
                if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                const int64_t xi = ((n * g.C + (o / Og) * Cg + c) * g.H + iy) * g.W + ix;
                const int64_t wi = ((o * Cg + c) * g.kh + i) * g.kw + j;
                s += double(w[wi]) * x[xi];
                r.dx[xi] += double(w[wi]) * dy[yi];
                r.dw[wi] += double(x[xi]) * dy[yi];
              }
          r.y[yi] = s;
        }
  return r;
}

// max |t - ref| / scale, by default scale = max |ref|
double rel_err(const Tensor& t, const std::vector<double>& ref, double scale = 0) {
  const std::vector<float> v = t.to_vector();
  double diff = 0, largest = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff = test::worse(diff, std::abs(v[i] - ref[i]));
    largest = std::max(largest, std::abs(ref[i]));
  }
  return diff / (scale > 0 ? scale : largest);
}

void compare(const char* name, ConvGeom g) {
  g.finish();
  Backend& be = backend(Device::cpu);
  Tensor x = Tensor::uniform({g.N, g.C, g.H, g.W}, -1, 1, 1);
  Tensor w = Tensor::uniform({g.O, g.C / g.groups, g.kh, g.kw}, -1, 1, 2);
  Tensor dy = Tensor::uniform({g.N, g.O, g.Ho, g.Wo}, -1, 1, 3);
  Tensor b = Tensor::uniform({g.O}, -1, 1, 4);
  Tensor y = Tensor::empty(dy.shape()), dx = Tensor::empty(x.shape()), dw = Tensor::empty(w.shape());
  be.conv2d_forward(g, x, w, b, y);
  be.conv2d_backward_data(g, dy, w, dx);
  be.conv2d_backward_weight(g, x, dy, dw);
  const Ref r = naive(g, x.to_vector(), w.to_vector(), b.to_vector(), dy.to_vector());
  const double ey = rel_err(y, r.y), edx = rel_err(dx, r.dx), edw = rel_err(dw, r.dw);
  INFO(name << ": max error / max |ref|: y " << ey << ", dx " << edx << ", dw " << edw);
  CHECK(ey < 1e-5);
  CHECK(edx < 1e-5);
  CHECK(edw < 1e-5);
}

// The fused epilogue y = act(scale * conv + bias) on each path, against the naive conv. With a
// residual r: act(scale * conv + bias + r), a residual block's end (added by the strip GEMM as it
// stores a pointwise conv, in a pass of its own on the other paths; act none or relu).
void compare_epilogue(const char* name, ConvGeom g, bool residual = false) {
  g.finish();
  const int64_t ny = g.N * g.O * g.Ho * g.Wo;
  Backend& be = backend(Device::cpu);
  Tensor x = Tensor::uniform({g.N, g.C, g.H, g.W}, -1, 1, 1);
  Tensor w = Tensor::uniform({g.O, g.C / g.groups, g.kh, g.kw}, -1, 1, 2);
  Tensor b = Tensor::uniform({g.O}, -1, 3, 4), s = Tensor::uniform({g.O}, -4, 4, 5);
  Tensor r = residual ? Tensor::uniform({g.N, g.O, g.Ho, g.Wo}, -3, 3, 6) : Tensor();
  const std::vector<float> bv = b.to_vector(), sv = s.to_vector();
  const std::vector<float> rv = residual ? r.to_vector() : std::vector<float>(size_t(ny), 0.0f);
  const std::vector<float> zero(size_t(g.O), 0.0f);
  const Ref ref = naive(g, x.to_vector(), w.to_vector(), zero, std::vector<float>(size_t(ny)));
  for (Act act : {Act::none, Act::relu, Act::relu6}) {
    if (residual && act == Act::relu6) continue;
    Tensor y = Tensor::empty({g.N, g.O, g.Ho, g.Wo});
    be.conv2d_forward(g, x, w, b, y, s, act, r);
    std::vector<double> want(ref.y.size());
    double scale = 0;  // of the values before the activation: ReLU6 clamps them to 6 at most
    for (size_t i = 0; i < want.size(); ++i) {
      const size_t o = (i / size_t(g.Ho * g.Wo)) % size_t(g.O);
      const double v = sv[o] * ref.y[i] + bv[o] + rv[i];
      want[i] = act == Act::none ? v : std::min(std::max(v, 0.0), act == Act::relu6 ? 6.0 : 1e300);
      scale = std::max(scale, std::abs(v));
    }
    const double e = rel_err(y, want, scale);
    INFO(name << " act " << int(act) << ": max error / max |pre-activation| " << e);
    CHECK(e < 1e-5);
  }
}

ConvGeom geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t k, int64_t s, Pads p, int64_t groups = 1) {
  ConvGeom g;
  g.N = N, g.C = C, g.H = H, g.W = W, g.O = O, g.kh = g.kw = k, g.sh = g.sw = s;
  g.pt = p.top, g.pb = p.bottom, g.pl = p.left, g.pr = p.right, g.groups = groups;
  return g;
}

// Checks that g takes the Winograd algorithm `kind` (where Winograd is built: AVX-512F), so that
// compare() on it tests that algorithm and not a fallback.
void expect_winograd(ConvGeom g, const char* kind) {
  g.finish();
  if (!cpu::sgemm_strips_available()) return;
  const char* chosen = cpu::winograd_kind(g);
  REQUIRE(std::string(chosen ? chosen : "none") == kind);
}
}  // namespace

TEST_CASE("conv paths: per-thread column chunks (large im2col), stride 1") {
  compare("chunked", geom(1, 16, 112, 112, 16, 3, 1, {1, 1, 1, 1}));
}

TEST_CASE("conv paths: transposed-conv data gradient with dilation, uneven padding and groups") {
  ConvGeom g = geom(1, 16, 100, 90, 16, 3, 1, {2, 1, 0, 3});
  g.dh = g.dw = 2;
  compare("dilated, uneven pads", g);
  compare("groups 2", geom(1, 32, 80, 80, 16, 3, 1, {1, 1, 1, 1}, 2));
}

TEST_CASE("conv paths: whole im2col with Eigen's parallel GEMM, batch 2") {
  compare("whole", geom(2, 32, 12, 12, 24, 3, 1, {1, 1, 1, 1}));  // 6 x 6 tiles: too few for Winograd
}

TEST_CASE("conv paths: Winograd F(2x2,3x3) over a batch, odd sizes and uneven padding") {
  compare("winograd batch 3", geom(3, 16, 21, 19, 20, 3, 1, {1, 1, 1, 1}));  // 11 x 10 tiles, odd edges
  compare("winograd pads", geom(1, 24, 30, 30, 16, 3, 1, {0, 2, 1, 0}));
  compare("winograd 14x14 batch", geom(6, 16, 14, 13, 24, 3, 1, {1, 1, 1, 1}));  // 7 x 7 tiles, one part-chunk
  // 7x7 planes: 16 tiles each, too few for one image, but chunks span the 9 images of the batch.
  ConvGeom b = geom(9, 16, 7, 7, 24, 3, 1, {1, 1, 1, 1});
  expect_winograd(b, "F(2x2,3x3)");
  compare("winograd 7x7, batch 9", b);
  // One image of 7 x 7 tiles, C != O: the data gradient's Winograd reads w transposed and turned.
  compare("winograd 14x14, C != O", geom(1, 24, 14, 14, 40, 3, 1, {0, 2, 1, 0}));
}

TEST_CASE("conv paths: Winograd F(4x4,3x3) on planes of 28x28 and up, edges of 1 to 3 columns") {
  ConvGeom g = geom(1, 16, 30, 30, 24, 3, 1, {1, 1, 1, 1});  // 24 channels: not in the lanes
  expect_winograd(g, "F(4x4,3x3)");
  compare("F4 30x30", g);                                                   // 8 x 8 tiles, the last 2 columns
  compare("F4 pads, C != O", geom(2, 24, 29, 31, 40, 3, 1, {0, 2, 1, 0}));  // 29 x 30 outputs
  compare("F4 no padding", geom(1, 40, 33, 35, 16, 3, 1, {0, 0, 0, 0}));    // 31 x 33 outputs
}

// Planes of few tiles: the channels in the vector lanes, the tiles of the batch as the GEMM's rows.
// Output channels not a multiple of 64 (a part strip), input channels over the 64 or 128 of a block
// of transformed weights (the GEMMs accumulate) and not a multiple of them, tiles that stick out of
// the plane, a batch whose tiles fill more than one row tile.
TEST_CASE("conv paths: Winograd with the channels in the vector lanes, on 14x14 and 7x7 planes") {
  ConvGeom f4 = geom(1, 80, 14, 14, 80, 3, 1, {1, 1, 1, 1});  // 16 tiles of 4x4
  expect_winograd(f4, "F(4x4,3x3) channels");
  compare("channels F4 14x14", f4);
  compare_epilogue("channels F4 14x14", f4);
  ConvGeom f2 = geom(1, 144, 7, 7, 32, 3, 1, {1, 1, 1, 1});  // 16 tiles of 2x2, the last row and column half out
  expect_winograd(f2, "F(2x2,3x3) channels");
  compare("channels F2 7x7", f2);
  compare_epilogue("channels F2 7x7", f2);
  ConvGeom pads = geom(1, 32, 13, 15, 16, 3, 1, {0, 2, 1, 0});  // 13 x 14 outputs: 16 tiles, C != O
  expect_winograd(pads, "F(4x4,3x3) channels");
  compare("channels F4 uneven pads", pads);
  ConvGeom batch = geom(3, 16, 7, 7, 16, 3, 1, {1, 1, 1, 1});  // 48 tiles over 3 images
  expect_winograd(batch, "F(2x2,3x3) channels");
  compare("channels F2 batch 3", batch);
  ConvGeom f4batch = geom(4, 16, 13, 13, 32, 3, 1, {1, 1, 1, 1});  // 64 tiles over 4 images
  expect_winograd(f4batch, "F(4x4,3x3) channels");
  compare("channels F4 batch 4", f4batch);
  ConvGeom f4big = geom(10, 16, 13, 13, 32, 3, 1, {1, 1, 1, 1});  // 160 tiles, the most for the channels
  expect_winograd(f4big, "F(4x4,3x3) channels");
  compare("channels F4 batch 10", f4big);
  ConvGeom f2big = geom(10, 16, 7, 7, 16, 3, 1, {1, 1, 1, 1});  // 160 tiles of 2x2
  expect_winograd(f2big, "F(2x2,3x3) channels");
  compare("channels F2 batch 10", f2big);
  expect_winograd(geom(11, 16, 13, 13, 32, 3, 1, {1, 1, 1, 1}), "F(2x2,3x3)");  // 176 tiles: in the lanes
  expect_winograd(geom(1, 16, 60, 60, 16, 3, 1, {1, 1, 1, 1}), "F(4x4,3x3)");   // 225 tiles of 4x4
  expect_winograd(geom(1, 16, 14, 14, 24, 3, 1, {1, 1, 1, 1}), "F(2x2,3x3)");   // 24 output channels
}

TEST_CASE("conv paths: Winograd F(2, 7) along the rows of 1x7 and the columns of 7x1 kernels") {
  ConvGeom g = geom(1, 16, 17, 17, 24, 1, 1, {0, 0, 3, 3});
  g.kw = 7;
  expect_winograd(g, "F(1x2,1x7)");
  compare("1x7 17x17", g);
  ConvGeom h = geom(2, 24, 17, 15, 16, 1, 1, {3, 3, 0, 0});  // odd plane, C != O, batch 2
  h.kh = 7;
  expect_winograd(h, "F(2x1,7x1)");
  compare("7x1 17x15", h);
  ConvGeom u = geom(1, 16, 19, 20, 16, 1, 1, {0, 0, 1, 5});  // uneven padding: 19 x 20 outputs
  u.kw = 7;
  compare("1x7 uneven pads", u);
}

TEST_CASE("conv paths: Winograd F(2, 3) along 1x3 and 3x1 kernels on 8x8 planes, in a batch") {
  ConvGeom g = geom(10, 16, 8, 8, 24, 1, 1, {0, 0, 1, 1});
  g.kw = 3;
  expect_winograd(g, "F(1x2,1x3)");
  compare("1x3 8x8, batch 10", g);
  ConvGeom h = geom(9, 24, 9, 7, 16, 1, 1, {1, 1, 0, 0});  // 9 x 7 outputs, C != O
  h.kh = 3;
  expect_winograd(h, "F(2x1,3x1)");
  compare("3x1 9x7, batch 9", h);
}

TEST_CASE("conv paths: Winograd F(2x2, 5x5)") {
  ConvGeom g = geom(1, 16, 17, 17, 24, 5, 1, {2, 2, 2, 2});
  expect_winograd(g, "F(2x2,5x5)");
  compare("5x5 17x17", g);
  compare("5x5 uneven pads, batch 2", geom(2, 24, 19, 18, 16, 5, 1, {1, 3, 4, 0}));  // 19 x 18 outputs
}

TEST_CASE("conv paths: strided col2im data gradient in chunks, vector stride-2 unrolling") {
  compare("col2im chunked", geom(1, 8, 301, 300, 6, 3, 2, {0, 1, 0, 1}));
  // ResNet's 7x7/2 stem on odd and even widths: rows of 16-lane gathers, their tails and both pads
  compare("stem 7x7/2 odd", geom(2, 3, 67, 61, 16, 7, 2, {3, 3, 3, 3}));
  compare("stem 7x7/2 even", geom(1, 3, 70, 96, 8, 7, 2, {2, 3, 2, 3}));
}

TEST_CASE("conv paths: pointwise 1x1 GEMM and 1x1 stride 2") {
  compare("pointwise", geom(2, 24, 20, 20, 12, 1, 1, {}));
  compare("1x1 stride 2", geom(1, 24, 21, 21, 12, 1, 2, {}));
}

TEST_CASE("conv paths: small planes of a batch merged into one product (7x7: 49 columns per image)") {
  // 24 output channels: not a multiple of 16, so not Winograd with the channels in the lanes
  compare("merged 3x3", geom(3, 16, 7, 7, 24, 3, 1, {1, 1, 1, 1}));  // data gradient: merged transposed conv too
  compare("merged 1x1", geom(3, 24, 7, 7, 12, 1, 1, {}));
  compare("merged 1x1 stride 2", geom(2, 24, 13, 13, 12, 1, 2, {}));
  compare_epilogue("merged 3x3", geom(3, 16, 7, 7, 24, 3, 1, {1, 1, 1, 1}));
  compare_epilogue("merged 1x1", geom(5, 24, 7, 7, 40, 1, 1, {}));
}

// One image of up to 64 output pixels: the input gradient's w^T dy is computed as (dy^T w)^T.
TEST_CASE("conv paths: data gradients of one small plane through the transposed product") {
  compare("7x7 3x3 (col2im)", geom(1, 16, 7, 7, 20, 3, 1, {1, 1, 1, 1}));
  compare("3x3/2 to 7x7 (col2im)", geom(1, 24, 14, 13, 20, 3, 2, {1, 1, 1, 1}));
  compare("1x1 on 8x8", geom(1, 40, 8, 8, 12, 1, 1, {}));
  compare("1x1/2 to 7x7", geom(1, 24, 13, 13, 70, 1, 2, {}));
  compare("groups 2, 5x5 plane", geom(1, 8, 5, 5, 6, 3, 1, {1, 1, 1, 1}, 2));
}

TEST_CASE("conv paths: grouped and depthwise on larger planes") {
  compare("groups 4", geom(2, 16, 30, 30, 8, 3, 1, {1, 1, 1, 1}, 4));
  compare("depthwise stride 2 SAME", geom(2, 32, 57, 57, 32, 3, 2, {1, 1, 1, 1}, 32));
  compare("depthwise 5x5", geom(1, 8, 40, 33, 8, 5, 1, {2, 2, 2, 2}, 8));
}

// The depthwise kernel reads polyphase planes (one per stride parity): every geometry that changes
// their layout or the taps' parities.
TEST_CASE("conv paths: depthwise with multipliers, dilation, unequal and odd strides, uneven padding") {
  compare("depthwise multiplier 2, stride 2", geom(2, 6, 15, 16, 12, 3, 2, {1, 1, 1, 1}, 6));
  compare("depthwise SAME on an even size", geom(1, 5, 14, 14, 5, 3, 2, {0, 1, 0, 1}, 5));
  compare("depthwise 7x7 planes", geom(3, 16, 7, 7, 16, 3, 1, {1, 1, 1, 1}, 16));
  compare("depthwise stride 3, 4x4, no padding", geom(1, 4, 17, 19, 4, 4, 3, {}, 4));
  ConvGeom dil = geom(2, 4, 13, 11, 8, 3, 1, {2, 1, 2, 3}, 4);
  dil.dh = 2, dil.dw = 3;
  compare("depthwise dilation 2x3, multiplier 2", dil);
  ConvGeom uneven = geom(1, 3, 12, 13, 3, 3, 1, {1, 1, 1, 1}, 3);
  uneven.sw = 2, uneven.kw = 5, uneven.dh = 2;
  compare("depthwise strides 1x2, 3x5 kernel, dilation 2x1", uneven);
  ConvGeom wide = geom(1, 2, 9, 8, 2, 3, 2, {4, 3, 2, 5}, 2);  // padding larger than the kernel
  compare("depthwise padding wider than the kernel", wide);
  compare_epilogue("depthwise multiplier 2", geom(1, 4, 9, 9, 8, 3, 1, {1, 1, 1, 1}, 4));
}

TEST_CASE("conv paths: the fused scale, bias and activation epilogue on every forward path") {
  compare_epilogue("winograd", geom(2, 16, 21, 19, 20, 3, 1, {1, 1, 1, 1}));
  compare_epilogue("winograd F4", geom(1, 16, 30, 29, 20, 3, 1, {1, 1, 1, 1}));
  compare_epilogue("strips (stride 2)", geom(2, 3, 37, 35, 16, 7, 2, {3, 3, 3, 3}));
  compare_epilogue("pointwise", geom(2, 24, 20, 20, 12, 1, 1, {}));
  compare_epilogue("1x1 stride 2", geom(1, 24, 21, 21, 12, 1, 2, {}));
  compare_epilogue("depthwise", geom(2, 8, 17, 17, 8, 3, 2, {1, 1, 1, 1}, 8));
  compare_epilogue("groups 2", geom(1, 16, 12, 12, 8, 3, 1, {1, 1, 1, 1}, 2));
}

TEST_CASE("conv paths: a residual added in the epilogue, in the GEMM and after it") {
  compare_epilogue("pointwise (in the GEMM)", geom(2, 24, 20, 20, 12, 1, 1, {}), true);
  compare_epilogue("pointwise, 9.4 MB streamed", geom(2, 16, 128, 128, 72, 1, 1, {}), true);
  compare_epilogue("pointwise, K 600 (two K blocks)", geom(1, 600, 9, 9, 20, 1, 1, {}), true);
  compare_epilogue("merged 7x7 planes (after)", geom(3, 24, 7, 7, 12, 1, 1, {}), true);
  compare_epilogue("3x3 Winograd (after)", geom(1, 16, 20, 20, 16, 3, 1, {1, 1, 1, 1}), true);
  compare_epilogue("1x1 stride 2 (after)", geom(1, 24, 21, 21, 12, 1, 2, {}), true);
}

// The strip GEMM applies the epilogue in registers on the last K block and streams products of more
// than 8 MB past the caches.
TEST_CASE("conv paths: the epilogue on a streamed product, after two K blocks, and on NaN") {
  compare_epilogue("pointwise, 9.4 MB streamed", geom(2, 16, 128, 128, 72, 1, 1, {}));
  compare_epilogue("pointwise, K 600", geom(1, 600, 12, 12, 20, 1, 1, {}));
  ConvGeom g = geom(1, 16, 8, 8, 16, 1, 1, {});
  g.finish();
  std::vector<float> xv = Tensor::uniform({1, 16, 8, 8}, -1, 1, 1).to_vector();
  xv[5] = std::nanf("");  // pixel 5 of channel 0: NaN in every output channel's pixel 5
  const Tensor x = Tensor::from_vector({1, 16, 8, 8}, xv), w = Tensor::uniform({16, 16, 1, 1}, -1, 1, 2);
  const Tensor b = Tensor::uniform({16}, -1, 1, 3), s = Tensor::uniform({16}, 1, 2, 4);
  for (Act act : {Act::none, Act::relu, Act::relu6}) {
    Tensor y = Tensor::empty({1, 16, 8, 8});
    backend(Device::cpu).conv2d_forward(g, x, w, b, y, s, act);
    const std::vector<float> yv = y.to_vector();
    INFO("act " << int(act));
    for (int64_t o = 0; o < 16; ++o) {  // as ops::relu and ops::relu6: relu(NaN) = 0, relu6(NaN) = NaN
      const float v = yv[size_t(o * 64 + 5)];
      CHECK((act == Act::relu ? v == 0.0f : std::isnan(v)));
    }
  }
}

TEST_CASE("gemm: few-row products split across threads match the naive product") {
  const int64_t M = 2, N = 2048, K = 1024;
  const Tensor a = Tensor::uniform({M * K}, -1, 1, 1), b = Tensor::uniform({K * N}, -1, 1, 2);
  const std::vector<float> av = a.to_vector(), bv = b.to_vector();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor c = Tensor::full({M * N}, 1.0);
      backend(Device::cpu).gemm(ta, tb, M, N, K, 2.0, a, b, 0.5, c);
      const std::vector<float> cv = c.to_vector();
      double worst = 0;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t k = 0; k < K; ++k) s += double(av[ta ? k * M + i : i * K + k]) * bv[tb ? j * K + k : k * N + j];
          worst = test::worse(worst, std::abs(cv[i * N + j] - (2 * s + 0.5)));
        }
      INFO("ta " << ta << " tb " << tb);
      CHECK(worst < 1e-3);
    }
}

TEST_CASE("sgemm strips: every tile remainder, K block edge and thread split matches the naive product") {
  if (!cpu::sgemm_strips_available()) {
    WARN("sgemm_strips: not built (no AVX-512F); the Eigen path is covered above");
    return;
  }
  const int saved = omp_get_max_threads();
  for (int threads : {1, 3, 8})
    for (int64_t M : {1, 5, 6, 7, 13, 40})
      for (int64_t N : {1, 17, 64, 65, 200})
        for (int64_t K : {1, 128, 129, 300}) {
          omp_set_num_threads(threads);
          const std::vector<float> a = Tensor::uniform({M * K}, -1, 1, 1).to_vector();
          const std::vector<float> b = Tensor::uniform({K * N}, -1, 1, 2).to_vector();
          const std::vector<float> bias = Tensor::uniform({M}, -1, 1, 3).to_vector();
          const int64_t ldc = N + 3;  // C wider than N: the kernel must not write past column N
          std::vector<float> c(size_t(M * ldc), 7.0f);
          cpu::sgemm_strips(M, N, K, a.data(), K, K % 2 ? bias.data() : nullptr, c.data(), ldc,
                            [&](int64_t, int64_t k0, int64_t k1, int64_t n0, int64_t nn, float* buf) {
                              for (int64_t k = k0; k < k1; ++k)
                                std::copy(&b[size_t(k * N + n0)], &b[size_t(k * N + n0 + nn)],
                                          buf + (k - k0) * cpu::kStrip);
                            });
          double worst = 0;
          for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = 0; j < N; ++j) {
              double s = K % 2 ? bias[size_t(i)] : 0.0;
              for (int64_t k = 0; k < K; ++k) s += double(a[size_t(i * K + k)]) * b[size_t(k * N + j)];
              worst = test::worse(worst, std::abs(c[size_t(i * ldc + j)] - s));
            }
            for (int64_t j = N; j < ldc; ++j) worst = test::worse(worst, std::abs(c[size_t(i * ldc + j)] - 7.0));
          }
          // The same product from A stored transposed (K x M) and read in place, B unpacked.
          std::vector<float> at(a.size()), c2(size_t(M * ldc), 7.0f);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t k = 0; k < K; ++k) at[size_t(k * M + i)] = a[size_t(i * K + k)];
          cpu::sgemm(M, N, K, at.data(), 1, b.data(), N, K % 2 ? bias.data() : nullptr, c2.data(), ldc, M);
          double worst_t = 0;
          for (size_t i = 0; i < c.size(); ++i) worst_t = test::worse(worst_t, double(std::abs(c2[i] - c[i])));
          INFO("threads " << threads << " M " << M << " N " << N << " K " << K);
          CHECK(worst < 1e-4 * std::max<int64_t>(K, 1));
          CHECK(worst_t < 1e-4 * std::max<int64_t>(K, 1));
        }
  omp_set_num_threads(saved);
}

TEST_CASE("transpose_rows: rows anywhere become columns, for every tile edge") {
  for (const auto& [m, n] : std::vector<std::pair<int64_t, int64_t>>{{49, 256}, {16, 16}, {33, 47}, {1, 5}, {20, 3}}) {
    const Tensor src = Tensor::uniform({m * (n + 3)}, -1, 1, 7);  // row i at i*(n+3): not contiguous
    const std::vector<float> v = src.to_vector();
    std::vector<const float*> rows;
    for (int64_t i = 0; i < m; ++i) rows.push_back(v.data() + i * (n + 3));
    const int64_t ldd = m + 5;
    std::vector<float> dst(size_t(n * ldd), -9.0f);
    cpu::transpose_rows(m, n, rows.data(), dst.data(), ldd);
    int64_t wrong = 0;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < ldd; ++i)
        wrong += dst[size_t(j * ldd + i)] != (i < m ? rows[size_t(i)][j] : -9.0f);  // and nothing past m
    CHECK(wrong == 0);
  }
}
