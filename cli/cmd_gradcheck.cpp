// gradtrace gradcheck: the tape's backward of one real layer of a real network against central finite
// differences, on the input that layer really receives for an image.
#include <cstdio>

#include "autodiff/gradcheck.h"
#include "cli/cli.h"
#include "train/loop.h"
#include "xai/inspect.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace gradcheck [--weights FILE] --image FILE --layer NAME [options]\n"
    "\n"
    "Runs the image through the model, takes the input that layer NAME receives, and checks the\n"
    "layer's backward pass: for L = sum(layer(x) * R) with a fixed random R, the gradient the tape\n"
    "computes for the layer's input and for each of its parameters against central differences\n"
    "(L(x + h e_k) - L(x - h e_k)) / 2h at sampled elements k, in the network's precision. Prints\n"
    "the relative errors; exit code 1 when one exceeds the tolerance.\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS
    "  --image FILE     PNG/JPEG/BMP, fashion-mnist:test:K, or .h5 with dataset `input`\n"
    "  --layer NAME     a layer with parameters: conv, depthwise conv, dense, batch norm\n"
    "                   (gradtrace layers --weights FILE lists them)\n"
    "  --samples N      sampled elements per tensor (default 20)\n"
    "  --eps E          the step, relative to the tensor's RMS (default 0.1: these layers are affine in\n"
    "                   each element, so a large step only shrinks the float32 rounding; where a ReLU\n"
    "                   inside the layer switches within the step, the element is skipped as a kink)\n"
    "  --tolerance T    the largest relative error that passes (default 0.01)\n"
    "  --seed S         which elements and which R (default 1234)\n" GT_FLAG_MODEL
    "  --device D       cpu or cuda: where the layer runs, forward, backward and every perturbed forward\n"
    "                   (default: cpu)\n" GT_FLAG_THREADS GT_FLAG_PRECISION;
}  // namespace

int run_gradcheck(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), image = a.get("--image", ""), layer = a.get("--layer", "");
  const std::string model_name = a.get("--model", "");
  SampledOptions o;
  o.samples = int(a.get_int("--samples", 20, 1, 100000));
  o.eps = a.get_double("--eps", 0.1, 1e-8, 10);
  o.seed = uint64_t(a.get_int("--seed", 1234, 0, 1L << 62));
  const double tol = a.get_double("--tolerance", 1e-2, 0, 1e6);
  apply_threads(a);
  o.device = apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty()) throw UsageError("--image is required");
  if (layer.empty()) throw UsageError("--layer is required");
  xai::Subject s = load_subject(weights, model_name, image, "");
  nn::Model& m = *s.model;
  nn::Layer* l = m.find(layer);
  if (!l || l->named_parameters().empty()) {
    std::vector<std::string> names;
    for (const auto& p : m.layers())
      if (!p->named_parameters().empty()) names.push_back(p->name());
    std::string near;
    for (const auto& n : nn::closest_names(layer, names, 8)) near += (near.empty() ? "" : ", ") + n;
    throw UsageError("no layer with parameters named '" + layer + "'; closest: " + near);
  }
  const Tensor x = xai::layer_input(s.fn, s.x, layer);
  if (!x.defined()) throw Error("layer " + layer + " records no node in this model's forward pass");

  // The layer as a function of its input and its trainable parameters (not batch norm's statistics).
  const nn::ParamList params = nn::trainable_parameters(*l);
  std::vector<Tensor> inputs{x}, originals;
  for (auto& [name, t] : params) {
    inputs.push_back(*t);
    originals.push_back(*t);
  }
  const OpFn f = [&](const std::vector<Tensor>& v) {
    for (size_t i = 0; i < params.size(); ++i) *params[i].second = v[i + 1];
    return (*l)(v[0]);
  };
  const std::vector<SampledCheck> r = gradcheck_sampled(f, inputs, o);
  for (size_t i = 0; i < params.size(); ++i) *params[i].second = originals[i];

  std::printf(
      "%s, layer %s on %s: backward against central differences (float32, %d samples per tensor, step %g x RMS)\n\n",
      m.info.arch.c_str(), layer.c_str(), to_string(o.device), o.samples, o.eps);
  std::printf("%-10s %-18s %8s %8s %12s %12s  %s\n", "tensor", "shape", "checked", "kinks", "max rel err", "median",
              "");
  bool ok = true;
  for (size_t i = 0; i < r.size(); ++i) {
    const std::string name = i == 0 ? "input" : params[i - 1].first;
    const bool pass = r[i].checked > 0 && r[i].max_rel <= tol;
    ok &= pass;
    std::printf("%-10s %-18s %8lld %8lld %12.3g %12.3g  %s\n", name.c_str(), r[i].shape.str().c_str(),
                (long long)r[i].checked, (long long)r[i].skipped, r[i].max_rel, r[i].median_rel,
                pass           ? "ok"
                : r[i].checked ? "FAIL"
                               : "FAIL (every sample on a kink)");
    if (!pass)
      for (size_t k = 0; k < r[i].points.size() && k < 3; ++k) {
        const auto& p = r[i].points[k];
        std::printf("    element %lld: numerical %.6g, analytic %.6g\n", (long long)p.index, p.numerical, p.analytic);
      }
  }
  std::printf("\n%s (tolerance %g)\n", ok ? "the backward of this layer matches central differences" : "MISMATCH", tol);
  return ok ? 0 : 1;
}

}  // namespace gt::cli
