// gradtrace evaluate: Quantus-style metrics of several methods' maps over a dataset, resumable
// (cli/evaluate_store.h), and shared across processes and machines with MPI (cli/evaluate_mpi.cpp).
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cli/cli.h"
#include "cli/evaluate.h"
#include "image/image.h"
#include "xai/quality.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace evaluate --dataset D --methods M1,M2,... --metrics K1,K2,... --out results.h5 [options]\n"
    "\n"
    "Which explanation can be trusted? Runs each method on every item of a dataset and scores its map\n"
    "with each metric (Quantus 0.6's definitions and defaults), then summarises: mean +- 95% CI per\n"
    "method and metric, and a ranking per metric. The run is resumable: stopped or killed, started\n"
    "again with the same flags it skips the items it has and ends with the same file. Under mpirun\n"
    "the items are shared across the processes (a dynamic queue) and gathered into the one file.\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS GT_FLAG_MODEL
    "  --dataset D      folder:DIR (DIR/*.png or DIR/<class>/*.png), fashion-mnist:test or :train; for a\n"
    "                   table model csv:FILE, its rows (the test split of the file it was trained on,\n"
    "                   else every row): a row is a picture one pixel high, a pixel per encoded column;\n"
    "                   the methods saliency, gradxinput, ig (from the training mean), kernelshap (100\n"
    "                   training rows as background, 2048 coalitions), and the metrics\n"
    "                   that need no picture (default pixel-flipping, monotonicity-correlation,\n"
    "                   sparseness, complexity, avg-sensitivity, mprt, random-logit, completeness)\n"
    "  --limit N        the first N items (default: all)\n"
    "  --methods LIST   explain methods, comma-separated (default saliency,gradcam; on a table model\n"
    "                   saliency,gradxinput,ig), each at its defaults\n"
    "  --metrics LIST   metrics, comma-separated, or all (every one that needs no masks; the robustness\n"
    "                   and monotonicity metrics take hundreds of passes per item at their defaults);\n"
    "                   default: eight that take at most a few hundred forward passes each, one or two\n"
    "                   per family: deletion, insertion, region-perturbation, faithfulness-correlation,\n"
    "                   sparseness, complexity, random-logit, completeness\n"
    "  --masks DIR      localisation: a mask per item, a picture at the model's input size (nonzero =\n"
    "                   the object): DIR/<item name>, or DIR/fashion-mnist_test_17.png (':' and '/' as '_')\n"
    "  --target T       pred (the model's top class, default) or label (the dataset's class)\n"
    "  --set M.K=V,...  a metric's option (Quantus's parameter), e.g. pixel-flipping.step=16 (see below)\n"
    "  --batch B        perturbed copies per forward pass (default 16)\n"
    "  --seed S         the stochastic metrics' seed (default 0); each item, method and metric draws\n"
    "                   from its own stream, so results do not depend on the order items run in\n"
    "  --out FILE.h5    the results (required): scores/METHOD/METRIC [N], curves/METHOD/METRIC [N,L]\n"
    "                   (NaN after each item's curve_lengths/METHOD/METRIC [N] points),\n"
    "                   items/index, items/target, and for sufficiency kept/METHOD/METRIC [N,H*W+1]\n"
    "                   (each item's prepared map and predicted class: it scores sets of items, so its\n"
    "                   values come at the end of the run); also FILE.csv (one line per item, method, metric),\n"
    "                   FILE_summary.csv and FILE.html (the summary)\n" GT_FLAG_RESIZE GT_FLAG_THREADS GT_FLAG_DEVICE
        GT_FLAG_PRECISION;

// "[ 12/100]  12%  1.3 items/s  eta 1m08s  cat.png" on stderr: rewritten in place on a terminal,
// else a line at every tenth of the run. done counts every rank's items (the queue's position).
void progress(int64_t done, int64_t total, int64_t this_run, double seconds, const std::string& name) {
  static const bool tty = isatty(fileno(stderr));
  if (!tty && done != total && (10 * done / total) == (10 * (done - 1) / total)) return;
  const double rate = seconds > 0 ? double(this_run) / seconds : 0;
  const int64_t eta = rate > 0 ? int64_t((total - done) / rate) : 0;
  std::fprintf(stderr, "%s[%5lld/%lld] %3lld%%  %.2f items/s  eta %lldm%02llds  %-40.40s%s", tty ? "\r" : "",
               (long long)done, (long long)total, (long long)(total ? 100 * done / total : 100), rate,
               (long long)(eta / 60), (long long)(eta % 60), name.c_str(), tty ? "" : "\n");
  std::fflush(stderr);
}

// Item `name`'s mask: DIR/<name>, else DIR/<name with ':' and '/' as '_'>.png ("fashion-mnist_test_17.png"),
// a picture at the model's input size; 1 where it is not black.
std::vector<uint8_t> load_mask(const std::string& dir, const std::string& name, const nn::ModelInfo& info) {
  std::string path = dir + "/" + name;
  if (!std::ifstream(path)) {
    std::string flat = name;
    for (char& c : flat)
      if (c == ':' || c == '/') c = '_';
    path = dir + "/" + flat + ".png";
    if (!std::ifstream(path))
      throw Error("no mask for item " + name + " in " + dir + " (" + name + " or " + flat + ".png)");
  }
  const Image m = load_image(path);
  if (m.height != info.input_h || m.width != info.input_w)
    throw Error("mask " + path + " is " + std::to_string(m.width) + "x" + std::to_string(m.height) +
                ", the model's input is " + std::to_string(info.input_w) + "x" + std::to_string(info.input_h));
  std::vector<uint8_t> mask(size_t(m.height * m.width), 0);
  for (size_t p = 0; p < mask.size(); ++p)
    for (size_t c = 0; c < 3; ++c) mask[p] |= m.rgb[p * 3 + c] > 0;
  return mask;
}

// A stream of its own for each item, method and metric (FNV-1a over them and the run's seed).
uint64_t stream_seed(uint64_t seed, int64_t item, const std::string& method, const std::string& metric) {
  uint64_t h = 1469598103934665603ull ^ seed;
  const auto mix = [&](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  mix(std::to_string(item) + "/" + method + "/" + metric);
  return h >> 2;  // the methods' --seed range
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// An image method's map of the subject's item, at its defaults.
Explained explain_image(const std::string& method, xai::Subject& s, const xai::Target& t) {
  const xai::Method& m = xai::find_method(method);
  const xai::Options opts = xai::default_options(m);
  const xai::MethodResult e = xai::explain(m, s, t, opts);
  return {e.map, e.attribution, xai::quality::method_explainer(m, opts, s)};
}

// Every method's map of item i, scored by every metric.
ItemResult evaluate_item(xai::Subject& s, const EvalRun& run, int64_t i, const std::string& masks,
                         const std::string& target_mode, int batch, uint64_t seed) {
  const nn::ModelInfo& info = s.model->info;
  const std::string& name = run.items.names[size_t(i)];
  if (run.table)
    set_table_input(s, *run.table, i);
  else
    xai::set_input(s, run.items.pixels(i, info, s.resize), Tensor(), run.items.labels[size_t(i)]);
  ItemResult r;
  r.item = i;
  r.target = s.top1;
  if (target_mode == "label") {
    const std::string& label = run.items.labels[size_t(i)];
    if (label.empty()) throw Error("--target label: item " + name + " has no label (no class folder)");
    r.target = resolve_target(label, info, s.top1, false).index;
  }
  const std::vector<uint8_t> mask = masks.empty() ? std::vector<uint8_t>() : load_mask(masks, name, info);
  for (const std::string& method : run.methods) {
    const auto t0 = std::chrono::steady_clock::now();
    const xai::Target t{r.target, false};
    const Explained e = run.table ? explain_table_row(method, s, *run.table, t) : explain_image(method, s, t);
    r.seconds["method:" + method] += since(t0);
    for (const std::string& metric : run.metrics) {
      const xai::quality::Metric& k = xai::quality::find(metric);
      const auto t1 = std::chrono::steady_clock::now();
      const xai::quality::Input in{
          s,    t, e.again, run.settings.at(metric), e.map, e.attribution, mask, stream_seed(seed, i, method, metric),
          batch};
      const xai::quality::Score sc = k.run(in);
      r.entries.push_back({method, metric, sc.value, sc.curve, sc.kept});
      r.seconds[metric] += since(t1);
    }
  }
  return r;
}

// The set metrics' values (sufficiency), once every item is in: each method's items in order, in sets
// of the metric's "set" size, each scored from its items' kept vectors.
void score_sets(const EvalRun& run, ResultStore& store) {
  for (const std::string& metric : run.metrics) {
    const xai::quality::Metric& k = xai::quality::find(metric);
    if (!k.over_set) continue;
    const xai::Options& o = run.settings.at(metric);
    const size_t n = size_t(o.integer("set"));
    for (const std::string& method : run.methods) {
      std::vector<ItemResult::Entry*> entries;
      for (auto& [i, r] : store.items())
        for (auto& e : r.entries)
          if (e.method == method && e.metric == metric) entries.push_back(&e);
      for (size_t first = 0; first < entries.size(); first += n) {
        const size_t end = std::min(entries.size(), first + n);
        std::vector<std::vector<double>> kept;
        for (size_t q = first; q < end; ++q) kept.push_back(entries[q]->kept);
        const std::vector<double> v = k.over_set(kept, o);
        for (size_t q = first; q < end; ++q) entries[q]->value = v[q - first];
      }
    }
  }
}

// Cheap enough for a whole dataset, and one or two of each family (localisation needs masks). A
// table row has no picture: no blurred or black image, no neighbours, no patches.
const char* const kDefaultMetrics =
    "deletion,insertion,region-perturbation,faithfulness-correlation,sparseness,complexity,random-logit,completeness";
const char* const kTableMetrics =
    "pixel-flipping,monotonicity-correlation,sparseness,complexity,avg-sensitivity,mprt,random-logit,completeness";

// Unknown methods, and on a table model those it does not take, are usage errors.
void check_methods(const std::vector<std::string>& methods, bool rows) {
  for (const auto& m : methods) {
    xai::find_method(m);
    if (rows && std::find(table_methods().begin(), table_methods().end(), m) == table_methods().end())
      throw UsageError("on a table model evaluate runs saliency, gradxinput, ig or kernelshap, not " + m);
  }
}

// The default metrics, or every one for "all"; a metric that needs masks without them, or a picture
// on a table model, is a usage error.
void choose_metrics(std::vector<std::string>& metrics, const std::string& masks, bool rows) {
  if (rows && !masks.empty()) throw UsageError("--masks: a table row has no mask");
  if (metrics.empty()) metrics = comma_list(rows ? kTableMetrics : kDefaultMetrics);
  if (metrics == std::vector<std::string>{"all"}) {
    metrics.clear();
    for (const auto& m : xai::quality::metrics())
      if ((!m.needs_mask || !masks.empty()) && !(rows && m.pictures_only)) metrics.push_back(m.name);
  }
  for (const auto& m : metrics) {
    const xai::quality::Metric& k = xai::quality::find(m);
    if (k.needs_mask && masks.empty()) throw UsageError("metric '" + m + "' needs --masks DIR (a mask per item)");
    if (rows && k.pictures_only) throw UsageError("metric '" + m + "' needs a picture; a table row has none");
  }
}

// The usage, the metrics by family and each metric's options.
void print_help() {
  std::fputs(kHelp, stdout);
  std::printf("\nMPI: %s\n\nmetrics:\n", mpi_built() ? "built in (mpirun -np N gradtrace evaluate ...)"
                                                     : "not in this build (install libopenmpi-dev and rebuild)");
  for (const auto& m : xai::quality::metrics())
    std::printf("  %-24s %-14s %s (%s)%s\n", m.name.c_str(), m.family.c_str(), m.summary.c_str(), m.paper.c_str(),
                m.needs_mask ? " [--masks]" : "");
  std::printf("\nmetric options (--set METRIC.KEY=V; Quantus 0.6's defaults):\n");
  for (const auto& m : xai::quality::metrics()) {
    if (!m.options.empty()) std::printf("  %s\n", m.name.c_str());
    for (const auto& o : m.options)
      std::printf("    %-18s %s (default %s)\n", (o.name + "=" + o.metavar).c_str(), o.help.c_str(),
                  o.def.empty() ? "off" : o.def.c_str());
  }
}

}  // namespace

int run_evaluate(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    print_help();
    return 0;
  }
  const std::string weights = weights_flag(a), model_name = a.get("--model", "");
  const std::string dataset = a.get("--dataset", ""), out = a.get("--out", ""), masks = a.get("--masks", "");
  std::vector<std::string> methods = comma_list(a.get("--methods", ""));
  std::vector<std::string> metrics = comma_list(a.get("--metrics", ""));
  const long limit = a.get_int("--limit", 0, 0, 1000000000);
  const std::string target_mode = a.get("--target", "pred"), resize = a.get("--resize", "");
  const std::string settings = a.get("--set", "");
  const int batch = int(a.get_int("--batch", 16, 1, 4096));
  const long seed = a.get_int("--seed", 0, 0, 1L << 62);
  const bool threads_given = a.given("--threads");
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  const Mpi mpi = mpi_start();
  if (mpi.local_size > 1 && !threads_given)  // the machine's cores shared among its ranks
    omp_set_num_threads(std::max(1, omp_get_num_procs() / mpi.local_size));
  if (dataset.empty()) throw UsageError("--dataset is required (folder:DIR or fashion-mnist:test)");
  if (out.empty()) throw UsageError("--out FILE.h5 is required");
  if (target_mode != "pred" && target_mode != "label") throw UsageError("--target must be pred or label");
  check_resize(resize);
  xai::Subject s;
  s.model = load_model(weights, model_name);
  s.resize = resize;
  TableRun table;
  const bool rows = s.model->info.features > 0;
  if (rows != (dataset.rfind("csv:", 0) == 0))
    throw UsageError(rows ? "a table model takes --dataset csv:FILE"
                          : "--dataset csv:FILE is for a table model (trained with gradtrace train --dataset "
                            "csv:FILE); this one takes pictures");
  if (methods.empty()) methods = comma_list(rows ? "saliency,gradxinput,ig" : "saliency,gradcam");
  check_methods(methods, rows);
  choose_metrics(metrics, masks, rows);
  EvalRun run{methods,
              metrics,
              rows ? open_table_items(*s.model, dataset, limit, table) : data::open_items(dataset, limit),
              rows ? &table : nullptr,
              {},
              out};
  std::map<std::string, std::vector<std::string>> by_metric;  // --set NAME.KEY=V,...
  for (const std::string& kv : comma_list(settings)) {
    const size_t dot = kv.find('.');
    if (dot == std::string::npos || std::find(metrics.begin(), metrics.end(), kv.substr(0, dot)) == metrics.end())
      throw UsageError("--set " + kv + ": expected METRIC.KEY=VALUE for one of the metrics of this run");
    by_metric[kv.substr(0, dot)].push_back(kv.substr(dot + 1));
  }
  for (const auto& m : metrics)
    run.settings.emplace(m, xai::quality::metric_options(xai::quality::find(m), by_metric[m]));
  const EvalConfig config = {{"model", weights.empty() ? "fashion_cnn (embedded)" : weights},
                             {"dataset", run.items.source},
                             {"methods", comma_join(methods)},
                             {"metrics", comma_join(metrics)},
                             {"target", target_mode},
                             {"masks", masks},
                             {"batch", std::to_string(batch)},
                             {"seed", std::to_string(seed)},
                             {"precision", to_string(precision())},
                             {"resize", resize},
                             {"set", settings}};
  ResultStore store(out, config);
  std::vector<int64_t> todo;  // rank 0's list, the same on every rank
  for (int64_t i = 0; i < run.items.size(); ++i)
    if (!store.has(i)) todo.push_back(i);
  mpi_share(mpi, todo);
  const int64_t total = run.items.size(), had = total - int64_t(todo.size());
  if (mpi.rank == 0 && had > 0)
    std::printf("%s: %lld of %lld items already done, going on\n", out.c_str(), (long long)had, (long long)total);
  if (mpi.rank == 0 && mpi.size > 1) std::printf("%d processes, %d threads each\n", mpi.size, omp_get_max_threads());
  const auto t0 = std::chrono::steady_clock::now();
  int64_t taken = 0;
  for (int64_t k; (k = mpi_next(mpi)) < int64_t(todo.size());) {
    const int64_t i = todo[size_t(k)];
    store.add(evaluate_item(s, run, i, masks, target_mode, batch, uint64_t(seed)), mpi.rank);
    taken = k + 1;
    if (mpi.rank == 0) progress(had + taken, total, taken, since(t0), run.items.names[size_t(i)]);
  }
  if (mpi.rank == 0 && taken) std::fputc('\n', stderr);
  mpi_barrier(mpi);  // every rank's journal is complete
  if (mpi.rank != 0) return 0;
  run.seconds = since(t0);
  store.reload();
  score_sets(run, store);
  store.write(methods, metrics);
  std::printf("wrote %s (%lld items, %zu methods, %zu metrics)\n", out.c_str(), (long long)store.size(), methods.size(),
              metrics.size());
  summarize(run, store);
  return 0;
}

}  // namespace gt::cli
