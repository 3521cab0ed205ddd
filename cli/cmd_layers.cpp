// gradtrace layers: a model's layers, in forward order, with their output shapes.
#include <algorithm>
#include <cstdio>

#include "cli/cli.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace layers (--model NAME | --weights FILE) [options]\n"
    "\n"
    "Lists every named layer of a model in forward order with the op that produces its output and the\n"
    "output's shape for one image. '*' marks the default Grad-CAM layer.\n"
    "\n"
    "options:\n"
    "  --model NAME     architecture (see below); with --weights it may be left out\n"
    "  --weights FILE   take the architecture and its settings from a weights file\n"
    "  --alpha A        MobileNet width multiplier (default 1.0)\n"
    "  --size S         input height and width (default: the model's)\n"
    "  --variant V      keras or tflite layout (default keras)\n";
}  // namespace

int run_layers(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    std::string names;
    for (const auto& n : nn::model_names()) names += " " + n;
    std::printf("\nmodels:%s\n", names.c_str());
    return 0;
  }
  const std::string model = a.get("--model", ""), weights = weights_flag(a);
  nn::ModelOptions o;
  o.alpha = a.get_double("--alpha", 1.0, 0.01, 4.0);
  o.input_size = a.get_int("--size", 0, 0, 4096);
  o.variant = a.get("--variant", "keras");
  a.finish();
  if (model.empty() && weights.empty()) throw UsageError("give --model NAME or --weights FILE");
  check_model_flag(model);
  if (o.variant != "keras" && o.variant != "tflite") throw UsageError("--variant must be keras or tflite");
  auto m = weights.empty() ? nn::make_model(model, o) : load_model(weights, model);
  if (o.input_size) m->info.input_h = m->info.input_w = o.input_size;
  int64_t params = 0;
  for (auto& [name, t] : m->named_parameters()) params += t->numel();
  std::printf("%s (%s), input [1,%lld,%lld,%lld], %lld classes, %lld parameters\n", m->info.arch.c_str(),
              m->info.variant.c_str(), (long long)m->info.channels, (long long)m->info.input_h,
              (long long)m->info.input_w, (long long)m->info.classes, (long long)params);
  const std::vector<nn::LayerShape> rows = nn::layer_shapes(*m);
  int width = 28;  // imported graphs have long node names ("/layer4/layer4.2/relu_2/Relu")
  for (const auto& r : rows) width = std::max(width, int(r.layer.size()));
  int i = 0;
  for (const auto& r : rows)
    std::printf("%4d %c %-*s %-18s %-18s %s\n", i++, r.layer == m->info.gradcam_layer ? '*' : ' ', width,
                r.layer.empty() ? "(unnamed)" : r.layer.c_str(), r.op.c_str(), r.shape.str().c_str(),
                m->info.notes.count(r.layer) ? m->info.notes.at(r.layer).c_str() : "");
  return 0;
}

}  // namespace gt::cli
