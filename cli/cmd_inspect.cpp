// gradtrace inspect: every node of the tape of a saliency map, forward and backward, as a table,
// JSON or CSV; optionally every activation and gradient dumped to HDF5.
#include <fnmatch.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "render/plot.h"
#include "render/viz.h"
#include "weights/labels.h"
#include "xai/inspect.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace inspect [--weights FILE] --image FILE [options]\n"
    "\n"
    "Runs the model on the image, takes the gradient of the target logit with respect to the input\n"
    "(the saliency map) and prints one row per tape node, in forward order: the layer, the op, the\n"
    "output shape; the activation's mean, std, min, max and fraction of zeros; the gradient that\n"
    "arrives at the node's output (L2 norm, max |g|, fraction of zeros: dead ReLUs show up here);\n"
    "and the node's forward and backward time. Every layer is its own node here (no fusion).\n"
    "\n"
    "options:\n" GT_FLAG_WEIGHTS
    "  --image FILE     PNG/JPEG/BMP, fashion-mnist:test:K, or .h5 with dataset `input`\n"
    "  --target T       class index or name (default: the top-1 class)\n"
    "  --layer PATTERN  only layers whose name matches (shell pattern: 'block4_*', 'conv_dw_1?')\n"
    "  --json           print JSON instead of a table\n"
    "  --csv            print CSV instead of a table\n"
    "  --no-times       leave out the times: a table that is the same on every run (handouts, tests)\n"
    "  --dump FILE.h5   write each (matching) node's activation and gradient as datasets\n"
    "                   nodes/<layer>/<op>/activation|gradient, the input, its gradient, the logits,\n"
    "                   and the tape (order, ops, shapes) as the root attribute `tape`\n"
    "  --max-bytes N    refuse a dump larger than N bytes, before running it (default 2e9)\n"
    "  --plot FILE.png  the gradient flow: per node, the arriving gradient's L2 norm (log scale) and the\n"
    "                   activation mean, over the depth of the network, bars coloured by op\n"
    "  --rule R         the relevance view instead: LRP or DeepLIFT's pass, one row per node with\n"
    "                   the relevance that arrived at its output (total, positive and negative mass,\n"
    "                   share of what is conserved) and the share of it absorbed (epsilon, biases)\n"
    "                   before the rest was handed on. R: lrp-epsilon-plus, lrp-epsilon-gamma-box, lrp-epsilon,\n"
    "                   ... (lrp- and any --composite of lrp), deeplift, deeplift-reveal-cancel.\n"
    "                   With --dump: each node's relevance; with --plot: the relevance flow beside\n"
    "                   the gradient flow\n"
    "  --baseline B     the DeepLIFT rules' baseline, as deeplift's --baseline (default black)\n" GT_FLAG_RESIZE
        GT_FLAG_MODEL GT_FLAG_THREADS GT_FLAG_DEVICE GT_FLAG_PRECISION;

std::string shown(const std::string& layer) { return layer.empty() ? "(target)" : layer; }
// A dump's group for a node: nodes/<layer>/<op>, numbered from _2 when a layer has that op again.
std::string node_group(std::map<std::string, int>& seen, const std::string& layer, const std::string& op) {
  std::string name = "nodes/" + shown(layer) + "/" + op;
  if (const int k = seen[name]++) name += "_" + std::to_string(k + 1);
  return name;
}

// --rule: the relevance pass's table, and its dump.
void print_relevance(const xai::Subject& s, const xai::Target& t, const std::string& rule, const std::string& baseline,
                     const std::string& pattern, const std::function<bool(const std::string&)>& matches,
                     const std::string& dump, const std::string& plot) {
  const xai::RelevanceFlow r =
      xai::relevance_flow(s, t, rule, baseline, dump.empty() ? std::function<bool(const std::string&)>() : matches);
  const double total = r.conserved == 0 ? 1 : r.conserved;
  std::printf("%s: %s of %s; %s = %.6g; %zu nodes%s\n\n", s.model->info.arch.c_str(), rule.c_str(),
              t.all ? "all classes" : class_name(s.model->info, t.index).c_str(), r.conserved_name.c_str(), r.conserved,
              r.nodes.size(), pattern.empty() ? "" : (", rows matching '" + pattern + "'").c_str());
  std::printf("%4s %-24s %-16s %-16s | %11s %8s %11s %11s | %11s %9s\n", "#", "layer", "op", "output", "relevance",
              "% kept", "positive", "negative", "handed on", "absorbed%");
  for (const auto& n : r.nodes) {
    if (!matches(n.layer)) continue;
    // absorbed: the share of the node's own relevance that it did not hand on (epsilon, biases)
    std::printf("%4zu %-24s %-16s %-16s | %11.5g %8.3f %11.5g %11.5g | %11.5g %9.4f\n", n.index, shown(n.layer).c_str(),
                n.op.c_str(), dims(n.shape).c_str(), n.sum, 100 * n.sum / total, n.positive, n.negative, n.handed_on,
                n.sum == 0 ? 0.0 : 100 * (n.sum - n.handed_on) / n.sum);
  }
  const double in = ops::sum(r.attribution).item();
  std::printf("\ninput %s: relevance %.6g, %.3f%% of %s\n", dims(s.x.shape()).c_str(), in, 100 * in / total,
              r.conserved_name.c_str());
  if (!plot.empty()) {  // the relevance flow beside the gradient flow of the same target
    const std::string& arch = s.model->info.arch;
    viz::write_png(plot, viz::side_by_side({viz::relevance_flow_plot(r, arch + ": " + rule),
                                            viz::gradient_flow_plot(xai::inspect(s.fn, s.x, t), arch + ": gradient")},
                                           20));
    std::fprintf(stderr, "wrote %s\n", plot.c_str());
  }
  if (dump.empty()) return;
  h5::File f(dump, h5::File::Mode::write);
  f.store_as(precision());
  f.write("input", s.x);
  f.write("input_relevance", r.attribution);
  std::map<std::string, int> seen;
  for (const auto& n : r.nodes) {
    if (!n.relevance.defined()) continue;
    const std::string name = node_group(seen, n.layer, n.op);
    f.write(name + "/relevance", n.relevance);
  }
  f.set_attr("rule", rule);
  f.set_attr("conserved", r.conserved);
  f.commit();
  std::fprintf(stderr, "wrote %s\n", dump.c_str());
}
}  // namespace

namespace {
// The bytes a dump of the matching nodes takes (activation and gradient of each, and the input's),
// from a forward pass without a tape. A pattern that matches no layer is an error listing them all.
double dump_bytes(xai::Subject& s, const std::string& pattern, const std::function<bool(const std::string&)>& matches) {
  const double elem = double(dtype_size(s.x.dtype()));
  double bytes = double(s.x.numel()) * 2 * elem;
  bool any = false;
  std::vector<std::string> layers;
  for (const auto& [layer, shape] : xai::op_shapes(s.fn, s.x)) {
    if (layers.empty() || layers.back() != layer) layers.push_back(layer);
    if (!matches(layer)) continue;
    any = true;
    bytes += double(shape.numel()) * 2 * elem;
  }
  if (!any) {
    std::string list;
    for (const auto& l : layers) list += (list.empty() ? "" : ", ") + l;
    throw UsageError("--layer '" + pattern + "' matches no layer; the layers are: " + list);
  }
  return bytes;
}

void print_csv(const xai::Inspection& r, const std::function<bool(const std::string&)>& matches) {
  std::printf(
      "index,layer,op,shape,act_mean,act_std,act_min,act_max,act_zeros,grad_l2,grad_max_abs,grad_zeros,forward_ms,"
      "backward_ms\n");
  for (const auto& n : r.nodes) {
    if (!matches(n.layer)) continue;
    const auto& A = n.activation;
    const auto& G = n.gradient;
    std::printf("%zu,%s,%s,%s,%.6g,%.6g,%.6g,%.6g,%.6g,", n.index, n.layer.c_str(), n.op.c_str(), dims(n.shape).c_str(),
                A.mean, A.std, A.min, A.max, A.zeros);
    if (n.has_gradient)
      std::printf("%.6g,%.6g,%.6g,", G.l2, G.max_abs, G.zeros);
    else
      std::printf(",,,");
    std::printf("%.4f,%.4f\n", n.forward_ms, n.backward_ms);
  }
}
}  // namespace

std::string inspect_json(const xai::Inspection& r, const std::string& arch, int64_t target,
                         const std::function<bool(const std::string&)>& keep) {
  using nlohmann::ordered_json;
  std::string nodes;
  for (const auto& n : r.nodes) {
    if (keep && !keep(n.layer)) continue;
    std::vector<int64_t> shape;
    for (int i = 0; i < n.shape.ndim(); ++i) shape.push_back(n.shape[i]);
    const auto& A = n.activation;
    const auto& G = n.gradient;
    ordered_json node = {
        {"index", n.index},
        {"layer", n.layer},
        {"op", n.op},
        {"shape", shape},
        {"activation", {{"mean", A.mean}, {"std", A.std}, {"min", A.min}, {"max", A.max}, {"zeros", A.zeros}}}};
    node["gradient"] =
        n.has_gradient ? ordered_json{{"l2", G.l2}, {"max_abs", G.max_abs}, {"zeros", G.zeros}} : ordered_json();
    node["forward_ms"] = n.forward_ms;
    node["backward_ms"] = n.backward_ms;
    nodes += (nodes.empty() ? "\n " : ",\n ") + node.dump();
  }
  // One node per line, as the table prints them: greppable, and each line valid JSON.
  const std::string head = ordered_json{{"model", arch}, {"target", target}}.dump();
  return head.substr(0, head.size() - 1) + ",\"nodes\":[" + nodes + "\n]}";
}

namespace {
// --dump: the input, its gradient, the logits and each kept node's activation and gradient.
void write_dump(const std::string& dump, const xai::Subject& s, const xai::Target& t, const xai::Inspection& r,
                double bytes) {
  const nn::ModelInfo& info = s.model->info;
  h5::File f(dump, h5::File::Mode::write);
  f.store_as(precision());
  f.write("input", s.x);
  f.write("input_gradient", r.input_gradient);
  f.write("logits", r.logits);
  std::map<std::string, int> seen;
  std::string tape;
  for (const auto& n : r.nodes) {
    tape += std::to_string(n.index) + "\t" + shown(n.layer) + "\t" + n.op + "\t" + dims(n.shape) + "\n";
    if (!n.activation_tensor.defined()) continue;
    const std::string name = node_group(seen, n.layer, n.op);
    f.write(name + "/activation", n.activation_tensor);
    if (n.gradient_tensor.defined()) f.write(name + "/gradient", n.gradient_tensor);
  }
  f.set_attr("tape", tape);
  f.set_attr("model", info.arch);
  f.set_attr("target", t.all ? -1.0 : double(t.index));
  f.commit();
  std::fprintf(stderr, "wrote %s (%.1f MB)\n", dump.c_str(), bytes / 1e6);
}
}  // namespace

int run_inspect(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--json", "--csv", "--no-times"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = weights_flag(a), image = a.get("--image", ""), model_name = a.get("--model", "");
  const std::string target_s = a.get("--target", ""), pattern = a.get("--layer", ""), dump = a.get("--dump", "");
  const std::string resize = a.get("--resize", ""), plot = a.get("--plot", "");
  const std::string rule = a.get("--rule", ""), baseline = a.get("--baseline", "black");
  const double max_bytes = a.get_double("--max-bytes", 2e9, 0, 1e18);
  const bool json = a.flag("--json"), csv = a.flag("--csv"), times = !a.flag("--no-times");
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (image.empty()) throw UsageError("--image is required");
  if (json && csv) throw UsageError("--json and --csv exclude each other");
  check_resize(resize);
  xai::Subject s = load_subject(weights, model_name, image, resize);
  const xai::Target t = resolve_target(target_s, s.model->info, s.top1, true);
  auto matches = [&](const std::string& layer) {
    return pattern.empty() || fnmatch(pattern.c_str(), layer.c_str(), 0) == 0;
  };

  const double bytes = dump_bytes(s, pattern, matches);
  if (!rule.empty()) {
    if (json || csv) throw UsageError("--rule prints a table: not with --json or --csv");
    if (!dump.empty() && bytes / 2 > max_bytes)
      throw Error("the dump would take " + xai::fmt("%.0f", bytes / 2e6) + " MB, over --max-bytes");
    print_relevance(s, t, rule, baseline, pattern, matches, dump, plot);
    return 0;
  }
  if (!dump.empty() && bytes > max_bytes)
    throw Error("the dump would take " + xai::fmt("%.0f", bytes / 1e6) +
                " MB (activations and gradients of the matching nodes), over --max-bytes " +
                xai::fmt("%.0f", max_bytes / 1e6) + " MB; narrow it with --layer or raise --max-bytes");

  const xai::Inspection r =
      xai::inspect(s.fn, s.x, t, dump.empty() ? std::function<bool(const std::string&)>() : matches);
  const nn::ModelInfo& info = s.model->info;
  const std::string target_name = t.all ? std::string("all classes") : class_name(info, t.index);

  if (json) {
    std::printf("%s\n", inspect_json(r, info.arch, t.all ? -1 : t.index, matches).c_str());
  } else if (csv) {
    print_csv(r, matches);
  } else {
    std::printf("%s (%s weights): d logit[%s] / d input; %zu tape nodes%s\n\n", info.arch.c_str(), info.variant.c_str(),
                target_name.c_str(), r.nodes.size(),
                pattern.empty() ? "" : (", rows matching '" + pattern + "'").c_str());
    std::printf("%4s %-24s %-16s %-16s | %10s %9s %9s %9s %6s | %9s %9s %6s", "#", "layer", "op", "output", "act mean",
                "std", "min", "max", "zero%", "grad L2", "max|g|", "zero%");
    std::printf(times ? " | %8s %8s\n" : "\n", "fwd ms", "bwd ms");
    double fwd = 0, bwd = 0;
    for (const auto& n : r.nodes) {
      fwd += n.forward_ms;
      bwd += n.backward_ms;
      if (!matches(n.layer)) continue;
      const auto& A = n.activation;
      const auto& G = n.gradient;
      std::printf("%4zu %-24s %-16s %-16s | %10.4g %9.4g %9.4g %9.4g %6.1f | ", n.index, shown(n.layer).c_str(),
                  n.op.c_str(), dims(n.shape).c_str(), A.mean, A.std, A.min, A.max, 100 * A.zeros);
      if (n.has_gradient)
        std::printf("%9.3g %9.3g %6.1f", G.l2, G.max_abs, 100 * G.zeros);
      else
        std::printf("%9s %9s %6s", "-", "-", "-");
      std::printf(times ? " | %8.3f %8.3f\n" : "\n", n.forward_ms, n.backward_ms);
    }
    const xai::Stats g = xai::tensor_stats(r.input_gradient);
    std::printf("\ninput %s: gradient L2 %.4g, max|g| %.4g (the saliency map)", dims(s.x.shape()).c_str(), g.l2,
                g.max_abs);
    std::printf(times ? "; forward %.1f ms, backward %.1f ms\n" : "\n", fwd, bwd);
  }

  if (!plot.empty()) {
    viz::write_png(plot, viz::gradient_flow_plot(r, info.arch + ": d " + target_name + " / d input"));
    std::fprintf(stderr, "wrote %s\n", plot.c_str());
  }
  if (!dump.empty()) write_dump(dump, s, t, r, bytes);
  return 0;
}

}  // namespace gt::cli
