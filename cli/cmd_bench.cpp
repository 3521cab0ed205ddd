// gradtrace bench conv: times the conv kernels on VGG16's 13 conv layer shapes, or on the shapes of a
// file (tools/conv_shapes.py lists any torchvision model's).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autodiff/backend.h"
#include "autodiff/tape.h"
#include "cli/cli.h"
#include "nn/model.h"
#include "train/loop.h"
#include "xai/deeplift.h"
#include "xai/gradcam.h"
#include "xai/integrated_gradients.h"
#include "xai/lrp.h"
#include "xai/saliency.h"

namespace gt::cli {
namespace {

const char* kHelp =
    "usage: gradtrace bench conv [options]\n"
    "       gradtrace bench --model NAME [--task forward|saliency|gradcam|ig50|lrp|deeplift|all] [--repeat R]\n"
    "                       [--device D]\n"
    "       gradtrace bench --weights FILE [--task ...]\n"
    "\n"
    "With --model: times a whole model with random weights at batch 1, its default input size, as the\n"
    "PyTorch reference benchmark does (tools/bench_vs_torch.sh runs both); with --weights, the model of\n"
    "that file (an imported .onnx against the zoo model with the same weights, say): 'forward' (no\n"
    "gradients), 'saliency' (the gradient of logit 281 w.r.t. the input), 'gradcam' (at the model's\n"
    "default layer), 'ig50' (Integrated Gradients, 50 midpoints from a zero baseline in batches of\n"
    "10; --batch sets it, default 50 on cuda as the PyTorch script does there), 'lrp' (--composite,\n"
    "default epsilon-plus) or 'deeplift' (Rescale, zero baseline; 'all' leaves these two out:\n"
    "tools/bench_relevance.sh times them against Zennit and Captum). Prints the median in ms.\n"
    "\n"
    "'bench conv' times the conv2d kernels on the 13 conv layers of VGG16 (3x3, stride 1, pad 1) and\n"
    "prints, per layer, the median time and GFLOP/s of the forward pass and of the input gradient\n"
    "(backward-data), and the ratio input-gradient / forward. Random data; no model weights needed.\n"
    "With --layers FILE, the layers of FILE instead, one a line: C H W O KH KW STRIDE PADH PADW COUNT\n"
    "(input channels, height, width, output channels, kernel, stride, padding, how often the model has\n"
    "it; tools/conv_shapes.py writes a torchvision model's), and totals per kernel shape, COUNT-weighted.\n"
    "\n"
    "options:\n"
    "  --weights FILE   a model file, as every command takes it (--preprocess, --size, --labels too)\n"
    "  --composite C    the lrp task's composite or rule (as 'explain --method lrp --composite')\n"
    "  --batch N        batch size (default 1; with --model: IG's batch)\n"
    "  --size S         input height and width (default 224)\n"
    "  --repeat R       timed runs per layer and pass; the median is reported (default 5)\n"
    "  --layers FILE    bench conv: the conv shapes of FILE (see above) instead of VGG16's\n"
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

// One conv layer to time: its name (VGG16's, or the kernel shape, "3x3/2"), geometry and how often
// the model has it.
struct ConvCase {
  std::string name;
  ConvGeom g;
  int64_t count = 1;
};

std::vector<ConvCase> vgg16_cases(int64_t batch, int64_t size) {
  std::vector<ConvCase> cases;
  for (const Layer& l : kVgg16) {
    ConvGeom g;
    g.N = batch, g.C = l.C, g.H = g.W = size / l.div, g.O = l.O, g.kh = g.kw = 3;
    g.pt = g.pb = g.pl = g.pr = 1;
    g.finish();
    cases.push_back({l.name, g, 1});
  }
  return cases;
}

// Lines "C H W O KH KW STRIDE PADH PADW COUNT" (tools/conv_shapes.py); '#' starts a comment.
std::vector<ConvCase> file_cases(const std::string& path, int64_t batch) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read " + path);
  std::vector<ConvCase> cases;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = line.substr(0, line.find('#'));
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream ls(line);
    ConvGeom g;
    int64_t count = 0;
    ls >> g.C >> g.H >> g.W >> g.O >> g.kh >> g.kw >> g.sh >> g.pt >> g.pl >> count;
    std::string rest;
    const bool sane = g.C >= 1 && g.C <= 65536 && g.H >= 1 && g.H <= 4096 && g.W >= 1 && g.W <= 4096 && g.O >= 1 &&
                      g.O <= 65536 && g.kh >= 1 && g.kw >= 1 && g.sh >= 1 && g.pt >= 0 && g.pl >= 0 && count >= 1 &&
                      g.H + 2 * g.pt >= g.kh && g.W + 2 * g.pl >= g.kw && g.kh <= 64 && g.kw <= 64 && g.sh <= 64 &&
                      g.pt <= 64 && g.pl <= 64 && count <= 1000;
    if (!ls || (ls >> rest) || !sane)
      throw Error(path + ":" + std::to_string(n) + ": expected C H W O KH KW STRIDE PADH PADW COUNT, got '" + line +
                  "'");
    g.N = batch, g.sw = g.sh, g.pb = g.pt, g.pr = g.pl;
    g.finish();
    cases.push_back({std::to_string(g.kh) + "x" + std::to_string(g.kw) + "/" + std::to_string(g.sh), g, count});
  }
  if (cases.empty()) throw Error(path + ": no conv layers in it");
  return cases;
}

// One row of the table: ms and GFLOP/s of the forward pass, the input gradient and (wgrad) the weight
// gradient; t = {forward ms, dx ms, dw ms, GFLOP}.
void print_conv_row(const std::string& name, const std::string& x, const std::array<double, 4>& t, bool wgrad,
                    int64_t count) {
  std::printf("%-13s %-18s %7.2f | %9.2f %8.1f | %9.2f %8.1f %6.2f", name.c_str(), x.c_str(), t[3], t[0],
              t[3] / t[0] * 1e3, t[1], t[3] / t[1] * 1e3, t[1] / t[0]);
  if (wgrad) std::printf(" | %9.2f %8.1f", t[2], t[3] / t[2] * 1e3);
  std::printf(count > 1 ? " x%lld\n" : "\n", (long long)count);
}

int bench_conv(Args& a) {
  const int64_t batch = a.get_int("--batch", 1, 1, 256);
  const int64_t size = a.get_int("--size", 224, 16, 1024);
  const int repeat = static_cast<int>(a.get_int("--repeat", 5, 1, 1000));
  const bool wgrad = a.flag("--wgrad");
  const std::string layers = a.get("--layers", "");
  const int threads = apply_threads(a);
  const Device dev = apply_device(a);
  a.finish();
  const std::vector<ConvCase> cases = layers.empty() ? vgg16_cases(batch, size) : file_cases(layers, batch);
  Backend& be = backend(dev);
  const std::string what =
      layers.empty() ? "VGG16 (" + std::to_string(size) + "x" + std::to_string(size) + ")" : layers;
  std::printf("%s conv layers on %s, batch %lld, %d threads, median of %d runs\n", what.c_str(), to_string(dev),
              (long long)batch, threads, repeat);
  std::printf("%-13s %-18s %7s | %9s %8s | %9s %8s %6s", "layer", "x", "GFLOP", "fwd ms", "GFLOP/s", "dx ms", "GFLOP/s",
              "dx/fwd");
  if (wgrad) std::printf(" | %9s %8s", "dw ms", "GFLOP/s");
  std::printf("\n");
  // Count-weighted sums per kernel shape (with --layers) and over all: forward, dx, dw ms and GFLOP.
  std::map<std::string, std::array<double, 4>> kinds;
  std::array<double, 4> total{};
  for (const ConvCase& c : cases) {
    const ConvGeom& g = c.g;
    Tensor x = Tensor::uniform({g.N, g.C, g.H, g.W}, -1, 1, 1).to(dev);
    Tensor w = Tensor::uniform({g.O, g.C, g.kh, g.kw}, -0.1, 0.1, 2).to(dev);
    Tensor y = Tensor::empty({g.N, g.O, g.Ho, g.Wo}, DType::f32, dev);
    Tensor dy = Tensor::uniform(y.shape(), -1, 1, 3).to(dev);
    Tensor dx = Tensor::empty_like(x), dw = Tensor::empty_like(w);
    const double fl = g.flops() * 1e-9;
    // synchronize: a GPU queues the work and returns at once; the time is until it has finished
    const double f = median_ms(repeat, [&] { be.conv2d_forward(g, x, w, Tensor(), y), be.synchronize(); });
    const double b = median_ms(repeat, [&] { be.conv2d_backward_data(g, dy, w, dx), be.synchronize(); });
    const double d = wgrad ? median_ms(repeat, [&] { be.conv2d_backward_weight(g, x, dy, dw), be.synchronize(); }) : 0;
    const std::array<double, 4> row{f, b, d, fl};
    print_conv_row(c.name, x.shape().str(), row, wgrad, c.count);
    for (int i = 0; i < 4; ++i) {
      total[i] += c.count * row[i];
      if (!layers.empty()) kinds[c.name][i] += c.count * row[i];
    }
  }
  for (const auto& [k, t] : kinds) print_conv_row("all " + k, "", t, wgrad, 1);
  print_conv_row("total", "", total, wgrad, 1);
  return 0;
}

int bench_model(Args& a, const std::string& name) {
  const std::string task = a.get("--task", "forward");
  const int repeat = static_cast<int>(a.get_int("--repeat", 5, 1, 1000));
  const int threads = apply_threads(a);
  const Device dev = apply_device(a);
  const int ig_batch = int(a.get_int("--batch", dev == Device::cuda ? 50 : 10, 1, 50));
  const xai::LrpComposite composite = xai::lrp_composite(a.get("--composite", "epsilon-plus"));
  const std::string weights = weights_flag(a);
  a.finish();
  const std::vector<std::string> all = {"forward", "saliency", "gradcam", "ig50"};
  if (task != "all" && task != "lrp" && task != "deeplift" && std::find(all.begin(), all.end(), task) == all.end())
    throw UsageError("--task must be forward, saliency, gradcam, ig50, lrp, deeplift or all");
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
      } else if (job == "lrp") {
        xai::lrp(fn, x, xai::Target{target, false}, composite);
      } else if (job == "deeplift") {
        xai::deeplift(fn, x, Tensor::zeros_like(x), xai::Target{target, false});
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
