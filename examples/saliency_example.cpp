// A first program against gradtrace's C++ API: load a model, run it forward, take the gradient of
// the top logit with respect to the input and to one layer's activation, and write a saliency PNG.
//   saliency_example [OUT.png [WEIGHTS.h5|.tflite [IMAGE]]]   (default: the embedded fashion_cnn, a random image)
#include <algorithm>
#include <cstdio>

#include "autodiff/tape.h"
#include "image/preprocess.h"
#include "render/viz.h"
#include "weights/format.h"
#include "weights/tflite.h"
#include "xai/saliency.h"

using namespace gt;

int main(int argc, char** argv) try {
  const std::string out = argc > 1 ? argv[1] : "saliency_example.png", w = argc > 2 ? argv[2] : "";
  auto model = w.empty()                                             ? load_embedded_weights()
               : w.size() > 7 && w.substr(w.size() - 7) == ".tflite" ? tflite::load(w)
                                                                     : load_weights(w);
  const nn::ModelInfo& info = model->info;
  Tensor x =
      argc > 3 ? load_input(argv[3], info) : Tensor::uniform({1, info.channels, info.input_h, info.input_w}, 0, 1, 7);

  Tape tape;  // records every op below; its backward is one reverse loop over the nodes
  TapeGuard guard(tape);
  Tensor act;  // the activation of the Grad-CAM layer, caught by a forward hook as it is made
  tape.add_forward_hook("", info.gradcam_layer,
                        [&](const std::string&, const std::string&, const Tensor& y) { return act = y; });
  x.set_requires_grad(true);
  const Tensor logits = (*model)(x);
  const std::vector<float> l = logits.to_vector();
  const int64_t top = std::max_element(l.begin(), l.end()) - l.begin();
  const std::vector<Tensor> g =
      tape.grad(xai::target_score(logits, {top, false}), {x, act});  // d logit / d x, d logit / d act

  const std::vector<float> map = xai::channel_map(g[0]);  // max |gradient| over the channels, per pixel
  std::printf("%s: top class %lld (logit %.3f); max |d logit/d input| %.4g; d logit/d %s has shape %s\n",
              info.arch.c_str(), (long long)top, l[size_t(top)], *std::max_element(map.begin(), map.end()),
              info.gradcam_layer.c_str(), g[1].shape().str().c_str());
  viz::write_png(out, viz::colorize(viz::normalize(map, viz::Norm::percentile), int(x.dim(3)), int(x.dim(2)), "hot"));
  std::printf("wrote %s\n", out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "saliency_example: %s\n", e.what());
  return 1;
}
