// The tensor and the tape: fan-out, requires_grad propagation, no-grad, gradients at intermediate
// tensors, hooks, memory reuse, deep graphs, and the stream each node is queued on.
#include <catch2/catch.hpp>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "nn/tiny_cnn.h"

using namespace gt;

TEST_CASE("tensor basics: shapes, views share storage, dtype conversion") {
  Tensor x = Tensor::from_vector({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(x.shape() == Shape{2, 3});
  CHECK(x.numel() == 6);
  Tensor v = x.view({3, 2});
  v.data<float>()[0] = 10;
  CHECK(x.at(0) == 10);  // shared storage
  Tensor d = x.to(DType::f64);
  CHECK(d.dtype() == DType::f64);
  CHECK(d.at(5) == 6.0);
  CHECK_THROWS_AS(x.data<double>(), Error);
  CHECK_THROWS_AS(x.view({4, 2}), Error);
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5}), Error);
}

TEST_CASE("fan-out: gradients of a value used twice are summed") {
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::from_vector({3}, std::vector<float>{1, -2, 3}).set_requires_grad(true);
  // y = sum(x*x + x) -> dy/dx = 2x + 1
  Tensor y = ops::sum(ops::add(ops::mul(x, x), x));
  Tensor dx = tape.grad(y, {x})[0];
  CHECK(dx.at(0) == Approx(3));
  CHECK(dx.at(1) == Approx(-3));
  CHECK(dx.at(2) == Approx(7));
}

TEST_CASE("requires_grad propagates and frozen weights get no gradient computed") {
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::uniform({1, 2, 5, 5}, -1, 1, 1).set_requires_grad(true);
  Tensor w = Tensor::uniform({3, 2, 3, 3}, -1, 1, 2);  // frozen
  Tensor y = ops::conv2d(x, w);
  CHECK(y.requires_grad());
  bool saw_conv = false;
  tape.add_backward_hook("conv2d", "", [&](const Node&, const Tensor&, std::vector<Tensor>& dx) {
    saw_conv = true;
    CHECK(dx[0].defined());   // dx computed
    CHECK(!dx[1].defined());  // dw never computed
  });
  // the hook was added after recording, so attach it by recording again
  tape.reset();
  y = ops::conv2d(x, w);
  CHECK(tape.node(0).saved[0].defined() == false);  // x not kept: no weight gradient possible
  tape.grad(ops::sum(y), {x});
  CHECK(saw_conv);
}

TEST_CASE("no-grad scope records nothing") {
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::uniform({4}, -1, 1, 1).set_requires_grad(true);
  {
    NoGradGuard ng;
    Tensor y = ops::relu(x);
    CHECK(!y.requires_grad());
  }
  CHECK(tape.size() == 0);
  Tensor z = ops::relu(x);
  CHECK(tape.size() == 1);
}

TEST_CASE("gradient with respect to an intermediate activation") {
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::uniform({1, 1, 4, 4}, -1, 1, 3).set_requires_grad(true);
  Tensor w = Tensor::uniform({2, 1, 3, 3}, -1, 1, 4);
  Tensor a = ops::conv2d(x, w, {1, 1, 1, 1, {1, 1, 1, 1}, 1});
  Tensor r = ops::relu(a);
  Tensor s = ops::sum(ops::mul(r, r));  // ds/da = 2 relu(a) [a > 0]
  Tensor da = tape.grad(s, {a})[0];
  const auto av = a.to_vector(), dav = da.to_vector();
  for (size_t i = 0; i < av.size(); ++i) CHECK(dav[i] == Approx(av[i] > 0 ? 2 * av[i] : 0.0f));
}

TEST_CASE("forward hook makes a frozen activation a leaf (the Grad-CAM pattern)") {
  auto net = nn::tiny_cnn(3, 7);
  Tape tape;
  TapeGuard g(tape);
  Tensor act;
  tape.add_forward_hook("relu", "conv2_relu", [&](const std::string&, const std::string&, const Tensor& out) {
    act = out;
    act.set_requires_grad(true);
    return act;
  });
  Tensor x = Tensor::uniform({1, 3, 8, 8}, 0, 1, 9);  // neither x nor the weights require a gradient
  Tensor logits = (*net)(x);
  // Only the layers after the hooked activation are on the tape: gap, fc (linear, bias_add, flatten).
  for (size_t i = 0; i < tape.size(); ++i) CHECK(tape.node(i).layer != "conv1");
  REQUIRE(tape.size() > 0);
  Tensor da = tape.grad(ops::sum(logits), {act})[0];
  CHECK(da.shape() == act.shape());
  // d sum(logits) / d act = sum_k W_fc[k, c] / (H*W), the same at every pixel of channel c
  auto* fc = static_cast<nn::Dense*>(net->layers()[6].get());
  const auto wv = fc->weight.to_vector();
  const int64_t HW = act.dim(2) * act.dim(3);
  for (int64_t c = 0; c < act.dim(1); ++c) {
    double col = 0;
    for (int k = 0; k < 3; ++k) col += wv[k * 16 + c];
    CHECK(da.at(c * HW + 5) == Approx(col / HW));
  }
}

TEST_CASE("forward hook replacing a value changes the output and the gradient") {
  Tape tape;
  TapeGuard g(tape);
  tape.add_forward_hook(
      "relu", "", [](const std::string&, const std::string&, const Tensor& out) { return ops::mul_scalar(out, 3.0); });
  Tensor x = Tensor::from_vector({2}, std::vector<float>{2, -1}).set_requires_grad(true);
  Tensor y = ops::relu(x);
  CHECK(y.at(0) == Approx(6));
  Tensor dx = tape.grad(ops::sum(y), {x})[0];
  CHECK(dx.at(0) == Approx(3));
  CHECK(dx.at(1) == Approx(0));
}

TEST_CASE("backward hook can replace gradients (guided backprop rule)") {
  Tape tape;
  TapeGuard g(tape);
  tape.add_backward_hook("relu", "", [](const Node&, const Tensor&, std::vector<Tensor>& dx) {
    dx[0] = ops::relu(dx[0]);  // keep only positive gradients
  });
  Tensor x = Tensor::from_vector({3}, std::vector<float>{1, 2, -1}).set_requires_grad(true);
  Tensor w = Tensor::from_vector({3}, std::vector<float>{1, -1, 1});
  Tensor dx = tape.grad(ops::sum(ops::mul(ops::relu(x), w)), {x})[0];
  CHECK(dx.at(0) == Approx(1));
  CHECK(dx.at(1) == Approx(0));  // negative gradient clamped
  CHECK(dx.at(2) == Approx(0));  // relu closed
}

TEST_CASE("layer names from name scopes reach the nodes") {
  auto net = nn::tiny_cnn(2, 1);
  for (Tensor& p : net->parameters()) p.set_requires_grad(true);
  Tape tape;
  TapeGuard g(tape);
  (*net)(Tensor::uniform({1, 3, 8, 8}, 0, 1, 2));
  CHECK(tape.node(0).layer == "conv1");
  CHECK(tape.node(0).op == "conv2d");
  CHECK(tape.dump().find("conv2_relu\trelu") != std::string::npos);
}

TEST_CASE("training form accumulates into .grad and only for leaves that require it") {
  Tape tape;
  TapeGuard g(tape);
  Tensor w = Tensor::from_vector({2}, std::vector<float>{1, 2}).set_requires_grad(true);
  Tensor c = Tensor::from_vector({2}, std::vector<float>{3, 4});
  tape.backward(ops::sum(ops::mul(w, c)));
  CHECK(w.grad().at(0) == Approx(3));
  CHECK(!c.grad().defined());
  tape.backward(ops::sum(ops::mul(w, c)));
  CHECK(w.grad().at(1) == Approx(8));  // accumulated over two passes
}

TEST_CASE("non-scalar backward needs a seed") {
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::uniform({3}, -1, 1, 1).set_requires_grad(true);
  Tensor y = ops::mul_scalar(x, 2.0);
  CHECK_THROWS_AS(tape.grad(y, {x}, Tensor(), true), Error);
  Tensor dx = tape.grad(y, {x}, Tensor::full({3}, 1.0))[0];
  CHECK(dx.at(2) == Approx(2));
}

TEST_CASE("a long chain runs backward without recursion") {
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::full({1}, 0.5).set_requires_grad(true);
  Tensor h = x;
  for (int i = 0; i < 100000; ++i) h = ops::add_scalar(h, 1e-6);
  CHECK(tape.grad(h, {x})[0].at(0) == Approx(1.0));
}

TEST_CASE("many forward/backward passes on one model do not leak") {
  auto net = nn::tiny_cnn(4, 3);
  for (Tensor& p : net->parameters()) p.set_requires_grad(true);
  Tape tape;
  TapeGuard g(tape);
  Tensor x = Tensor::uniform({2, 3, 16, 16}, 0, 1, 5);
  auto step = [&] {
    for (Tensor& p : net->parameters()) p.set_grad(Tensor());
    tape.backward(ops::cross_entropy((*net)(x), {1, 2}));
  };
  step();
  const int64_t after_one = Storage::live_bytes();
  for (int i = 0; i < 30; ++i) step();
  CHECK(Storage::live_bytes() == after_one);
  CHECK(tape.size() == 0);
}

TEST_CASE("a NaN or Inf gradient stops backward and names the node that produced it") {
  Tape tape;
  TapeGuard guard(tape);
  Tensor x = Tensor::uniform({4}, -1, 1, 1).set_requires_grad(true);
  const Tensor scale = Tensor::from_vector({4}, std::vector<float>{1, 2, INFINITY, 4});
  Tensor y;
  {
    NameScope s("scaled");
    y = ops::mul(x, scale);  // d y / d x = scale: Inf in the third element
  }
  Tensor z;
  {
    NameScope s("head");
    z = ops::sum(ops::relu(y));
  }
  CHECK_THROWS_WITH(tape.grad(z, {x}), Catch::Contains("NaN or Inf") && Catch::Contains("mul [scaled]"));
}

namespace {

// A stream that only writes down the switches StreamScope asks for ("-" is the default stream).
struct LoggedStream final : Stream {
  LoggedStream(std::string name, std::vector<std::string>& log) : name(std::move(name)), log(log) {}
  void order(const Stream* from, const Stream* to) const override { log.push_back(label(from) + ">" + label(to)); }
  static std::string label(const Stream* s) { return s ? static_cast<const LoggedStream*>(s)->name : "-"; }
  std::string name;
  std::vector<std::string>& log;
};

}  // namespace

TEST_CASE("streams: a scope switches and switches back, the tape runs each node's backward on its forward's stream") {
  std::vector<std::string> log;
  const auto a = std::make_shared<LoggedStream>("a", log), b = std::make_shared<LoggedStream>("b", log);
  REQUIRE(current_stream() == nullptr);
  {
    StreamScope on(a);
    CHECK(current_stream() == a);
    {
      StreamScope same(a);  // no switch: nothing to order
      StreamScope other(b);
      CHECK(current_stream() == b);
    }
    CHECK(current_stream() == a);
    try {
      StreamScope thrown(b);
      throw Error("leaves the scope");
    } catch (const Error&) {
    }
    CHECK(current_stream() == a);
  }
  CHECK(current_stream() == nullptr);
  CHECK(log == std::vector<std::string>{"->a", "a>b", "b>a", "a>b", "b>a", "a>-"});

  // u = x * x on stream a, v = u + x on b, y = sum(v) on the default stream; dy/dx = 2x + 1.
  Tape tape;
  TapeGuard g(tape);
  std::vector<const Stream*> ran_on;  // a backward hook runs right after its node's rule
  tape.add_backward_hook(
      "", "", [&](const Node&, const Tensor&, std::vector<Tensor>&) { ran_on.push_back(current_stream().get()); });
  Tensor x = Tensor::from_vector({3}, std::vector<float>{1, -2, 3}).set_requires_grad(true);
  Tensor u, v;
  {
    StreamScope on(a);
    u = ops::mul(x, x);
  }
  {
    StreamScope on(b);
    v = ops::add(u, x);
  }
  const Tensor y = ops::sum(v);
  REQUIRE(tape.size() == 3);
  CHECK(tape.node(0).stream == a);
  CHECK(tape.node(1).stream == b);
  CHECK(tape.node(2).stream == nullptr);
  log.clear();
  const Tensor dx = tape.grad(y, {x})[0];
  CHECK(dx.at(0) == Approx(3));
  CHECK(dx.at(1) == Approx(-3));
  CHECK(dx.at(2) == Approx(7));
  CHECK(ran_on == std::vector<const Stream*>{nullptr, b.get(), a.get()});
  // one switch per change of stream, and back to the caller's at the end
  CHECK(log == std::vector<std::string>{"->b", "b>a", "a>-"});
  CHECK(current_stream() == nullptr);
}
