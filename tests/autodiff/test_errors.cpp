// Bad input throws gt::Error naming the op, the layer and the shapes; nothing aborts.
#include <catch2/catch.hpp>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

using namespace gt;
using Catch::Matchers::Contains;

TEST_CASE("shape mismatches name the op, the layer and both shapes") {
  NameScope scope("block1_conv1");
  const Tensor x = Tensor::zeros({1, 3, 8, 8}), w = Tensor::zeros({4, 4, 3, 3});
  CHECK_THROWS_WITH(ops::conv2d(x, w),
                    Contains("conv2d [block1_conv1]") && Contains("[1,3,8,8]") && Contains("[4,4,3,3]"));
  CHECK_THROWS_WITH(ops::add(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})),
                    Contains("add [block1_conv1]") && Contains("[2,3]") && Contains("[3,2]"));
  CHECK_THROWS_WITH(ops::linear(Tensor::zeros({2, 5}), Tensor::zeros({3, 4})),
                    Contains("linear") && Contains("[2,5]") && Contains("[3,4]"));
  CHECK_THROWS_WITH(ops::bias_add(Tensor::zeros({2, 5, 3, 3}), Tensor::zeros({4})),
                    Contains("bias_add") && Contains("[4]") && Contains("[2,5,3,3]"));
  CHECK_THROWS_WITH(ops::concat_channels({Tensor::zeros({1, 2, 4, 4}), Tensor::zeros({1, 2, 5, 4})}),
                    Contains("concat_channels") && Contains("[1,2,5,4]") && Contains("[1,2,4,4]"));
  CHECK_THROWS_WITH(ops::matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 2})),
                    Contains("matmul") && Contains("[2,3]") && Contains("[4,2]"));
  CHECK_THROWS_WITH(ops::batch_norm(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({4}), Tensor::zeros({3}),
                                    Tensor::zeros({3}), Tensor::zeros({3}), 1e-3, false),
                    Contains("batch_norm") && Contains("gamma [4]") && Contains("[1,3,2,2]"));
}

TEST_CASE("wrong ranks, counts, kinds and parameters are errors") {
  CHECK_THROWS_WITH(ops::conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({4, 3, 3, 3})),
                    Contains("conv2d") && Contains("x must have 4 dimensions") && Contains("[3,8,8]"));
  CHECK_THROWS_WITH(ops::concat_channels({}), Contains("concat_channels") && Contains("no inputs"));
  CHECK_THROWS_WITH(ops::add(Tensor::zeros({2}), Tensor::zeros({2}, DType::f64)), Contains("float64"));
  CHECK_THROWS_WITH(ops::relu(Tensor()), Contains("relu") && Contains("undefined"));
  CHECK_THROWS_WITH(ops::cross_entropy(Tensor::zeros({2, 3}), {0}), Contains("1 labels for a batch of 2"));
  CHECK_THROWS_WITH(ops::cross_entropy(Tensor::zeros({1, 3}), {3}), Contains("label 3 outside [0, 3)"));
  ops::PoolOptions big;
  big.kernel_h = big.kernel_w = 5;
  CHECK_THROWS_WITH(ops::max_pool2d(Tensor::zeros({1, 1, 3, 3}), big), Contains("larger than the padded input"));
  ops::Conv2dOptions g3;
  g3.groups = 3;
  CHECK_THROWS_WITH(ops::conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({3, 1, 3, 3}), g3), Contains("groups=3"));
  CHECK_THROWS_WITH(ops::conv2d(Tensor::zeros({1, 1, 2, 2}), Tensor::zeros({1, 1, 3, 3})),
                    Contains("larger than the padded input"));
  CHECK_THROWS_WITH(ops::reshape(Tensor::zeros({2, 3}), {4}), Contains("cannot reshape [2,3] to [4]"));
  CHECK_THROWS_WITH(ops::dropout(Tensor::zeros({2}), 1.0, 1, true), Contains("p must lie in [0, 1)"));
}

TEST_CASE("backward errors: non-scalar without seed, wrong seed, output off the tape") {
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::zeros({2, 3}).set_requires_grad(true);
  Tensor y = ops::relu(x);
  CHECK_THROWS_WITH(tape.grad(y, {x}, Tensor(), true), Contains("[2,3]") && Contains("seed"));
  CHECK_THROWS_WITH(tape.grad(y, {x}, Tensor::zeros({3, 2}), true), Contains("seed gradient [3,2]"));
  Tensor c = ops::relu(Tensor::zeros({2}));  // nothing requires grad: not recorded
  CHECK_THROWS_WITH(tape.backward(ops::sum(c)), Contains("not on the tape"));
}
