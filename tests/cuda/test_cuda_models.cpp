// CUDA against CPU for whole models: training steps, each model on its own stream (interleaved, from
// two threads, and what it launches, allocates and waits for), the caching allocator across streams,
// and every XAI method on ResNet50 and the real MobileNet (test_cuda.cpp has the op-level tests).
#include "tests/cuda/cuda_test_util.h"

using namespace gt;
using namespace gt::test_cuda;

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
      expect_close(std::string(kind) + ": " + a[i].first + " after 3 steps", *b[i].second, *a[i].second,
                   Tol{1e-4, 1e-3});
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

namespace {
// Two narrow models at 64 x 64 - one MobileNet, one ResNet (residual adds, batch norm in the tape) -
// their inputs, and their saliency maps on the CPU: alone (ra, rb) and recorded interleaved on one
// tape (ia, ib). Then both models move to the GPU.
struct TwoModels {
  std::unique_ptr<nn::Model> a, b;
  Tensor xa, xb, ra, rb, ia, ib;
  TwoModels() {
    nn::ModelOptions o;
    o.alpha = 0.25, o.input_size = 64, o.classes = 10;
    a = nn::make_model("mobilenet_v1", o), b = nn::make_model("resnet50", o);
    nn::init_parameters(*a, 1), nn::init_parameters(*b, 2);
    xa = rnd({2, 3, 64, 64}, 3, DType::f32), xb = rnd({2, 3, 64, 64}, 4, DType::f32);
    ra = saliency(*a, xa, 3), rb = saliency(*b, xb, 5);
    std::tie(ia, ib) = interleaved();
    a->to(Device::cuda), b->to(Device::cuda);
  }
  static Tensor saliency(nn::Model& m, const Tensor& x, int64_t target) {
    return xai::saliency([&](const Tensor& in) { return m(in); }, x, target);
  }
  // Both models' forwards and backwards recorded on one tape, interleaved.
  std::pair<Tensor, Tensor> interleaved() {
    Tape tape;
    TapeGuard on(tape);
    const Tensor ga = xa.to(a->device()).set_requires_grad(true), gb = xb.to(b->device()).set_requires_grad(true);
    const Tensor ya = (*a)(ga), yb = (*b)(gb);
    const Tensor da = tape.grad(xai::target_score(ya, {3, false}), {ga}, Tensor(), true)[0];
    const Tensor db = tape.grad(xai::target_score(yb, {5, false}), {gb})[0];
    return {da.to(Device::cpu), db.to(Device::cpu)};
  }
};
}  // namespace

TEST_CASE("cuda: each model queues its work on its own stream, interleaved or from two threads, it matches the CPU",
          "[streams]") {
  TwoModels t;
  auto& [a, b, xa, xb, ra, rb, ia, ib] = t;
  const auto saliency = TwoModels::saliency;
  const auto interleaved = [&] { return t.interleaved(); };
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

// The counts below are the same in every build: not under the sanitizers, where these three sections
// alone took 2.5 minutes of simulated threads and checked no memory access the rest don't.
#if defined(GT_CUDA_SIM) && !defined(__SANITIZE_ADDRESS__)
TEST_CASE("cuda: a model's pass goes to its own stream, takes its memory from the cache and waits once", "[streams]") {
  TwoModels t;
  auto& [a, b, xa, xb, ra, rb, ia, ib] = t;
  const auto saliency = TwoModels::saliency;
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
    const auto cam = launches([&] {
      xai::gradcam([&](const Tensor& in) { return (*b)(in); }, x, {5, false}, b->info.gradcam_layer);
    });
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
}
#endif

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
