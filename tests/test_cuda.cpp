// CUDA against CPU (DESIGN.md, correctness check 3): every op forward and backward, then whole models
// and every XAI method, element by element with |cuda - cpu| <= atol + rtol * |cpu|.
//
// Each op runs twice: in float64, where the two devices differ only by summation order, so a tight
// tolerance proves the kernels' indexing (a wrong tap or a missed tile edge is off by O(1)); and in
// float32, the precision gradtrace runs in. Its own executable: without a usable GPU it prints one
// line and exits 77, which ctest reports as skipped. The same file also runs on the simulated GPU of
// tests/cuda_sim (ctest cuda_sim, cuda_sim_skewed), on every machine.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

#include "autodiff/backend.h"
#include "autodiff/gradcheck.h"
#include "op_cases.h"
#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "train/loop.h"
#include "image/preprocess.h"
#include "weights/tflite.h"
#include "xai/counterfactual.h"
#include "xai/gradcam.h"
#include "xai/integrated_gradients.h"
#include "xai/occlusion.h"
#include "xai/saliency.h"
#include "xai/surrogate.h"
#ifdef GT_CUDA_SIM
#include <cuda_runtime.h>  // the simulator's, for its launch counts
#endif

using namespace gt;
using V = std::vector<Tensor>;

namespace {

struct Tol {
  double atol, rtol;
  double outliers = 0;  // the fraction of elements allowed outside (whole networks: ReLU kinks)
};

// Compares a CUDA result with the CPU's and prints the largest difference.
void expect_close(const std::string& what, const Tensor& got, const Tensor& ref, const Tol& t) {
  INFO(what);
  REQUIRE(got.defined());
  REQUIRE(ref.defined());
  CHECK(got.device() == Device::cuda);
  REQUIRE(got.shape() == ref.shape());
  const auto a = got.to_vector_f64(), b = ref.to_vector_f64();
  size_t bad = 0, worst_at = 0;
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]);
    scale = std::max(scale, std::abs(b[i]));
    if (!(d <= t.atol + t.rtol * std::abs(b[i])) && !(std::isnan(a[i]) && std::isnan(b[i]))) ++bad;
    if (d > worst || std::isnan(d)) worst = d, worst_at = i;
  }
  std::printf("%-60s max |cuda - cpu| %.3g (max |cpu| %.3g), %zu of %zu outside\n", what.c_str(), worst, scale, bad,
              a.size());
  INFO("worst at " << worst_at << ": cuda " << a[worst_at] << ", cpu " << b[worst_at]);
  CHECK(double(bad) <= t.outliers * double(a.size()));
}

const Tol kF64{1e-10, 1e-9}, kF32{1e-4, 1e-4}, kF32Sum{2e-3, 1e-3};

Tensor rnd(const Shape& s, uint64_t seed, DType t, double lo = -1, double hi = 1) {
  return Tensor::uniform(s, lo, hi, seed, t);
}

// Runs f on the CPU and on the GPU with the same inputs and the same upstream gradient, and compares
// the output and the gradient of every input.
void compare_op(const std::string& name, const std::function<Tensor(const V&)>& f, const std::vector<Shape>& shapes,
                bool sums = false, double lo = -1, double hi = 1) {
  for (DType dt : {DType::f64, DType::f32}) {
    const Tol tol = dt == DType::f64 ? kF64 : sums ? kF32Sum : kF32;
    const std::string label = name + (dt == DType::f64 ? " [f64]" : " [f32]");
    V a, b;
    for (size_t i = 0; i < shapes.size(); ++i) {
      a.push_back(rnd(shapes[i], 11 + i, dt, lo, hi).set_requires_grad(true));
      b.push_back(a.back().detach().to(Device::cuda).set_requires_grad(true));
    }
    Tape ta, tb;
    Tensor ya, yb;
    {
      TapeGuard g(ta);
      ya = f(a);
    }
    {
      TapeGuard g(tb);
      yb = f(b);
    }
    expect_close(label + " forward", yb, ya, tol);
    const Tensor seed = rnd(ya.shape(), 99, dt);
    const V ga = ta.grad(ya, a, seed), gb = tb.grad(yb, b, seed.to(Device::cuda));
    for (size_t i = 0; i < a.size(); ++i) expect_close(label + " d/input" + std::to_string(i), gb[i], ga[i], tol);
  }
}

ops::Conv2dOptions conv(int64_t s, Pads p, int64_t groups = 1, int64_t d = 1) {
  ops::Conv2dOptions o;
  o.stride_h = o.stride_w = s, o.pad = p, o.groups = groups, o.dilation_h = o.dilation_w = d;
  return o;
}

}  // namespace

TEST_CASE("cuda: conv2d forward, backward-data, backward-weight in every configuration") {
  struct Case {
    const char* name;
    Shape x, w;
    ops::Conv2dOptions o;
  };
  const Case cases[] = {
      {"3x3 stride 1 pad 1", {2, 3, 7, 6}, {4, 3, 3, 3}, conv(1, {1, 1, 1, 1})},
      {"3x3 stride 2, TF SAME asymmetric", {1, 3, 8, 7}, {5, 3, 3, 3}, conv(2, {0, 1, 0, 1})},
      {"3x3 dilation 2", {1, 2, 9, 9}, {3, 2, 3, 3}, conv(1, {2, 2, 2, 2}, 1, 2)},
      {"groups 2", {2, 4, 6, 5}, {6, 2, 3, 3}, conv(1, {1, 1, 1, 1}, 2)},
      {"depthwise stride 2", {2, 3, 7, 7}, {3, 1, 3, 3}, conv(2, {1, 1, 1, 1}, 3)},
      {"depthwise multiplier 2", {1, 2, 6, 6}, {4, 1, 3, 3}, conv(2, {0, 1, 0, 1}, 2)},
      {"1x1 stride 2", {1, 4, 7, 7}, {6, 4, 1, 1}, conv(2, {})},
      {"7x7 stride 2 pad 3 (ResNet stem)", {1, 3, 32, 32}, {8, 3, 7, 7}, conv(2, {3, 3, 3, 3})},
      // several 128x128 tiles in M and N, and K not a multiple of 8
      {"M 130 x N 289 x K 585", {1, 65, 17, 17}, {130, 65, 3, 3}, conv(1, {1, 1, 1, 1})},
      // few tiles, long K: split-K
      {"4x4 map, dilation 2, K 2304 (split-K)", {1, 256, 4, 4}, {64, 256, 3, 3}, conv(1, {2, 2, 2, 2}, 1, 2)},
      // 3x3 stride 1 with 16 channels or more: Winograd (odd sizes: partial tiles)
      {"Winograd, pad 1", {2, 16, 9, 7}, {20, 16, 3, 3}, conv(1, {1, 1, 1, 1})},
      {"Winograd, asymmetric padding", {1, 17, 8, 9}, {16, 17, 3, 3}, conv(1, {0, 2, 1, 0})},
      {"batch 3, 1x1, N over several tiles", {3, 40, 12, 12}, {24, 40, 1, 1}, conv(1, {})},
  };
  for (const Case& c : cases) {
    const auto o = c.o;
    compare_op(std::string("conv2d ") + c.name, [o](const V& v) { return ops::conv2d(v[0], v[1], o); }, {c.x, c.w},
               true);
    compare_op(std::string("conv2d+bias ") + c.name, [o](const V& v) { return ops::conv2d(v[0], v[1], o, v[2]); },
               {c.x, c.w, {c.w[0]}}, true);
  }
}

TEST_CASE("cuda: conv2d_affine (folded batch norm, ReLU and ReLU6 epilogues)") {
  for (Act act : {Act::none, Act::relu, Act::relu6}) {
    const auto o = conv(1, {1, 1, 1, 1});
    compare_op(std::string("conv2d_affine act ") + std::to_string(int(act)),
               [o, act](const V& v) {
                 // frozen parameters: only x gets a gradient through the fused node
                 return ops::conv2d_affine(v[0], v[1].detach(), v[2].detach(), ops::mul_scalar(v[3].detach(), 3), act, o);
               },
               {{2, 5, 9, 8}, {7, 5, 3, 3}, {7}, {7}}, true);
  }
}

TEST_CASE("cuda: dense, matmul, bias") {
  compare_op("linear", [](const V& v) { return ops::linear(v[0], v[1]); }, {{3, 300}, {150, 300}}, true);
  compare_op("matmul", [](const V& v) { return ops::matmul(v[0], v[1]); }, {{37, 140}, {140, 29}}, true);
  compare_op("bias_add 4-D", [](const V& v) { return ops::bias_add(v[0], v[1]); }, {{2, 3, 4, 5}, {3}});
  compare_op("bias_add 2-D", [](const V& v) { return ops::bias_add(v[0], v[1]); }, {{4, 7}, {7}});
}

TEST_CASE("cuda: element-wise ops, broadcasting included (tests/op_cases.h)") {
  for (const test::OpCase& c : test::elementwise_cases()) compare_op(c.name, c.f, c.shapes, false, c.lo, c.hi);
}

TEST_CASE("cuda: softmax, log-softmax, cross-entropy") {
  compare_op("softmax", [](const V& v) { return ops::softmax(ops::mul_scalar(v[0], 5)); }, {{3, 1000}});
  compare_op("log_softmax", [](const V& v) { return ops::log_softmax(ops::mul_scalar(v[0], 5)); }, {{3, 1000}});
  compare_op("cross_entropy", [](const V& v) { return ops::cross_entropy(v[0], {3, 0, 9, 9}); }, {{4, 10}});
}

TEST_CASE("cuda: pooling") {
  const auto pool = [](int64_t k, int64_t s, Pads p, bool include_pad = false) {
    ops::PoolOptions o;
    o.kernel_h = o.kernel_w = k, o.stride_h = o.stride_w = s, o.pad = p, o.count_include_pad = include_pad;
    return o;
  };
  const Shape s{2, 3, 9, 8};
  for (const auto& [name, o] : std::vector<std::pair<std::string, ops::PoolOptions>>{
           {"2x2/2", pool(2, 2, {})}, {"3x3/2 pad 1", pool(3, 2, {1, 1, 1, 1})}, {"3x3/1 SAME", pool(3, 1, {1, 1, 1, 1})},
           {"3x3/2 asymmetric", pool(3, 2, {0, 1, 0, 1})}}) {
    const auto opt = o;
    compare_op("max_pool2d " + name, [opt](const V& v) { return ops::max_pool2d(v[0], opt); }, {s});
    compare_op("avg_pool2d " + name, [opt](const V& v) { return ops::avg_pool2d(v[0], opt); }, {s});
    auto inc = opt;
    inc.count_include_pad = true;
    compare_op("avg_pool2d count_include_pad " + name, [inc](const V& v) { return ops::avg_pool2d(v[0], inc); }, {s});
  }
  compare_op("global_avg_pool", [](const V& v) { return ops::global_avg_pool(v[0]); }, {{2, 5, 7, 7}});
}

TEST_CASE("cuda: batch norm, inference and training") {
  for (bool training : {false, true}) {
    compare_op(std::string("batch_norm ") + (training ? "training" : "inference"),
               [training](const V& v) {
                 // running statistics: the same fresh values on each device, updated in training
                 const Tensor mean = Tensor::full({4}, 0.1, v[0].dtype(), v[0].device());
                 const Tensor var = Tensor::full({4}, 1.5, v[0].dtype(), v[0].device());
                 return ops::batch_norm(v[0], v[1], v[2], mean, var, 1e-3, training);
               },
               {{3, 4, 5, 6}, {4}, {4}});
  }
}

TEST_CASE("cuda: layout ops and reductions") {
  compare_op("concat_channels", [](const V& v) { return ops::concat_channels({v[0], v[1], v[2]}); },
             {{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 4, 4, 5}});
  compare_op("pad", [](const V& v) { return ops::pad(v[0], {1, 2, 0, 3}, 0.5); }, {{2, 3, 4, 5}});
  compare_op("reshape", [](const V& v) { return ops::reshape(v[0], {6, 20}); }, {{2, 3, 4, 5}});
  compare_op("resize_bilinear up 7 -> 224", [](const V& v) { return ops::resize_bilinear(v[0], 224, 224); },
             {{1, 2, 7, 7}});
  compare_op("resize_bilinear down 13x11 -> 5x4", [](const V& v) { return ops::resize_bilinear(v[0], 5, 4); },
             {{2, 2, 13, 11}});
  compare_op("resize_bilinear mixed 6x9 -> 10x4", [](const V& v) { return ops::resize_bilinear(v[0], 10, 4); },
             {{1, 3, 6, 9}});
  compare_op("sum", [](const V& v) { return ops::sum(v[0]); }, {{2, 3, 4, 5}}, true);
  compare_op("mean", [](const V& v) { return ops::mean(v[0]); }, {{2, 3, 4, 5}});
  for (int d = 0; d < 4; ++d) {
    compare_op("sum_dim " + std::to_string(d), [d](const V& v) { return ops::sum_dim(v[0], d); }, {{2, 3, 4, 5}});
    compare_op("mean_dim " + std::to_string(d), [d](const V& v) { return ops::mean_dim(v[0], d); }, {{2, 3, 4, 5}});
  }
}

TEST_CASE("cuda: all_finite finds a NaN or an Inf anywhere, and the tape names the node that made it") {
  const int64_t n = 100003;  // more elements than one block of threads, not a multiple of one
  for (const DType t : {DType::f32, DType::f64})
    for (const int64_t at : {int64_t(0), n / 2, n - 1})
      for (const double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
        std::vector<double> v(size_t(n), 1.5);
        const Tensor ok = Tensor::from_vector({n}, v, t).to(Device::cuda);
        v[size_t(at)] = bad;
        const Tensor x = Tensor::from_vector({n}, v, t).to(Device::cuda);
        INFO(to_string(t) << ", " << bad << " at " << at);
        CHECK(ok.all_finite());
        CHECK_FALSE(x.all_finite());
      }
  Tape tape;
  TapeGuard g(tape);
  const Tensor x = Tensor::full({4}, 0.5, DType::f32, Device::cuda).set_requires_grad(true);
  const Tensor scale = Tensor::from_vector({4}, std::vector<float>{1, 2, INFINITY, 4}).to(Device::cuda);
  Tensor y;
  {
    NameScope s("scaled");
    y = ops::mul(x, scale);  // d y / d x = scale: Inf in the third element
  }
  CHECK_THROWS_WITH(tape.grad(ops::sum(y), {x}), Catch::Contains("NaN or Inf") && Catch::Contains("mul [scaled]"));
}

TEST_CASE("cuda: the sampled gradient check runs the layer on the GPU (here a Winograd conv) and passes") {
  SampledOptions o;
  o.device = Device::cuda;
  bool on_gpu = true;
  const auto r = gradcheck_sampled(
      [&](const V& v) {
        for (const Tensor& t : v) on_gpu &= t.device() == Device::cuda;
        return ops::conv2d(v[0], v[1], conv(1, {1, 1, 1, 1}), v[2]);
      },
      {rnd({1, 16, 10, 9}, 1, DType::f32), rnd({16, 16, 3, 3}, 2, DType::f32), rnd({16}, 3, DType::f32)}, o);
  CHECK(on_gpu);
  REQUIRE(r.size() == 3);
  for (const SampledCheck& c : r) {
    INFO(c.shape.str() << ": " << c.checked << " checked, max relative error " << c.max_rel);
    CHECK(c.checked > 0);
    CHECK(c.max_rel < 1e-2);
  }
}

TEST_CASE("cuda: tensors move both ways, and the gradient crosses with them") {
  const Tensor x = rnd({2, 3, 4, 5}, 1, DType::f32);
  const Tensor back = x.to(Device::cuda).to(Device::cpu);
  CHECK(back.to_vector() == x.to_vector());
  CHECK(Tensor::full({3}, 2.5, DType::f64, Device::cuda).to_vector_f64() == std::vector<double>(3, 2.5));
  CHECK(Tensor::zeros({5}, DType::f32, Device::cuda).to_vector() == std::vector<float>(5, 0.0f));
  CHECK(x.to(Device::cuda).to(DType::f64).to_vector_f64() == x.to_vector_f64());
  // The host never dereferences a GPU address: data() refuses (the simulator's memory is the host's,
  // so only this check makes a host read of a GPU tensor fail there rather than on a real GPU).
  CHECK_THROWS_WITH(x.to(Device::cuda).data<float>(), Catch::Contains("is on cuda, not in host memory"));
  CHECK(x.to(Device::cuda).at(7) == x.at(7));
  // Nor does a GPU kernel get a host address: the CUDA backend checks where each tensor lives.
  CHECK_THROWS_WITH(backend(Device::cuda).copy(x, Tensor::empty_like(x.to(Device::cuda))),
                    Catch::Contains("in host memory was passed to a GPU kernel"));
  Tape tape;
  TapeGuard g(tape);
  Tensor leaf = x.clone().set_requires_grad(true);
  const Tensor y = ops::sum(ops::to_device(ops::mul_scalar(ops::to_device(leaf, Device::cuda), 3), Device::cpu));
  const Tensor dx = tape.grad(y, {leaf})[0];
  CHECK(dx.device() == Device::cpu);
  CHECK(dx.to_vector() == std::vector<float>(size_t(x.numel()), 3.0f));
}

TEST_CASE("cuda: out of GPU memory is an error naming the layer and the size, and the next call works") {
  NameScope scope("huge_layer");
  try {
    Tensor::empty({1 << 20, 1 << 20, 64}, DType::f32, Device::cuda);
    FAIL("a 256 TB tensor was allocated");
  } catch (const OutOfDeviceMemory& e) {
    std::printf("%s\n", e.what());
    CHECK_THAT(e.what(), Catch::Contains("out of GPU memory in layer huge_layer") && Catch::Contains("MB requested"));
  }
  // In the backward pass, the op whose rule asked, and its layer.
  Tape tape;
  TapeGuard g(tape);
  const Tensor x = Tensor::zeros({4}, DType::f32, Device::cuda).set_requires_grad(true);
  const Tensor y = tape.record("huge_op", {x}, Tensor::zeros({4}, DType::f32, Device::cuda), {}, [](BackwardContext&) {
    Tensor::empty({1 << 20, 1 << 20, 64}, DType::f32, Device::cuda);
  });
  try {
    tape.grad(ops::sum(y), {x});
    FAIL("the backward allocated a 256 TB tensor");
  } catch (const OutOfDeviceMemory& e) {
    CHECK_THAT(e.what(), Catch::Contains("out of GPU memory") && Catch::Contains("MB requested") &&
                             Catch::Contains("(in the backward of huge_op [huge_layer])"));
  }
  CHECK(Tensor::full({4}, 1.0, DType::f32, Device::cuda).to_vector() == std::vector<float>(4, 1.0f));
}

TEST_CASE("cuda: training steps (batch norm in training mode, dropout, SGD and Adam) match the CPU's") {
  for (const char* kind : {"sgd", "adam"}) {
    const auto train = [&](Device d) {
      nn::ModelOptions mo;
      mo.alpha = 0.25;
      auto m = nn::make_model("fashion_cnn", mo);
      nn::init_parameters(*m, 5);
      m->to(d);
      m->train(true, 1);
      const auto params = nn::trainable_parameters(*m);
      for (auto& [name, p] : params) p->set_requires_grad(true);
      nn::OptimizerOptions oo;
      oo.kind = kind, oo.lr = 0.01;
      nn::Optimizer opt(params, oo);
      for (int step = 0; step < 3; ++step) {
        Tape tape;
        TapeGuard g(tape);
        const Tensor x = rnd({8, 1, 28, 28}, 100 + uint64_t(step), DType::f32);  // on the host, as the trainer's
        tape.backward(ops::cross_entropy((*m)(x), {0, 1, 2, 3, 4, 5, 6, 7}));
        opt.step();
      }
      return m;
    };
    const auto cpu = train(Device::cpu), gpu = train(Device::cuda);
    const auto a = cpu->named_parameters(), b = gpu->named_parameters();
    for (size_t i = 0; i < a.size(); ++i)
      expect_close(std::string(kind) + ": " + a[i].first + " after 3 steps", *b[i].second, *a[i].second, Tol{1e-4, 1e-3});
  }
}

namespace {

// Fresh weights from a seed (nn::init_parameters), the same on both devices.
std::unique_ptr<nn::Model> random_model(const std::string& arch) {
  auto m = nn::make_model(arch);
  nn::init_parameters(*m, 1);
  return m;
}

// Every XAI method on model m for input x: first on the CPU, then with m on the GPU (the methods
// themselves unchanged: they hand the model host tensors, as the CLI does).
void compare_methods(const std::string& name, nn::Model& m, const Tensor& x, int64_t target) {
  const xai::Model fn = [&](const Tensor& in) { return m(in); };
  const xai::Target t{target, false};
  const std::string layer = m.info.gradcam_layer;
  xai::SmoothGradOptions sg;
  sg.samples = 4, sg.batch = 2, sg.sigma = 0.1, sg.seed = 3;
  xai::IgOptions ig;
  ig.steps = 8, ig.batch = 4, ig.method = "riemann_trapezoid";
  xai::OcclusionOptions oc;
  oc.window = 56, oc.stride = 56;
  xai::CounterfactualOptions cf;
  cf.target = (target + 1) % m.info.classes, cf.steps = 3, cf.lr = 0.01;
  const Tensor black = Tensor::zeros_like(x);
  xai::Segments quarters{x.dim(2), x.dim(3), 4, {}};  // 2 x 2: KernelSHAP takes all 14 coalitions
  for (int64_t p = 0; p < x.dim(2) * x.dim(3); ++p)
    quarters.label.push_back(int32_t(p / x.dim(3) * 2 / x.dim(2) * 2 + p % x.dim(3) * 2 / x.dim(3)));
  xai::SurrogateOptions so;
  so.samples = 8, so.batch = 4;
  const auto run = [&] {
    ig.device = sg.device = m.device();  // as the CLI does: IG's and SmoothGrad's batches on the model's device
    std::vector<std::pair<std::string, Tensor>> r;
    {
      NoGradGuard ng;
      r.push_back({"logits", m(x)});
    }
    r.push_back({"saliency", xai::saliency(fn, x, target)});
    r.push_back({"gradxinput", xai::gradxinput(fn, x, t)});
    r.push_back({"smoothgrad", xai::smoothgrad(fn, x, t, sg)});
    r.push_back({"guided_backprop", xai::guided_backprop(fn, x, t)});
    const xai::IgResult g = xai::integrated_gradients(fn, x, black, t, ig);
    r.push_back({"ig", g.attribution});
    r.push_back({"gradcam cam", xai::gradcam(fn, x, t, layer).cam});
    r.push_back({"gradcam++ cam", xai::gradcam(fn, x, t, layer, true).cam});
    r.push_back({"guided_gradcam", xai::guided_gradcam(fn, x, t, layer)});
    r.push_back({"occlusion", xai::occlusion(fn, x, black, t, oc)});
    r.push_back({"lime", xai::lime(fn, x, black, quarters, t, so).attribution});
    r.push_back({"kernelshap", xai::kernel_shap(fn, x, black, quarters, t, so).attribution});
    r.push_back({"counterfactual", xai::counterfactual(fn, x, cf).input});
    return r;
  };
  const auto cpu = run();
  m.to(Device::cuda);
  const auto gpu = run();
  m.to(Device::cpu);
  for (size_t i = 0; i < cpu.size(); ++i) {
    double scale = 0;
    for (double v : cpu[i].second.to_vector_f64()) scale = std::max(scale, std::abs(v));
    // The results are host tensors from both runs; compare them as the GPU's by moving one there.
    expect_close(name + " " + cpu[i].first, gpu[i].second.to(Device::cuda), cpu[i].second,
                 Tol{2e-3 * scale, 2e-2, 1e-3});
  }
}

}  // namespace

TEST_CASE("cuda: each model queues its work on its own stream; interleaved or from two threads, it matches the CPU",
          "[streams]") {
  // Two narrow models at 64 x 64: one MobileNet, one ResNet (residual adds, batch norm in the tape).
  nn::ModelOptions o;
  o.alpha = 0.25, o.input_size = 64, o.classes = 10;
  auto a = nn::make_model("mobilenet_v1", o), b = nn::make_model("resnet50", o);
  nn::init_parameters(*a, 1), nn::init_parameters(*b, 2);
  const Tensor xa = rnd({2, 3, 64, 64}, 3, DType::f32), xb = rnd({2, 3, 64, 64}, 4, DType::f32);
  const auto saliency = [](nn::Model& m, const Tensor& x, int64_t target) {
    return xai::saliency([&](const Tensor& in) { return m(in); }, x, target);
  };
  const Tensor ra = saliency(*a, xa, 3), rb = saliency(*b, xb, 5);
  // The same maps from both models' forwards and backwards recorded on one tape, interleaved.
  const auto interleaved = [&] {
    Tape tape;
    TapeGuard on(tape);
    const Tensor ga = xa.to(a->device()).set_requires_grad(true), gb = xb.to(b->device()).set_requires_grad(true);
    const Tensor ya = (*a)(ga), yb = (*b)(gb);
    const Tensor da = tape.grad(xai::target_score(ya, {3, false}), {ga}, Tensor(), true)[0];
    const Tensor db = tape.grad(xai::target_score(yb, {5, false}), {gb})[0];
    return std::make_pair(da.to(Device::cpu), db.to(Device::cpu));
  };
  const auto [ia, ib] = interleaved();
  a->to(Device::cuda), b->to(Device::cuda);
  // The counts below are the same in every build: not under the sanitizers, where these three
  // sections alone took 2.5 minutes of simulated threads and checked no memory access the rest don't.
#if defined(GT_CUDA_SIM) && !defined(__SANITIZE_ADDRESS__)
  SECTION("a model's forward and backward go to its stream, and only there") {
    // Streams are numbered in creation order: the backend's default stream first (1; 0 is the null
    // stream), then a's and b's, just made. The methods' own arithmetic is on the host here.
    const size_t sb = cuda_sim::launches_by_stream().size() - 1, sa = sb - 1, sd = 1;
    auto before = cuda_sim::launches_by_stream();
    {
      NoGradGuard ng;
      (*a)(xa);
    }
    auto after = cuda_sim::launches_by_stream();
    const long forward = after[sa] - before[sa];
    before = after;
    saliency(*a, xa, 3);
    after = cuda_sim::launches_by_stream();
    INFO("forward " << forward << ", saliency " << after[sa] - before[sa]);
    CHECK(forward > 20);
    CHECK(after[sa] - before[sa] > 2 * forward);  // the backward too
    CHECK(after[sb] == before[sb]);
    CHECK(after[sd] == before[sd]);
    before = after;
    saliency(*b, xb, 5);
    after = cuda_sim::launches_by_stream();
    CHECK(after[sb] - before[sb] > 100);
    CHECK(after[sa] == before[sa]);
    CHECK(after[sd] == before[sd]);
  }
  SECTION("in a steady state, a pass takes all its memory from the cache") {
    // The tape's saved activations are allocated on the model's stream and freed when the tape is
    // reset, on the caller's; the next pass must get them back rather than call cudaMalloc again.
    const auto pass = [&] { return saliency(*b, xb, 5), saliency(*a, xa, 3); };
    pass();
    const long before = cuda_sim::stats().mallocs;
    for (int k = 0; k < 3; ++k) pass();
    CHECK(cuda_sim::stats().mallocs == before);
  }
  SECTION("a pass on an input on the GPU copies nothing to it and waits for it once, at the end") {
    // A wait in the middle would leave the GPU idle while the host queues the rest of the pass (a
    // one-hot mask uploaded between forward and backward; batch norm's 1/sqrt(var) on the host).
    // The one wait is the tape's NaN check of the gradient, which reads back one number.
    const Tensor x = rnd({1, 3, 64, 64}, 6, DType::f32).to(Device::cuda);
    const auto launches = [](const std::function<void()>& pass) {
      pass();
      const cuda_sim::Stats before = cuda_sim::stats();
      pass();
      const cuda_sim::Stats after = cuda_sim::stats();
      CHECK(after.to_device == before.to_device);
      return std::make_pair(after.launches - before.launches, after.syncs - before.syncs);
    };
    const auto forward = launches([&] {
      NoGradGuard ng;
      (*b)(x);
    });
    const auto sal = launches([&] { saliency(*b, x, 5); });
    const auto cam = launches(
        [&] { xai::gradcam([&](const Tensor& in) { return (*b)(in); }, x, {5, false}, b->info.gradcam_layer); });
    INFO("launches: forward " << forward.first << ", saliency " << sal.first << ", Grad-CAM " << cam.first);
    CHECK(sal.second == 1);
    CHECK(cam.second == 1);
    // Grad-CAM hooks its layer alone, so the rest of the network runs fused as in the forward pass
    // (a hook on every op would unfuse each conv, batch norm and ReLU: three launches for one).
    CHECK(cam.first < forward.first * 3 / 2);
    // Batch norm unfused (in training, or where a hook looks) queues its work and waits for nothing.
    const Tensor ones = Tensor::full({3}, 1.0, DType::f32, Device::cuda), zeros = Tensor::zeros_like(ones);
    const cuda_sim::Stats before = cuda_sim::stats();
    ops::batch_norm(x, ones, zeros, zeros, ones, 1e-5, false, 0.1);
    CHECK(cuda_sim::stats().syncs == before.syncs);
  }
#endif
  SECTION("interleaved on one tape") {
    const auto [ga, gb] = interleaved();
    expect_close("mobilenet saliency, interleaved with resnet", ga.to(Device::cuda), ia, Tol{1e-4, 1e-3});
    expect_close("resnet saliency, interleaved with mobilenet", gb.to(Device::cuda), ib, Tol{1e-4, 1e-3});
    // the interleaved CPU maps are the plain ones
    expect_close("mobilenet saliency, interleaved, on the CPU", ia.to(Device::cuda), ra, Tol{1e-6, 0});
    expect_close("resnet saliency, interleaved, on the CPU", ib.to(Device::cuda), rb, Tol{1e-6, 0});
  }
  SECTION("from two threads at once") {
    // Each thread has its own tape and its own current stream; the allocator's free lists are per
    // stream, so a block one model frees while its kernels may still read it is handed to the other
    // only behind an event.
#ifdef __SANITIZE_ADDRESS__
    constexpr int kPasses = 2;  // simulated threads under the sanitizers are slow
#else
    constexpr int kPasses = 6;  // enough that a block reused across streams is caught every time
#endif
    Tensor got[2][kPasses];
    std::thread ta([&] {
      for (auto& g : got[0]) g = saliency(*a, xa, 3);
    });
    std::thread tb([&] {
      for (auto& g : got[1]) g = saliency(*b, xb, 5);
    });
    ta.join(), tb.join();
    for (int k = 0; k < kPasses; ++k) {
      expect_close("mobilenet saliency, thread 1, pass " + std::to_string(k), got[0][k].to(Device::cuda), ra,
                   Tol{1e-4, 1e-3});
      expect_close("resnet saliency, thread 2, pass " + std::to_string(k), got[1][k].to(Device::cuda), rb,
                   Tol{1e-4, 1e-3});
    }
  }
}

#ifdef GT_CUDA_SIM
TEST_CASE("cuda: a cached block freed on one stream and taken for another waits for the first's queued work",
          "[streams]") {
  // On the simulator a created stream runs only when waited for, so a block reused before the work
  // queued on its old stream has run shows up as a wrong result. 12 MB: no block the tests before
  // this one cache fits it (the REQUIRE below fails if one does), and simulated kernels over it stay fast.
  const Shape shape{(3 << 20) + 4321};
  Backend& gpu = backend(Device::cuda);
  const StreamPtr s1 = gpu.make_stream(), s2 = gpu.make_stream();
  StreamScope on(s1);
  const auto count = [](const Tensor& t, float v) {
    const std::vector<float> h = t.to_vector();
    return std::count(h.begin(), h.end(), v);
  };
  // Twice: the second block is freed after s2's first wait, which must not cover it.
  for (int round = 0; round < 2; ++round) {
    Tensor x = Tensor::full(shape, 1.0, DType::f32, Device::cuda);
    gpu.synchronize();                    // x holds ones
    Tensor y = ops::mul_scalar(x, 2), z;  // y: queued on s1, not yet run
    const void* const block = x.raw();
    x = Tensor();      // free for s1's work from now on
    std::thread([&] {  // another thread, whose stream s2 is not ordered after s1
      StreamScope on2(s2);
      z = Tensor::full(shape, 7.0, DType::f32, Device::cuda);
      gpu.synchronize();
    })
        .join();
    INFO("round " << round);
    REQUIRE(z.raw() == block);  // s2 took x's block from s1's list
    CHECK(count(y, 2.0f) == shape[0]);
    CHECK(count(z, 7.0f) == shape[0]);
  }  // y's and z's blocks go to s1's list, for the next round's x and y
}
#endif

TEST_CASE("cuda: every XAI method on ResNet50 with random weights, CUDA against CPU") {
  auto m = random_model("resnet50");
  compare_methods("resnet50", *m, rnd({1, 3, 224, 224}, 7, DType::f32), 281);
}

TEST_CASE("cuda: every XAI method on the real MobileNet, CUDA against CPU") {
  // GT_SHARED_DIR in the environment wins: tools/gpu_check.sh --prebuilt runs this where ../shared is not
  const char* env = std::getenv("GT_SHARED_DIR");
  const std::string shared = env ? env : GT_SHARED_DIR;
  const std::string weights = shared + "/data/weights/mobilenet_v1_0.25_224.tflite";
  const std::string image = shared + "/data/images/chelsea.png";
  if (!std::filesystem::exists(weights)) {
    WARN("skipped: ../shared/data is absent");
    return;
  }
  auto m = tflite::load(weights);
  compare_methods("mobilenet_v1", *m, load_input(image, m->info), 286);
}

int main(int argc, char** argv) {
  try {
    backend(Device::cuda);
  } catch (const Error& e) {
    std::printf("cuda tests skipped: %s\n", e.what());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
