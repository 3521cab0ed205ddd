// gradtrace convert: any weights file gradtrace reads -> our HDF5 format (weights/FORMAT.md).
#include <cstdio>

#include "cli/cli.h"
#include "weights/format.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace convert --in FILE --out FILE.h5 [--model NAME]\n"
    "\n"
    "Converts a weights file (.tflite, float or quantized; or our own .h5) into gradtrace's HDF5 format:\n"
    "one group per layer in PyTorch layouts, with the architecture, variant, preprocessing, input size\n"
    "and label set as root attributes (see weights/FORMAT.md). The output appears only when complete.\n";
}  // namespace

int run_convert(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string in = a.get("--in", ""), out = a.get("--out", ""), model = a.get("--model", "");
  a.finish();
  if (in.empty() || out.empty()) throw UsageError("--in and --out are required");
  auto m = load_model(in, model);
  save_weights(*m, out);
  std::printf("wrote %s: %s (%s), %lld classes, input %lldx%lld\n", out.c_str(), m->info.arch.c_str(),
              m->info.variant.c_str(), (long long)m->info.classes, (long long)m->info.input_h,
              (long long)m->info.input_w);
  return 0;
}

}  // namespace gt::cli
