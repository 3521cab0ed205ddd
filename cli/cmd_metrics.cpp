// gradtrace metrics: deletion and insertion AUC of an attribution map.
#include <cstdio>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "weights/labels.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace metrics --weights FILE --image FILE (--map FILE.h5 | --method NAME) [options]\n"
    "\n"
    "How faithful is a map? Deletion: the most important pixels first turn black, and p(target) should\n"
    "fall fast (low AUC is good). Insertion: starting from the image blurred (sigma 10 px), the most\n"
    "important pixels come back first, and p(target) should rise fast (high AUC is good). Each curve has\n"
    "--steps + 1 points; the AUC is its area over the fraction of pixels changed (Petsiuk et al. 2018).\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS
    "  --image FILE     PNG/JPEG/BMP, fashion-mnist:test:K or .h5 input (required)\n"
    "  --map FILE.h5    a map written by any method's --raw (dataset `map` [H,W]; its target is used)\n"
    "  --method NAME    or compute the map here with the method's defaults: saliency, gradxinput,\n"
    "                   smoothgrad, ig, gradcam, gradcam++, guided-backprop, guided-gradcam, occlusion,\n"
    "                   lime, kernelshap\n"
    "  --target T       class index or name (default: the map file's target, else the top-1 class)\n"
    "  --steps N        points per curve minus one (default 50)\n" GT_FLAG_MODEL
    "  --raw FILE.h5    the curves: deletion [N+1], insertion [N+1]; attributes deletion_auc, "
    "insertion_auc\n" GT_FLAG_THREADS GT_FLAG_DEVICE GT_FLAG_PRECISION;
}  // namespace

int run_metrics(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), image = a.get("--image", ""), model_name = a.get("--model", "");
  const std::string map_file = a.get("--map", ""), method = a.get("--method", ""), target_s = a.get("--target", "");
  const std::string raw = a.get("--raw", "");
  const int steps = int(a.get_int("--steps", 50, 1, 100000));
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty()) throw UsageError("--image is required");
  if (map_file.empty() == method.empty()) throw UsageError("give one of --map FILE.h5 or --method NAME");
  if (!method.empty() && !xai::is_method(method)) {
    std::string known;
    for (const auto& m : xai::methods()) known += (known.empty() ? "" : ", ") + m.name;
    throw UsageError("unknown method '" + method + "' (known: " + known + ")");
  }
  xai::Subject s = load_subject(weights, model_name, image, "");
  const nn::ModelInfo& info = s.model->info;
  const int64_t H = s.x.dim(2), W = s.x.dim(3);
  std::vector<float> map;
  int64_t default_target = s.top1;
  if (!map_file.empty()) {
    h5::File f(map_file, h5::File::Mode::read);
    const Tensor m = f.read("map");
    if (m.numel() != H * W)
      throw Error("map file " + map_file + ": map " + m.shape().str() + " does not fit the " + std::to_string(H) + "x" +
                  std::to_string(W) + " input");
    map = m.to_vector();
    if (f.has_attr("target") && f.attr_double("target") >= 0) default_target = int64_t(f.attr_double("target"));
  }
  const xai::Target t = resolve_target(target_s, info, default_target, false);
  if (!method.empty()) {
    const xai::Method& m = xai::find_method(method);
    map = xai::explain(m, s, t, xai::default_options(m), {}, method_progress(m)).map;
  }
  const xai::Faithfulness r = xai::faithfulness(s, map, t.index, steps);
  std::printf("%s, class %lld (%s): deletion AUC %.4f (lower is better), insertion AUC %.4f (higher is better)\n",
              map_file.empty() ? method.c_str() : map_file.c_str(), (long long)t.index,
              class_name(info, t.index).c_str(), r.deletion.auc, r.insertion.auc);
  if (!raw.empty()) {
    h5::File f(raw, h5::File::Mode::write);
    f.store_as(precision());
    const int64_t n = int64_t(r.deletion.prob.size());
    f.write("deletion", Tensor::from_vector({n}, r.deletion.prob, DType::f32));
    f.write("insertion", Tensor::from_vector({n}, r.insertion.prob, DType::f32));
    f.set_attr("deletion_auc", r.deletion.auc);
    f.set_attr("insertion_auc", r.insertion.auc);
    f.set_attr("target", double(t.index));
    f.commit();
    std::printf("wrote %s\n", raw.c_str());
  }
  return 0;
}

}  // namespace gt::cli
