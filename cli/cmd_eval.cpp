// gradtrace eval: a model's accuracy, per-class accuracy and confusion matrix on a dataset.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "train/loop.h"
#include "train/training.h"
#include "weights/labels.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace eval --dataset fashion-mnist|folder:DIR [--weights FILE.h5] [options]\n"
    "       gradtrace eval --dataset csv:FILE --weights TABLE_MODEL.h5 [--split test|val|train|all]\n"
    "\n"
    "Runs the model over a dataset in evaluation mode and prints its accuracy, the accuracy of each\n"
    "class and the confusion matrix (rows: true class, columns: predicted class). A table model adds\n"
    "balanced accuracy, each class's F1 and, for two classes, ROC AUC; a regression model prints R2,\n"
    "MAE and RMSE. On the file it was trained on it evaluates the training run's test rows (--split).\n"
    "\n"
    "options:\n"
    "  --weights FILE   a model that `gradtrace train` wrote (or a checkpoint); default: the embedded\n"
    "                   fashion_cnn\n"
    "  --dataset D      fashion-mnist (its 10,000 test images; fashion-mnist:DIR elsewhere) or folder:DIR\n"
    "                   (every image in DIR/<class name>/, resized to the model's input)\n"
    "  --strict         an unreadable image in a folder is an error (default: skipped, counted)\n"
    "  --batch B        evaluation batch size (default 200)\n"
    "  --split S        a table: test (default), val, train or all rows of the file\n"
    "  --json           print JSON instead of tables\n" GT_FLAG_THREADS GT_FLAG_DEVICE;
// Balanced accuracy, F1 per class and ROC AUC (two classes); R2, MAE, RMSE for regression.
void print_table_metrics(const nn::ModelInfo& info, const data::Dataset& d, const train::Evaluation& e) {
  if (e.regression) {
    std::printf("%s on %s (%lld rows): R2 %.4f  MAE %.6g  RMSE %.6g\n", info.arch.c_str(), d.source.c_str(),
                (long long)e.total, e.r2, e.mae, e.rmse);
    return;
  }
  std::printf("balanced accuracy %.2f%%", 100 * e.balanced_accuracy());
  if (e.auc >= 0) std::printf(", ROC AUC %.4f (p of %s)", e.auc, class_name(info, 1).c_str());
  std::printf("\nF1 per class:");
  for (int64_t k = 0; k < e.classes; ++k) std::printf("  %s %.4f", class_name(info, k).c_str(), e.f1(k));
  std::printf("\n\n");
}
}  // namespace

int run_eval(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--json", "--strict"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), dataset = a.get("--dataset", "");
  const bool json = a.flag("--json"), strict = a.flag("--strict");
  const long batch = a.get_int("--batch", 200, 1, 1L << 20);
  const std::string split = split_flag(a);
  apply_threads(a);
  apply_device(a);
  a.finish();
  if (dataset.empty()) throw UsageError("--dataset is required (fashion-mnist, folder:DIR or csv:FILE)");
  auto m = load_model(weights, "");
  const data::Dataset d = m->info.features ? table_split(load_table(m->info, dataset), split)
                                           : train::load_eval_data(dataset, m->info, strict);
  const data::TableSchema s = m->info.features ? table_schema(m->info) : data::TableSchema();
  const train::Evaluation e = train::evaluate(*m, d, batch, {}, s.target_mean, s.target_scale);
  const int64_t K = e.classes;
  if (e.regression && !json) {
    print_table_metrics(m->info, d, e);
    return 0;
  }
  if (json) {
    nlohmann::ordered_json j = {{"model", m->info.arch},
                                {"dataset", d.source},
                                {"examples", e.total},
                                {"accuracy", e.accuracy()},
                                {"loss", e.loss}};
    std::vector<double> per_class;
    std::vector<std::vector<int64_t>> confusion(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) {
      per_class.push_back(e.class_accuracy(k));
      confusion[size_t(k)].assign(e.confusion.begin() + k * K, e.confusion.begin() + (k + 1) * K);
    }
    j["per_class"] = per_class;
    j["confusion"] = confusion;
    if (m->info.features) {  // a table
      if (e.regression)
        j = {{"model", m->info.arch}, {"dataset", d.source}, {"rows", e.total}, {"r2", e.r2},
             {"mae", e.mae},          {"rmse", e.rmse}};
      else {
        std::vector<double> f1;
        for (int64_t k = 0; k < K; ++k) f1.push_back(e.f1(k));
        j["balanced_accuracy"] = e.balanced_accuracy();
        j["f1"] = f1;
        if (e.auc >= 0) j["roc_auc"] = e.auc;
      }
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("%s on %s: accuracy %.2f%% (%lld of %lld), mean loss %.4f\n\n", m->info.arch.c_str(), d.source.c_str(),
              100 * e.accuracy(), (long long)e.correct, (long long)e.total, e.loss);
  if (m->info.features) print_table_metrics(m->info, d, e);
  std::printf("per class:\n");
  for (int64_t k = 0; k < K; ++k)
    std::printf("  %2lld %-20s %6.2f%%\n", (long long)k, class_name(m->info, k).c_str(), 100 * e.class_accuracy(k));
  std::printf("\nconfusion matrix (rows: true class, columns: predicted):\n    ");
  for (int64_t j = 0; j < K; ++j) std::printf(" %5lld", (long long)j);
  std::printf("\n");
  for (int64_t k = 0; k < K; ++k) {
    std::printf("  %2lld", (long long)k);
    for (int64_t j = 0; j < K; ++j) std::printf(" %5lld", (long long)e.confusion[size_t(k * K + j)]);
    std::printf("   %s\n", class_name(m->info, k).c_str());
  }
  return 0;
}

}  // namespace gt::cli
