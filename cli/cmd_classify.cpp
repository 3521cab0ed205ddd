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
#include "data/table.h"
#include "image/preprocess.h"
#include "io/hdf5.h"
#include "weights/labels.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace classify --weights FILE --image FILE [options]\n"
    "       gradtrace classify --weights TABLE_MODEL.h5 --dataset csv:FILE --row K | --csv-row \"v1,v2,...\"\n"
    "\n"
    "Prints the top-k classes of an image with their probabilities; for a table model (gradtrace train\n"
    "--dataset csv:...) those of a row, or its predicted value.\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS
    "  --image FILE     PNG/JPEG/BMP, fashion-mnist:test:K (test image K), or .h5 with dataset `input`\n"
    "                   [1,C,H,W] (used as is, no preprocessing)\n" GT_FLAG_MODEL
    "  --top K          how many classes to print (default 5)\n" GT_FLAG_RESIZE GT_FLAG_ROW
    "  --json           print JSON instead of a table\n"
    "  --raw FILE.h5    write logits [1,K] and probs [1,K]\n" GT_FLAG_THREADS GT_FLAG_DEVICE GT_FLAG_PRECISION;

// A table model's prediction for one row: the class probabilities, or the target's value.
int classify_row(nn::Model& model, const data::TableRow& row, long top, bool json) {
  const data::TableSchema s = table_schema(model.info);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = model(Tensor::from_vector({1, s.width()}, row.x, precision()));
  }
  if (s.task == "regress") {
    const double y = out.to_vector_f64()[0] * s.target_scale + s.target_mean;
    if (json) {
      nlohmann::ordered_json j = {
          {"model", model.info.arch}, {"row", row.name}, {"target", s.target}, {"prediction", y}};
      if (row.has_y) j["true_value"] = row.y;
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s on %s: %s = %.6g", model.info.arch.c_str(), row.name.c_str(), s.target.c_str(), y);
      std::printf(row.has_y ? " (in the file: %.6g)\n" : "\n", row.y);
    }
    return 0;
  }
  const std::vector<float> p = ops::softmax(out).to_vector();
  const std::vector<int64_t> order = top_classes(p, size_t(top));
  const std::string truth = row.label >= 0 ? s.classes[size_t(row.label)] : "";
  if (json) {
    nlohmann::ordered_json j = {{"model", model.info.arch}, {"row", row.name}, {"top", nlohmann::json::array()}};
    for (int64_t k : order) j["top"].push_back({{"class", k}, {"label", s.classes[size_t(k)]}, {"prob", p[size_t(k)]}});
    if (!truth.empty()) j["true_label"] = truth;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("%s on %s%s\n", model.info.arch.c_str(), row.name.c_str(),
              truth.empty() ? "" : (", true class: " + truth).c_str());
  for (size_t i = 0; i < order.size(); ++i)
    std::printf("%3zu. %-30s %8.4f   (class %lld)\n", i + 1, s.classes[size_t(order[i])].c_str(), p[size_t(order[i])],
                (long long)order[i]);
  return 0;
}
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
  const RowFlags rf = row_flags(a);
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty() && !rf.given()) throw UsageError("--image is required (a table model: --row K or --csv-row)");
  check_resize(resize);
  auto model = load_model(weights, model_name);
  check_input_kind(model->info, image, rf);
  if (model->info.features) return classify_row(*model, load_row(model->info, rf), top, json);

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
