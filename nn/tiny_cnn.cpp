#include "nn/tiny_cnn.h"

namespace gt::nn {
namespace {
std::unique_ptr<Sequential> build(int64_t classes) {
  auto net = std::make_unique<Sequential>("tiny_cnn");
  ops::Conv2dOptions same;
  same.pad = {1, 1, 1, 1};
  net->add<Conv2d>("conv1", 3, 8, 3, same);
  net->add<ReLU>("conv1_relu");
  net->add<MaxPool2d>("pool1", ops::PoolOptions{});
  net->add<Conv2d>("conv2", 8, 16, 3, same);
  net->add<ReLU>("conv2_relu");
  net->add<GlobalAvgPool>("gap");
  net->add<Dense>("fc", 16, classes);
  return net;
}
}  // namespace

std::unique_ptr<Sequential> tiny_cnn(int64_t classes, uint64_t seed) {
  auto net = build(classes);
  uint64_t s = seed;
  for (auto& l : net->layers()) {
    if (auto* c = dynamic_cast<Conv2d*>(l.get())) init_he_uniform(c->weight, c->weight.numel() / c->weight.dim(0), s++);
    if (auto* d = dynamic_cast<Dense*>(l.get())) init_he_uniform(d->weight, d->weight.dim(1), s++);
  }
  return net;
}

std::unique_ptr<Sequential> tiny_edge_cnn() {
  auto net = build(2);
  auto& conv1 = static_cast<Conv2d&>(*net->layers()[0]);
  auto& conv2 = static_cast<Conv2d&>(*net->layers()[3]);
  auto& fc = static_cast<Dense&>(*net->layers()[6]);
  // Sobel x; Sobel y is its transpose. Luminance weights (ITU-R BT.601) on the [0,255] input, scaled to ~[0,1].
  const float sobel[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
  const float lum[3] = {0.299f / 255, 0.587f / 255, 0.114f / 255};
  std::vector<float> w1(8 * 3 * 9, 0.0f);
  for (int f = 0; f < 4; ++f)  // filters: +x, -x, +y, -y
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          const float s = f < 2 ? sobel[i][j] : sobel[j][i];
          w1[((f * 3 + c) * 3 + i) * 3 + j] = (f % 2 ? -s : s) * lum[c];
        }
  conv1.weight = Tensor::from_vector(conv1.weight.shape(), w1);
  std::vector<float> w2(16 * 8 * 9, 0.0f);
  for (int f = 0; f < 4; ++f) w2[((f * 8 + f) * 3 + 1) * 3 + 1] = 1.0f;  // centre tap: identity
  conv2.weight = Tensor::from_vector(conv2.weight.shape(), w2);
  std::vector<float> w3(2 * 16, 0.0f);
  for (int f = 0; f < 4; ++f) {
    w3[f] = 1.0f;
    w3[16 + f] = -1.0f;
  }
  fc.weight = Tensor::from_vector(fc.weight.shape(), w3);
  return net;
}

}  // namespace gt::nn
