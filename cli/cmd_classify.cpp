// gradtrace classify: the top-k classes of an image.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "cli/cli.h"
#include "data/input.h"
#include "image/preprocess.h"
#include "io/hdf5.h"
#include "weights/labels.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace classify --weights FILE --image FILE [options]\n"
    "\n"
    "Prints the top-k classes of an image with their probabilities.\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS
    "  --image FILE     PNG/JPEG/BMP, fashion-mnist:test:K (test image K), or .h5 with dataset `input`\n"
    "                   [1,C,H,W] (used as is, no preprocessing)\n" GT_FLAG_MODEL
    "  --top K          how many classes to print (default 5)\n" GT_FLAG_RESIZE
    "  --json           print JSON instead of a table\n"
    "  --raw FILE.h5    write logits [1,K] and probs [1,K]\n" GT_FLAG_THREADS GT_FLAG_DEVICE GT_FLAG_PRECISION;

}  // namespace

int run_classify(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--json"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), image = a.get("--image", ""), model_name = a.get("--model", "");
  const std::string raw = a.get("--raw", ""), resize = a.get("--resize", "");
  const long top = a.get_int("--top", 5, 1, 100000);
  const bool json = a.flag("--json");
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty()) throw UsageError("--image is required");
  check_resize(resize);

  auto model = load_model(weights, model_name);
  if (!model->info.include_top)
    throw Error("weights file " + weights +
                " has no classifier (a _notop file): it extracts features, it cannot classify");
  std::string true_label;
  const Tensor x = is_tensor_input(image) ? load_input(image, model->info, "", precision())
                                          : preprocess(data::load_pixels(image, model->info, resize, &true_label),
                                                       model->info.preprocessing)
                                                .to(precision());
  Tensor logits, probs;
  {
    NoGradGuard no_grad;
    logits = (*model)(x);
    probs = ops::softmax(logits);
  }
  const std::vector<float> p = probs.to_vector();
  const std::vector<int64_t> order = top_classes(p, size_t(top));
  const size_t k = order.size();
  if (!raw.empty()) {
    h5::File f(raw, h5::File::Mode::write);
    f.store_as(precision());
    f.write("logits", logits);
    f.write("probs", probs);
    f.set_attr("model", model->info.arch);
    f.commit();
  }
  const nn::ModelInfo& labels = model->info;
  if (json) {
    nlohmann::ordered_json j = {{"model", model->info.arch}, {"image", image}, {"top", nlohmann::json::array()}};
    for (size_t i = 0; i < k; ++i)
      j["top"].push_back({{"class", order[i]}, {"label", class_name(labels, order[i])}, {"prob", p[size_t(order[i])]}});
    if (!true_label.empty()) j["true_label"] = true_label;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s (%s weights), %lldx%lld input%s\n", model->info.arch.c_str(), model->info.variant.c_str(),
                (long long)x.dim(2), (long long)x.dim(3),
                true_label.empty() ? "" : (", true class: " + true_label).c_str());
    for (size_t i = 0; i < k; ++i)
      std::printf("%3zu. %-30s %8.4f   (class %lld)\n", i + 1, class_name(labels, order[i]).c_str(),
                  p[size_t(order[i])], (long long)order[i]);
  }
  return 0;
}

}  // namespace gt::cli
