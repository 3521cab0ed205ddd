// gradtrace bench conv: times the conv kernels on VGG16's 13 conv layer shapes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "autodiff/backend.h"
#include "autodiff/tape.h"
#include "cli/cli.h"
#include "nn/model.h"
#include "train/loop.h"
#include "xai/gradcam.h"
#include "xai/integrated_gradients.h"
#include "xai/saliency.h"

namespace gt::cli {
namespace {

const char* kHelp =
    "usage: gradtrace bench conv [options]\n"
    "       gradtrace bench --model NAME [--task forward|saliency|gradcam|ig50|all] [--repeat R] [--device D]\n"
    "       gradtrace bench --weights FILE [--task ...]\n"
    "\n"
    "With --model: times a whole model with random weights at batch 1, its default input size, as the\n"
    "PyTorch reference benchmark does (tools/bench_vs_torch.sh runs both); with --weights, the model of\n"
    "that file (an imported .onnx against the zoo model with the same weights, say): 'forward' (no\n"
    "gradients), 'saliency' (the gradient of logit 281 w.r.t. the input), 'gradcam' (at the model's\n"
    "default layer) or 'ig50' (Integrated\n"
    "Gradients, 50 midpoints from a zero baseline in batches of 10; --batch sets it, default 50 on\n"
    "cuda as the PyTorch script does there). Prints the median in ms.\n"
    "\n"
    "'bench conv' times the conv2d kernels on the 13 conv layers of VGG16 (3x3, stride 1, pad 1) and\n"
    "prints, per layer, the median time and GFLOP/s of the forward pass and of the input gradient\n"
    "(backward-data), and the ratio input-gradient / forward. Random data; no model weights needed.\n"
    "\n"
    "options:\n"
    "  --weights FILE   a model file, as every command takes it (--preprocess, --size, --labels too)\n"
    "  --batch N        batch size (default 1; with --model: IG's batch)\n"
    "  --size S         input height and width (default 224)\n"
    "  --repeat R       timed runs per layer and pass; the median is reported (default 5)\n"
    "  --wgrad          also time the weight gradient\n" GT_FLAG_THREADS GT_FLAG_DEVICE;

struct Layer {
  const char* name;
  int64_t C, O, div;  // input channels, output channels, spatial size = size / div
};
const Layer kVgg16[] = {{"block1_conv1", 3, 64, 1},    {"block1_conv2", 64, 64, 1},    {"block2_conv1", 64, 128, 2},
                        {"block2_conv2", 128, 128, 2}, {"block3_conv1", 128, 256, 4},  {"block3_conv2", 256, 256, 4},
                        {"block3_conv3", 256, 256, 4}, {"block4_conv1", 256, 512, 8},  {"block4_conv2", 512, 512, 8},
                        {"block4_conv3", 512, 512, 8}, {"block5_conv1", 512, 512, 16}, {"block5_conv2", 512, 512, 16},
                        {"block5_conv3", 512, 512, 16}};

template <class F>
double median_ms(int repeat, F&& f) {
  f();  // warm-up: first touch of buffers, thread start
  std::vector<double> t;
  for (int r = 0; r < repeat; ++r) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int bench_conv(Args& a) {
  const int64_t batch = a.get_int("--batch", 1, 1, 256);
  const int64_t size = a.get_int("--size", 224, 16, 1024);
  const int repeat = static_cast<int>(a.get_int("--repeat", 5, 1, 1000));
  const bool wgrad = a.flag("--wgrad");
  const int threads = apply_threads(a);
  const Device dev = apply_device(a);
  a.finish();
  Backend& be = backend(dev);
  std::printf("VGG16 conv layers on %s, batch %lld, %lldx%lld, %d threads, median of %d runs\n", to_string(dev),
              (long long)batch, (long long)size, (long long)size, threads, repeat);
  std::printf("%-13s %-16s %7s | %9s %8s | %9s %8s %6s", "layer", "x", "GFLOP", "fwd ms", "GFLOP/s", "dx ms", "GFLOP/s",
              "dx/fwd");
  if (wgrad) std::printf(" | %9s %8s", "dw ms", "GFLOP/s");
  std::printf("\n");
  double tf = 0, tb = 0, tw = 0, flops = 0;
  for (const Layer& l : kVgg16) {
    ConvGeom g;
    g.N = batch, g.C = l.C, g.H = g.W = size / l.div, g.O = l.O, g.kh = g.kw = 3;
    g.pt = g.pb = g.pl = g.pr = 1;
    g.finish();
    Tensor x = Tensor::uniform({g.N, g.C, g.H, g.W}, -1, 1, 1).to(dev);
    Tensor w = Tensor::uniform({g.O, g.C, 3, 3}, -0.1, 0.1, 2).to(dev);
    Tensor y = Tensor::empty({g.N, g.O, g.Ho, g.Wo}, DType::f32, dev);
    Tensor dy = Tensor::uniform(y.shape(), -1, 1, 3).to(dev);
    Tensor dx = Tensor::empty_like(x), dw = Tensor::empty_like(w);
    const double fl = g.flops() * 1e-9;
    // synchronize: a GPU queues the work and returns at once; the time is until it has finished
    const double f = median_ms(repeat, [&] { be.conv2d_forward(g, x, w, Tensor(), y), be.synchronize(); });
    const double b = median_ms(repeat, [&] { be.conv2d_backward_data(g, dy, w, dx), be.synchronize(); });
    std::printf("%-13s %-16s %7.2f | %9.2f %8.1f | %9.2f %8.1f %6.2f", l.name, x.shape().str().c_str(), fl, f,
                fl / f * 1e3, b, fl / b * 1e3, b / f);
    if (wgrad) {
      const double d = median_ms(repeat, [&] { be.conv2d_backward_weight(g, x, dy, dw), be.synchronize(); });
      std::printf(" | %9.2f %8.1f", d, fl / d * 1e3);
      tw += d;
    }
    std::printf("\n");
    tf += f, tb += b, flops += fl;
  }
  std::printf("%-13s %-16s %7.2f | %9.2f %8.1f | %9.2f %8.1f %6.2f", "total", "", flops, tf, flops / tf * 1e3, tb,
              flops / tb * 1e3, tb / tf);
  if (wgrad) std::printf(" | %9.2f %8.1f", tw, flops / tw * 1e3);
  std::printf("\n");
  return 0;
}

int bench_model(Args& a, const std::string& name) {
  const std::string task = a.get("--task", "forward");
  const int repeat = static_cast<int>(a.get_int("--repeat", 5, 1, 1000));
  const int threads = apply_threads(a);
  const Device dev = apply_device(a);
  const int ig_batch = int(a.get_int("--batch", dev == Device::cuda ? 50 : 10, 1, 50));
  const std::string weights = weights_flag(a);
  a.finish();
  const std::vector<std::string> all = {"forward", "saliency", "gradcam", "ig50"};
  if (task != "all" && std::find(all.begin(), all.end(), task) == all.end())
    throw UsageError("--task must be forward, saliency, gradcam, ig50 or all");
  std::unique_ptr<nn::Model> m;
  if (weights.empty()) {
    m = nn::make_model(name);
    nn::init_parameters(*m, 1);
    m->to(dev);
  } else {
    m = load_model(weights, name);
  }
  const std::string label = weights.empty() ? name : weights;
  // On the device, as the PyTorch script's: a host input would send the logits back to the host, and
  // their gradient out again, in the middle of every pass (nn::Model::operator()).
  const Tensor x = Tensor::uniform({1, m->info.channels, m->info.input_h, m->info.input_w}, -1, 1, 7).to(dev);
  const int64_t target = std::min<int64_t>(281, m->info.classes - 1);
  const xai::Model fn = [&](const Tensor& in) { return (*m)(in); };
  xai::IgOptions ig;  // as torch_xai_bench.py: 50 midpoints from a zero baseline, batches of 10 (GPU: 50)
  ig.steps = 50;
  ig.method = "riemann_middle";
  ig.batch = ig_batch;
  ig.device = dev;
  for (const std::string& job : task == "all" ? all : std::vector<std::string>{task}) {
    const double ms = median_ms(repeat, [&] {
      if (job == "forward") {
        NoGradGuard ng;
        (*m)(x);
      } else if (job == "saliency") {
        xai::saliency(fn, x, target);
      } else if (job == "gradcam") {
        xai::gradcam(fn, x, xai::Target{target, false}, m->info.gradcam_layer);
      } else {
        xai::integrated_gradients(fn, x, Tensor::zeros_like(x), xai::Target{target, false}, ig);
      }
      backend(dev).synchronize();  // a GPU may still be working on results left on it (Grad-CAM's map)
    });
    std::printf("%s %s: %.2f ms (%s, batch 1, %lldx%lld, %d threads, median of %d)\n", label.c_str(), job.c_str(), ms,
                to_string(dev), (long long)m->info.input_h, (long long)m->info.input_w, threads, repeat);
  }
  return 0;
}

}  // namespace

int run_bench(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--wgrad"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string model = a.get("--model", "");
  if (!model.empty() || a.given("--weights")) return bench_model(a, model);
  const std::vector<std::string>& pos = a.positional();
  if (pos.size() != 1) throw UsageError("name one benchmark (known: conv, or --model NAME)");
  if (pos[0] == "conv") return bench_conv(a);
  throw UsageError("unknown benchmark '" + pos[0] + "' (known: conv)");
}

}  // namespace gt::cli
