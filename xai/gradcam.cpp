#include "xai/gradcam.h"

#include <algorithm>
#include <set>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "nn/model.h"
#include "xai/method.h"

namespace gt::xai {
namespace {

// The names of the layers the model's forward pass on x goes through, in order (for an error
// message: a second pass, with a hook on every op).
std::vector<std::string> layer_names(const Model& model, const Tensor& x) {
  Tape tape;
  TapeGuard guard(tape);
  std::vector<std::string> layers;
  tape.add_forward_hook("", "", [&](const std::string&, const std::string& l, const Tensor& out) {
    if (layers.empty() || layers.back() != l) layers.push_back(l);
    return out;
  });
  model(x.detach().set_requires_grad(true));
  return layers;
}

}  // namespace

std::pair<Tensor, Tensor> activation_and_gradient(const Model& model, const Tensor& x, const Target& t,
                                                  const std::string& layer, bool gradient) {
  Tape tape;
  TapeGuard guard(tape);
  Tensor A;
  // A hook on this layer's ops alone: nn::Model fuses a conv with its batch norm and activation
  // wherever no hook looks at the parts, so the rest of the network still runs fused.
  if (!layer.empty())
    tape.add_forward_hook("", layer, [&](const std::string&, const std::string&, const Tensor& out) {
      return A = out;  // the layer's last op wins: block5_conv3 is the conv's ReLU output
    });
  // x requires a gradient only so that the forward pass is recorded; the need-mask of grad()
  // then computes nothing upstream of A.
  const Tensor score = target_score(model(x.detach().set_requires_grad(true)), t);
  if (!A.defined()) {
    std::string near;
    for (const auto& n : nn::closest_names(layer, layer_names(model, x), 5)) near += (near.empty() ? "" : ", ") + n;
    throw UnknownLayer("unknown layer '" + layer + "' (closest: " + near + "; `gradtrace layers` lists them all)");
  }
  if (A.ndim() != 4)
    throw Error("layer '" + layer + "' has output " + A.shape().str() + ", not a feature map (1,K,h,w)");
  if (!gradient) return {A.detach(), Tensor()};
  Tensor G = tape.grad(score, {A})[0];
  return {A.detach(), G};
}

namespace {

// Grad-CAM++ channel weights from A and G, both (1,K,h,w) -> (1,K,1,1).
Tensor plus_plus_weights(const Tensor& A, const Tensor& G) {
  const int64_t K = A.dim(1), P = A.dim(2) * A.dim(3);
  const std::vector<double> a = A.to_vector_f64(), g = G.to_vector_f64();
  std::vector<double> w(static_cast<size_t>(K), 0.0);
  for (int64_t k = 0; k < K; ++k) {
    double sum_a = 0;
    for (int64_t p = 0; p < P; ++p) sum_a += a[k * P + p];
    double wk = 0;
    for (int64_t p = 0; p < P; ++p) {
      const double gi = g[k * P + p], g2 = gi * gi, denom = 2 * g2 + sum_a * g2 * gi;
      if (gi != 0 && denom != 0) wk += g2 / denom * std::max(gi, 0.0);
    }
    w[size_t(k)] = wk;
  }
  return Tensor::from_vector({1, K, 1, 1}, w, A.dtype()).to(A.device());
}

}  // namespace

Cam gradcam(const Model& model, const Tensor& x, const Target& t, const std::string& layer, bool plus_plus) {
  const auto [A, G] = activation_and_gradient(model, x, t, layer);
  NoGradGuard no_grad;
  const int64_t K = A.dim(1);
  // sum_k a_k A_k is a 1x1 convolution of A with the weights a_k as one filter (1,K,1,1).
  const Tensor a = plus_plus ? plus_plus_weights(A, G) : ops::reshape(ops::global_avg_pool(G), {1, K, 1, 1});
  return cam_from(ops::conv2d(A, a), x);  // (1,1,h,w)
}

Cam cam_from(const Tensor& raw, const Tensor& x) {
  NoGradGuard no_grad;
  const Tensor L = ops::relu(raw);
  Cam c;
  c.cam = ops::reshape(L, {L.dim(2), L.dim(3)});
  c.map = ops::reshape(ops::resize_bilinear(L, x.dim(2), x.dim(3)), {x.dim(2), x.dim(3)});
  return c;
}

Tensor guided_backprop(const Model& model, const Tensor& x, const Target& t) {
  return input_gradient(model, x, t, [](Tape& tape) {
    for (const char* op : {"relu", "relu6"})
      tape.add_backward_hook(op, "", [](const Node&, const Tensor&, std::vector<Tensor>& dx) {
        if (dx[0].defined()) dx[0] = ops::relu(dx[0]);  // the rule gave (x > 0) dy; keep dy > 0 only
      });
  });
}

Tensor deconvnet(const Model& model, const Tensor& x, const Target& t) {
  return input_gradient(model, x, t, [](Tape& tape) {
    for (const char* op : {"relu", "relu6"})
      tape.add_backward_hook(op, "", [](const Node&, const Tensor& dy, std::vector<Tensor>& dx) {
        if (dx[0].defined()) dx[0] = ops::relu(dy);  // the ReLU applied to the gradient, whatever x was
      });
  });
}

Tensor guided_gradcam(const Model& model, const Tensor& x, const Target& t, const std::string& layer) {
  return guided_gradcam(guided_backprop(model, x, t), gradcam(model, x, t, layer).map);
}

Tensor guided_gradcam(const Tensor& gb, const Tensor& map) {
  const int64_t C = gb.dim(1), HW = gb.dim(2) * gb.dim(3);
  if (map.numel() != HW)
    throw Error("guided_gradcam: a map " + map.shape().str() + " for an input " + gb.shape().str());
  std::vector<double> v = gb.to_vector_f64();
  const std::vector<double> m = map.to_vector_f64();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < HW; ++i) v[size_t(c * HW + i)] *= m[size_t(i)];
  return Tensor::from_vector(gb.shape(), v, gb.dtype());
}

// ---- registry entries ----
namespace {

OptionSpec layer_option(const std::string& what) {
  return text_option("layer", "", "NAME", what + " (default: the model's last conv block; see gradtrace layers)");
}

// The CAM's map at --layer; guided: Guided Backprop times its upsampled map.
MethodResult run_cam(Subject& s, const Target& t, const Options& o, const CamFn& make, bool guided) {
  const std::string layer = o.text("layer").empty() ? s.model->info.gradcam_layer : o.text("layer");
  const Cam cam = make(s.fn, s.x, t, layer, o);
  MethodResult r;
  r.cam = cam.cam;
  r.notes.push_back("layer " + layer + ": " + fmt("%.0fx%.0f map", double(cam.cam.dim(0)), double(cam.cam.dim(1))));
  if (cam.cam.numel() == 1) {  // one value, upsampled: a constant map that says nothing about where
    std::string last;
    for (const nn::LayerShape& l : nn::layer_shapes(*s.model))
      if (l.shape.ndim() == 4 && l.shape[2] * l.shape[3] > 1) last = l.layer;
    r.notes.push_back("warning: layer " + layer + " is 1x1, so the map is constant" +
                      (last.empty() ? std::string() : "; the last layer with a spatial map is " + last));
  }
  r.params = "layer " + layer;
  if (guided)
    r.attribution = guided_gradcam(guided_backprop(s.fn, s.x, t), cam.map);
  else
    r.map = cam.map.to_vector();
  return r;
}

}  // namespace

Method cam_entry(const std::string& name, const std::string& summary, const std::string& paper, CamFn make, bool guided,
                 const std::vector<OptionSpec>& options) {
  Method m;
  m.name = name;
  m.summary = summary;
  m.paper = paper;
  m.options = {layer_option(guided ? "the Grad-CAM layer" : "the layer")};
  m.options.insert(m.options.end(), options.begin(), options.end());
  m.takes_layer = true;
  m.smooth_map = !guided;
  m.run = [make, guided](Subject& s, const Target& t, const Options& o, const Progress&) {
    return run_cam(s, t, o, make, guided);
  };
  return m;
}

namespace {
Cam plain_gradcam(const Model& m, const Tensor& x, const Target& t, const std::string& layer, const Options&) {
  return gradcam(m, x, t, layer);
}
}  // namespace

Method gradcam_entry() {
  return cam_entry("gradcam", "Grad-CAM at a layer: ReLU(sum_k mean(dy/dA_k) A_k), upsampled", "Selvaraju et al. 2017",
                   plain_gradcam);
}

Method gradcampp_entry() {
  return cam_entry("gradcam++", "Grad-CAM++ at a layer", "Chattopadhay et al. 2018",
                   [](const Model& m, const Tensor& x, const Target& t, const std::string& layer, const Options&) {
                     return gradcam(m, x, t, layer, true);
                   });
}

Method guided_gradcam_entry() {
  return cam_entry("guided-gradcam", "Guided Backprop times the upsampled Grad-CAM map", "Selvaraju et al. 2017",
                   plain_gradcam, true);
}

Method guided_backprop_entry() {
  return attribution_entry("guided-backprop", "the gradient with negative gradients stopped at every ReLU",
                           "Springenberg et al. 2015", guided_backprop);
}

Method deconvnet_entry() {
  return attribution_entry("deconvnet", "the gradient with every ReLU's backward replaced by relu(gradient)",
                           "Zeiler and Fergus 2014", deconvnet);
}

}  // namespace gt::xai
