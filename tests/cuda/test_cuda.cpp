// CUDA against CPU (DESIGN.md, correctness check 3): every op forward and backward, then whole models
// and every XAI method, element by element with |cuda - cpu| <= atol + rtol * |cpu|.
//
// Each op runs twice: in float64, where the two devices differ only by summation order, so a tight
// tolerance proves the kernels' indexing (a wrong tap or a missed tile edge is off by O(1)); and in
// float32, the precision gradtrace runs in. Its own executable: without a usable GPU it prints one
// line and exits 77, which ctest reports as skipped. The same file also runs on the simulated GPU of
// tests/cuda_sim (ctest cuda_sim, cuda_sim_skewed), on every machine.
#define CATCH_CONFIG_RUNNER
#include "tests/cuda/cuda_test_util.h"

using namespace gt;
using namespace gt::test_cuda;

TEST_CASE("cuda: conv2d forward, backward-data, backward-weight in every configuration (tests/op_cases.h)") {
  compare_cases(test::conv_cases(), true);
}

TEST_CASE("cuda: conv2d_affine (folded batch norm, ReLU and ReLU6 epilogues)") {
  for (Act act : {Act::none, Act::relu, Act::relu6}) {
    const auto o = test::conv_options(1, 1, {1, 1, 1, 1});
    compare_op(
        std::string("conv2d_affine act ") + std::to_string(int(act)),
        [o, act](const V& v) {
          // frozen parameters: only x gets a gradient through the fused node
          return ops::conv2d_affine(v[0], v[1].detach(), v[2].detach(), ops::mul_scalar(v[3].detach(), 3), act, o);
        },
        {{2, 5, 9, 8}, {7, 5, 3, 3}, {7}, {7}}, true);
  }
}

TEST_CASE("cuda: dense, matmul, bias (tests/op_cases.h)") { compare_cases(test::dense_cases()); }

TEST_CASE("cuda: element-wise ops, broadcasting included (tests/op_cases.h)") {
  compare_cases(test::elementwise_cases());
}

TEST_CASE("cuda: softmax, log-softmax, cross-entropy (tests/op_cases.h)") { compare_cases(test::softmax_cases()); }

TEST_CASE("cuda: pooling (tests/op_cases.h)") { compare_cases(test::pool_cases()); }

TEST_CASE("cuda: batch norm, inference and training (tests/op_cases.h)") { compare_cases(test::batch_norm_cases()); }

TEST_CASE("cuda: layout ops and reductions (tests/op_cases.h)") { compare_cases(test::layout_cases()); }

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
        return ops::conv2d(v[0], v[1], test::conv_options(1, 1, {1, 1, 1, 1}), v[2]);
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

int main(int argc, char** argv) {
  try {
    backend(Device::cuda);
  } catch (const Error& e) {
    std::printf("cuda tests skipped: %s\n", e.what());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
