// gradtrace's command line: the dispatch to the subcommands (one file each, cmd_*.cpp) and the
// overview help, whose method lines come from the registry. Exit codes: 0 success, 1 runtime error,
// 2 usage error. cli/main.cpp holds only main(), so that tests can run the CLI in-process.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/cli.h"
#include "xai/method.h"

namespace {
const char* kUsage =
    "gradtrace: see why a neural network decides what it decides, and how the gradient gets there.\n"
    "\n"
    "usage: gradtrace <command> [options]     (gradtrace <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  classify  the top-k classes of an image (--weights model.tflite --image photo.jpg)\n"
    "  layers    a model's layers with their output shapes\n"
    "  inspect   every tape node's activation and arriving gradient, with times (--dump FILE.h5)\n"
    "  gradcheck one real layer's backward against central finite differences on its real input\n"
    "  graph     the tape as a graph (.dot or .svg): layers, ops, shapes, saved tensors\n"
    "\n";
// After the explain methods, which come from the registry.
const char* kUsageTail =
    "  counterfactual   change the image until the model answers another class\n"
    "  metrics          deletion and insertion AUC of a map\n"
    "  evaluate         Quantus's metrics of several methods over a dataset (resumable, MPI)\n"
    "  compare          how alike maps are: rank correlation, correlation, top-10% overlap\n"
    "  report           every method on one image, as an HTML page\n"
    "\n"
    "  train     train a classifier on Fashion-MNIST, an image folder or a CSV table (--dataset, --out)\n"
    "  eval      accuracy, per-class accuracy and confusion matrix of a model on a dataset\n"
    "\n"
    "  tables (a model trained with --dataset csv:FILE):\n"
    "  permutation-importance  the drop of the model's score when each feature is shuffled\n"
    "  pdp       partial dependence and ICE curves of one feature or a pair\n"
    "  ale       accumulated local effects of a numeric feature\n"
    "  anchors   the rule on a row's own values that keeps the model's answer (precision, coverage)\n"
    "  rules     a Bayesian rule list (SBRL) of a table, or of a table model as its global surrogate\n"
    "  saliency, gradxinput, ig, kernelshap with --row K or --csv-row: a row's attribution per feature\n"
    "\n"
    "  convert   a weights file (.tflite or Keras .h5) to gradtrace's HDF5 format\n"
    "  demo      the course's first exercise: Fashion-MNIST images explained by the embedded model (out/)\n"
    "  edges     the smallest example: a hand-set Sobel conv net's saliency map on an image\n"
    "  bench     benchmarks: 'gradtrace bench conv' times VGG16's conv layers\n"
    "  help      this text\n";

// The overview, with one line per registered method.
std::string usage() {
  std::string methods;
  for (const gt::xai::Method& m : gt::xai::methods()) {
    std::string line = "  " + m.name;
    line += std::string(line.size() < 19 ? 19 - line.size() : 1, ' ') + m.summary + "\n";
    methods += line;
  }
  return std::string(kUsage) + methods + kUsageTail;
}
}  // namespace

int gt::cli::main(int argc, char** argv) {
  reset_run_settings();
  if (argc < 2) {
    std::fputs(usage().c_str(), stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  try {
    if (cmd == "bench") return gt::cli::run_bench(argc, argv);
    if (cmd == "demo") return gt::cli::run_demo(argc, argv);
    if (cmd == "edges") return gt::cli::run_edges(argc, argv);
    if (cmd == "classify") return gt::cli::run_classify(argc, argv);
    if (cmd == "layers") return gt::cli::run_layers(argc, argv);
    if (cmd == "convert") return gt::cli::run_convert(argc, argv);
    if (cmd == "counterfactual") return gt::cli::run_counterfactual(argc, argv);
    if (cmd == "metrics") return gt::cli::run_metrics(argc, argv);
    if (cmd == "evaluate") return gt::cli::run_evaluate(argc, argv);
    if (cmd == "compare") return gt::cli::run_compare(argc, argv);
    if (cmd == "report") return gt::cli::run_report(argc, argv);
    if (cmd == "train") return gt::cli::run_train(argc, argv);
    if (cmd == "eval") return gt::cli::run_eval(argc, argv);
    if (cmd == "permutation-importance") return gt::cli::run_permutation_importance(argc, argv);
    if (cmd == "pdp") return gt::cli::run_pdp(argc, argv);
    if (cmd == "ale") return gt::cli::run_ale(argc, argv);
    if (cmd == "anchors") return gt::cli::run_anchors(argc, argv);
    if (cmd == "rules") return gt::cli::run_rules(argc, argv);
    if (cmd == "inspect") return gt::cli::run_inspect(argc, argv);
    if (cmd == "gradcheck") return gt::cli::run_gradcheck(argc, argv);
    if (cmd == "graph") return gt::cli::run_graph(argc, argv);
    if (gt::cli::is_table_explain(argc, argv)) return gt::cli::run_table_explain(argc, argv);
    if (gt::xai::is_method(cmd)) return gt::cli::run_explain(argc, argv);
    std::fprintf(stderr, "gradtrace: unknown command '%s' (see 'gradtrace --help')\n", cmd.c_str());
    return 2;
  } catch (const gt::cli::UsageError& e) {
    std::fprintf(stderr, "gradtrace %s: %s (see 'gradtrace %s --help')\n", cmd.c_str(), e.what(), cmd.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gradtrace %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
