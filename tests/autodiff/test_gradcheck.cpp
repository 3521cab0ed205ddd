// Finite-difference gradient checks, in double precision, for every input of every op.
// Shapes cover stride 2, asymmetric ('SAME') padding, dilation, groups, depthwise and odd sizes.
#include <catch2/catch.hpp>

#include "autodiff/gradcheck.h"
#include "autodiff/op_util.h"
#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "tests/op_cases.h"

using namespace gt;
using V = std::vector<Tensor>;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  return Tensor::uniform(s, lo, hi, seed, DType::f64);
}

// A case's inputs in double, each from its own seed, in the case's range.
V inputs(const test::OpCase& c) {
  V in;
  for (size_t i = 0; i < c.shapes.size(); ++i) in.push_back(rnd(c.shapes[i], 1 + i, c.lo, c.hi));
  return in;
}

void expect_ok(const std::string& what, const OpFn& f, const V& in, GradcheckOptions o = {}) {
  const GradcheckResult r = gradcheck(f, in, o);
  INFO(what << "\n" << r.report);
  CHECK(r.ok);
  CHECK(r.checked > 0);
  CHECK(r.skipped * 20 <= r.checked);  // kinks are rare with random inputs
}

// Every case of a table (tests/op_cases.h) but those too large for finite differences.
void check_cases(const std::vector<test::OpCase>& cases) {
  for (const test::OpCase& c : cases)
    if (!c.device_only) expect_ok(c.name, c.f, inputs(c));
}
}  // namespace

TEST_CASE("gradcheck: conv2d in every configuration (tests/op_cases.h)") { check_cases(test::conv_cases()); }

TEST_CASE("gradcheck: conv2d_affine (conv -> batch norm -> activation, frozen parameters)") {
  // Only x gets a gradient; the weight, scale and shift are constants captured by the function.
  // scale has both signs and |scale| up to 3 (relu6 clips: the outputs reach past 6).
  const Tensor w = rnd({4, 3, 3, 3}, 2), scale = rnd({4}, 3, -3, 3), shift = rnd({4}, 4, -1, 4);
  const Tensor wd = rnd({3, 1, 3, 3}, 5), sd = rnd({3}, 6, -3, 3);
  for (Act act : {Act::none, Act::relu, Act::relu6}) {
    const std::string name = act == Act::none ? "none" : act == Act::relu ? "relu" : "relu6";
    expect_ok("3x3 pad 1, " + name,
              [&](const V& v) {
                return ops::conv2d_affine(v[0], w, scale, shift, act, test::conv_options(1, 1, {1, 1, 1, 1}));
              },
              {rnd({2, 3, 6, 5}, 1)});
    expect_ok("depthwise stride 2, no shift, " + name,
              [&](const V& v) {
                return ops::conv2d_affine(v[0], wd, sd, Tensor(), act, test::conv_options(2, 2, {1, 1, 1, 1}, 3));
              },
              {rnd({1, 3, 7, 7}, 7)});
  }
  expect_ok(
      "bias only (no scale), relu",
      [&](const V& v) { return ops::conv2d_affine(v[0], w, Tensor(), shift, Act::relu, test::conv_options(1, 1, {})); },
      {rnd({1, 3, 5, 5}, 8)});
  // A residual block's end: gradients for x and for the residual (which needs no conv).
  const Tensor w1 = rnd({4, 3, 1, 1}, 9);
  for (Act act : {Act::none, Act::relu}) {
    const std::string name = act == Act::none ? "none" : "relu";
    expect_ok("residual, 1x1, " + name,
              [&](const V& v) { return ops::conv2d_affine(v[0], w1, scale, shift, act, {}, v[1]); },
              {rnd({2, 3, 4, 5}, 10), rnd({2, 4, 4, 5}, 11, -2, 2)});
    expect_ok("residual, 3x3 without scale, " + name,
              [&](const V& v) {
                return ops::conv2d_affine(v[0], w, Tensor(), shift, act, test::conv_options(1, 1, {1, 1, 1, 1}), v[1]);
              },
              {rnd({1, 3, 5, 4}, 12), rnd({1, 4, 5, 4}, 13, -2, 2)});
  }
}

TEST_CASE("gradcheck: dense, matmul, bias (tests/op_cases.h)") { check_cases(test::dense_cases()); }

TEST_CASE("gradcheck: element-wise ops, broadcasting included (tests/op_cases.h)") {
  check_cases(test::elementwise_cases());
}

TEST_CASE("broadcasting: the shapes NumPy gives, and a clear error where they do not broadcast") {
  CHECK(ops::broadcast_shape({2, 1, 4, 1}, {3, 1, 5}) == Shape{2, 3, 4, 5});
  CHECK(ops::broadcast_shape({4, 3}, {2, 3, 4, 3}) == Shape{2, 3, 4, 3});
  CHECK(ops::broadcast_shape({1}, {5}) == Shape{5});
  CHECK_THROWS_WITH(ops::add(Tensor::zeros({2, 3}), Tensor::zeros({4, 3})),
                    Catch::Contains("add") && Catch::Contains("[2,3] and [4,3] do not broadcast"));
  CHECK_THROWS_WITH(ops::expand(Tensor::zeros({2, 3}), {3, 3}), Catch::Contains("cannot expand [2,3] to [3,3]"));
  CHECK_THROWS_WITH(ops::sum_to(Tensor::zeros({2, 3}), {4}), Catch::Contains("cannot sum [2,3] down to [4]"));
  // The broadcasting kernel agrees with expanding both inputs first (another kernel, broadcast_axis).
  const Tensor u = rnd({2, 1, 4, 1}, 1), w = rnd({3, 1, 5}, 2, 0.5, 2);
  for (const auto& f : {ops::add, ops::sub, ops::mul, ops::div}) {
    const Tensor direct = f(u, w), expanded = f(ops::expand(u, {2, 3, 4, 5}), ops::expand(w, {2, 3, 4, 5}));
    CHECK(direct.shape() == Shape{2, 3, 4, 5});
    CHECK(direct.to_vector_f64() == expanded.to_vector_f64());
  }
  // The gradient of a broadcast input is summed over the axes it was repeated along.
  Tape tape;
  TapeGuard guard(tape);
  const Tensor a = Tensor::full({1, 3}, 2.0, DType::f64).set_requires_grad(true);
  const Tensor b = Tensor::full({4, 1}, 5.0, DType::f64).set_requires_grad(true);
  const V g = tape.grad(ops::sum(ops::mul(a, b)), {a, b});
  CHECK(g[0].shape() == Shape{1, 3});
  CHECK(g[0].to_vector_f64() == std::vector<double>{20, 20, 20});  // 4 rows of b = 5
  CHECK(g[1].to_vector_f64() == std::vector<double>{6, 6, 6, 6});  // 3 columns of a = 2
  CHECK(ops::one_hot(2, 4).to_vector() == std::vector<float>{0, 0, 1, 0});
}

TEST_CASE("gradcheck: softmax, log-softmax, cross-entropy (tests/op_cases.h)") { check_cases(test::softmax_cases()); }

TEST_CASE("gradcheck: pooling (tests/op_cases.h)") { check_cases(test::pool_cases()); }

TEST_CASE("max pool ties: the gradient goes to each window's first maximum") {
  // All inputs equal: every window's first element (row-major) wins, in the 2x2/2 path and the
  // general one (3x3/2, overlapping windows).
  for (auto [k, size] : {std::pair{2, 5}, {3, 5}}) {
    ops::PoolOptions o;
    o.kernel_h = o.kernel_w = k, o.stride_h = o.stride_w = 2;
    Tape tape;
    TapeGuard guard(tape);
    Tensor x = Tensor::full({1, 1, size, size}, 1.0).set_requires_grad(true);
    const std::vector<float> dx = tape.grad(ops::sum(ops::max_pool2d(x, o)), {x})[0].to_vector();
    for (int iy = 0; iy < size; ++iy)
      for (int ix = 0; ix < size; ++ix) {
        const bool first = iy % 2 == 0 && ix % 2 == 0 && iy + k <= size && ix + k <= size;
        INFO("k " << k << " at " << iy << "," << ix);
        CHECK(dx[size_t(iy * size + ix)] == (first ? 1.0f : 0.0f));
      }
  }
}

TEST_CASE("gradcheck: batch norm, inference and training (tests/op_cases.h)") { check_cases(test::batch_norm_cases()); }

TEST_CASE("gradcheck: layout ops and reductions (tests/op_cases.h)") { check_cases(test::layout_cases()); }

TEST_CASE("gradcheck catches a wrong backward rule") {
  // y = 2x with a backward rule that says dx = 3 dy: the check must fail.
  auto wrong = [](const V& v) {
    Tensor y = ops::mul_scalar(v[0], 2.0).detach();
    return detail::record("wrong_scale", {v[0]}, y, {}, [](BackwardContext& c) {
      Tensor dx = Tensor::empty_like(c.dy);
      detail::be(dx).affine(c.dy, 3.0, 0.0, dx);
      c.set(0, dx);
    });
  };
  const GradcheckResult r = gradcheck(wrong, {rnd({3, 2}, 1)});
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("mismatches") != std::string::npos);
}
