// gradtrace inspect's engine (xai/inspect.h): every node of a saliency computation with its
// activation, the gradient arriving at it and its times; the input gradient is the saliency map.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>

#include "autodiff/gradcheck.h"
#include "autodiff/ops.h"
#include "image/preprocess.h"
#include "tests/test_util.h"
#include "train/loop.h"
#include "weights/format.h"
#include "weights/tflite.h"
#include "xai/inspect.h"

using namespace gt;

namespace {
using test::max_diff;

using test::kChelsea;
using test::kMobileNet;

// Every layer of the model appears, in forward order; indices are the tape's, without gaps.
void check_nodes(nn::Model& m, const xai::Inspection& r) {
  for (size_t i = 0; i < r.nodes.size(); ++i) CHECK(r.nodes[i].index == i);
  size_t at = 0;
  for (const auto& row : nn::layer_shapes(m)) {
    while (at < r.nodes.size() && r.nodes[at].layer != row.layer) ++at;
    INFO("layer " << row.layer);
    CHECK(at < r.nodes.size());
  }
}
}  // namespace

TEST_CASE("inspect: the embedded fashion_cnn, node by node", "[inspect]") {
  auto m = load_embedded_weights();
  const Tensor x = Tensor::uniform({1, 1, 28, 28}, 0, 1, 3);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  const xai::Target t{7, false};
  const xai::Inspection r = xai::inspect(fn, x, t, [](const std::string& layer) { return layer == "conv2_relu"; });
  check_nodes(*m, r);
  // Inspection hooks keep every layer its own node; the same layer-by-layer network gives the
  // same input gradient bit for bit.
  m->fuse = false;
  CHECK(max_diff(r.input_gradient, xai::saliency(fn, x, 7)) == 0);
  m->fuse = true;
  REQUIRE(r.logits.defined());
  CHECK(r.logits.shape() == Shape{1, 10});
  for (const auto& n : r.nodes) {
    INFO(n.layer << " " << n.op);
    CHECK(n.has_gradient);  // every node of this chain lies on the path to the target
    if (n.op == "relu") {
      CHECK(n.activation.min >= 0);
      CHECK(n.activation.zeros > 0);
    }
    if (n.layer == "conv2_relu") {
      // the kept tensors, and statistics that agree with them
      REQUIRE(n.activation_tensor.defined());
      REQUIRE(n.gradient_tensor.defined());
      CHECK(n.activation.max == Approx(xai::tensor_stats(n.activation_tensor).max));
      CHECK(n.gradient.l2 == Approx(xai::tensor_stats(n.gradient_tensor).l2));
      // the gradient arriving at the ReLU's output is d logit_7 / d relu2, computed here directly
      Tape tape;
      TapeGuard guard(tape);
      Tensor captured;
      tape.add_forward_hook("relu", "conv2_relu", [&](const std::string&, const std::string&, const Tensor& out) {
        captured = out;
        return out;
      });
      m->fuse = false;
      const Tensor xi = x.detach().set_requires_grad(true);
      const Tensor score = xai::target_score((*m)(xi), t);
      CHECK(max_diff(tape.grad(score, {captured})[0], n.gradient_tensor) == 0);
      m->fuse = true;
    } else {
      CHECK_FALSE(n.activation_tensor.defined());
    }
  }
  // The last nodes are the target's: the score's node receives the seed gradient 1.
  CHECK(r.nodes.back().gradient.l2 == Approx(1.0));
  // a dead-ReLU-free layer: a max pool passes each window's gradient to one input, so its input
  // gradient has zeros where its output had none
  const xai::Stats s = xai::tensor_stats(Tensor::from_vector({4}, std::vector<float>{0, -3, 4, 0}));
  CHECK(s.zeros == 0.5);
  CHECK(s.l2 == Approx(5));
  CHECK(s.min == -3);
  CHECK(s.mean == Approx(0.25));
}

TEST_CASE("inspect on the real MobileNet: every node listed, the input gradient is saliency's exactly", "[inspect]") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(kMobileNet);
  const Tensor x = load_input(kChelsea, m->info);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  const xai::Inspection r = xai::inspect(fn, x, xai::Target{286, false});
  check_nodes(*m, r);
  std::printf("inspect mobilenet_v1 0.25: %zu nodes\n", r.nodes.size());
  CHECK(r.nodes.size() >= 60);  // 27 conv layers, each with its ReLU6, and the head
  // saliency runs the fused conv -> ReLU6 nodes, inspect every layer apart: the same bits, because a
  // fused conv starts its accumulator with the bias as the plain conv does (kernels/params.h)
  const Tensor fused = xai::saliency(fn, x, 286);
  std::printf("input gradient: inspect (layer by layer) vs saliency (fused): max |difference| %.3g, max |g| %.3g\n",
              max_diff(r.input_gradient, fused), xai::tensor_stats(fused).max_abs);
  CHECK(max_diff(r.input_gradient, fused) == 0);
}

namespace {
// gradtrace gradcheck's check of one layer of a model on its real input (a wrong rule via `setup`).
std::vector<SampledCheck> check_layer(nn::Model& m, const Tensor& x, const std::string& layer,
                                      const std::function<void(Tape&)>& setup = {}) {
  const xai::Model fn = [&](const Tensor& in) { return m(in); };
  nn::Layer* l = m.find(layer);
  REQUIRE(l);
  const Tensor in = xai::layer_input(fn, x, layer);
  REQUIRE(in.defined());
  const nn::ParamList params = nn::trainable_parameters(*l);
  std::vector<Tensor> inputs{in};
  for (auto& [name, t] : params) inputs.push_back(*t);
  const std::vector<Tensor> originals(inputs.begin() + 1, inputs.end());
  SampledOptions o;
  o.setup = setup;
  const auto r = gradcheck_sampled(
      [&](const std::vector<Tensor>& v) {
        for (size_t i = 0; i < params.size(); ++i) *params[i].second = v[i + 1];
        return (*l)(v[0]);
      },
      inputs, o);
  for (size_t i = 0; i < params.size(); ++i) *params[i].second = originals[i];
  return r;
}

double worst(const std::vector<SampledCheck>& r) {
  double w = 0;
  for (const auto& c : r) {
    CHECK(c.checked > 0);
    w = std::max(w, c.max_rel);
  }
  return w;
}
}  // namespace

TEST_CASE("gradcheck of real layers: conv, dense and batch norm pass, a deliberately wrong rule fails", "[inspect]") {
  auto m = load_embedded_weights();
  const Tensor x = Tensor::uniform({1, 1, 28, 28}, 0, 1, 5);
  for (const char* layer : {"conv1", "conv2", "conv3_bn", "fc"}) {
    const double w = worst(check_layer(*m, x, layer));
    std::printf("gradcheck fashion_cnn %-8s max relative error %.3g\n", layer, w);
    CHECK(w < 1e-2);
  }
  // A broken rule: the conv's input gradient scaled by 1.5 (a backward hook replaces it).
  const auto broken = check_layer(*m, x, "conv2", [](Tape& t) {
    t.add_backward_hook("conv2d", "conv2", [](const Node&, const Tensor&, std::vector<Tensor>& dx) {
      if (dx[0].defined()) dx[0] = ops::mul_scalar(dx[0], 1.5);
    });
  });
  std::printf("gradcheck conv2 with dx scaled by 1.5: input %.3g, weight %.3g\n", broken[0].max_rel, broken[1].max_rel);
  CHECK(broken[0].max_rel > 0.3);
  CHECK(broken[1].max_rel < 1e-2);  // the weight's rule is untouched
  // A broken weight rule: dw with the wrong sign.
  const auto broken_w = check_layer(*m, x, "fc", [](Tape& t) {
    t.add_backward_hook("linear", "fc", [](const Node&, const Tensor&, std::vector<Tensor>& dx) {
      if (dx[1].defined()) dx[1] = ops::mul_scalar(dx[1], -1.0);
    });
  });
  CHECK(broken_w[1].max_rel > 1.0);
}

TEST_CASE("gradcheck on the real MobileNet: conv, depthwise conv and the classifier below 1e-2 in float32",
          "[inspect]") {
  if (!test::have_shared_data()) return;
  auto m = tflite::load(kMobileNet);
  const Tensor x = load_input(kChelsea, m->info);
  // conv_preds is MobileNet's dense classifier, a 1x1 conv over the pooled 1x1 features
  for (const char* layer : {"conv1", "conv_dw_5", "conv_pw_13", "conv_preds"}) {
    const double w = worst(check_layer(*m, x, layer));
    std::printf("gradcheck mobilenet_v1 %-10s max relative error %.3g\n", layer, w);
    CHECK(w < 1e-2);
  }
}
