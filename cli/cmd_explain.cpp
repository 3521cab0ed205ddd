// gradtrace <method>: one attribution method of the registry (xai/method.h) on one image, written as
// a PNG (and raw HDF5). Every method's flags, help and defaults come from its registry entry.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/cli.h"
#include "image/image.h"
#include "io/hdf5.h"
#include "render/viz.h"
#include "weights/labels.h"
#include "xai/method.h"

namespace gt::cli {
namespace {

// The options every method takes; --reduce and --signed only where the map is reduced from a
// gradient's channels.
std::string common_help(const xai::Method& m) {
  std::string h = GT_FLAG_WEIGHTS
      "  --image FILE     PNG/JPEG/BMP, fashion-mnist:test:K, or .h5 with dataset `input` [1,C,H,W]\n" GT_FLAG_MODEL
      "  --target T       class index or name (\"golden retriever\"); default: the top-1 class";
  h += m.target_all ? "; all: the sum of all\n                   class logits\n" : "\n";
  h += "  --out FILE.png   output picture: image | map | overlay (default " + m.name + ".png)\n";
  h += "  --raw FILE.h5    the raw result: map [H,W]";
  h += m.smooth_map ? " and cam [h,w] at the layer's resolution" : " and attribution [1,C,H,W] in model-input space";
  h += "\n                   (README, \"Raw outputs\")\n";
  h += m.signed_map
           ? "  --cmap NAME      " + viz::colormap_list() + " (default bwr)\n"
           : "  --cmap NAME      " + viz::colormap_list() + " (default hot; bwr\n                   with --signed)\n";
  h += "  --norm N         minmax, percentile (the top --clip percent clipped) or symmetric (default ";
  h += m.signed_map   ? "symmetric)\n"
       : m.smooth_map ? "minmax;\n                   symmetric with --signed)\n"
                      : "percentile;\n                   symmetric with --signed)\n";
  h += "  --clip P         percent clipped by percentile/symmetric normalisation (default 1)\n"
       "  --alpha A        weight of the map in the overlay (default 0.5)\n";
  if (!m.signed_map)
    h += "  --reduce R       channel reduction of the map: max (of |a|, the default), mean or l2\n"
         "  --signed         keep the sign in the map (max: the channel of largest |a|; mean: the mean)\n";
  h += GT_FLAG_CAPTION GT_FLAG_RESIZE GT_FLAG_THREADS GT_FLAG_DEVICE GT_FLAG_PRECISION;
  return h;
}

template <class E>
E choose(const std::string& flag, const std::string& v, const std::vector<std::pair<std::string, E>>& options) {
  std::string known;
  for (const auto& [name, e] : options) {
    if (v == name) return e;
    known += (known.empty() ? "" : ", ") + name;
  }
  throw UsageError(flag + " must be one of " + known + ", got '" + v + "'");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Reads the method's own options from the command line, each checked against its spec.
xai::Options read_method_options(const xai::Method& m, Args& a) {
  xai::Options o = xai::default_options(m);
  for (const xai::OptionSpec& spec : m.options) {
    const std::string flag = "--" + spec.name;
    if (spec.type == xai::OptionSpec::Type::flag) {
      if (a.flag(flag)) xai::set_option(m, o, spec.name, "1");
    } else if (a.given(flag)) {
      xai::set_option(m, o, spec.name, a.get(flag, spec.def));
    }
  }
  return o;
}

// The switches a method's command takes: the common ones and the method's flag options.
std::vector<std::string> switches(const xai::Method& m) {
  std::vector<std::string> v{"--help", "--no-caption"};
  if (!m.signed_map) v.push_back("--signed");
  for (const xai::OptionSpec& spec : m.options)
    if (spec.type == xai::OptionSpec::Type::flag) v.push_back("--" + spec.name);
  return v;
}

void print_help(const xai::Method& m) {
  std::printf("usage: gradtrace %s --weights FILE --image FILE [options]\n\n%s (%s).\n", m.name.c_str(),
              m.summary.c_str(), m.paper.c_str());
  std::printf("Cost: %s%s.\n\n", xai::cost_name(m.cost), m.gradient_free ? ", no gradient (scores only)" : "");
  if (!m.options.empty()) std::printf("%s options:\n%s\n", m.name.c_str(), xai::option_help(m).c_str());
  if (m.signed_map)
    std::printf("The map is signed: red for the class, blue against it (bwr; --signed and --reduce do not apply).\n\n");
  std::printf("common options:\n%s", common_help(m).c_str());
}

void write_raw(const std::string& raw, const std::string& out, const xai::MethodResult& r, const xai::Target& target,
               const std::string& name, int64_t H, int64_t W, const Image& picture) {
  h5::File f(raw, h5::File::Mode::write);
  f.store_as(precision());
  if (r.attribution.defined()) f.write("attribution", r.attribution);
  if (r.cam.defined()) f.write("cam", r.cam);
  for (const auto& [k, v] : r.datasets) f.write(k, v);
  f.write("map", Tensor::from_vector({H, W}, r.map));
  for (const auto& [k, v] : r.facts) f.set_attr(k, v);
  f.set_attr("target", target.all ? -1.0 : double(target.index));
  bool has_method = false;  // ig's "method" is its quadrature rule
  for (const auto& [k, v] : r.labels) f.set_attr(k, v), has_method |= k == "method";
  if (!has_method) f.set_attr("method", name);
  f.set_attr("params", r.params);
  viz::write_png(out, picture);
  f.commit();
  std::printf("wrote %s\n", raw.c_str());
}

// "ig: 30/50 points" on stderr: rewritten in place on a terminal; else at every quarter.
xai::Progress progress_printer(const std::string& what, const std::string& unit) {
  if (unit.empty()) return {};
  const bool tty = isatty(fileno(stderr));
  return [=, last = int64_t(-1)](int64_t done, int64_t total) mutable {
    const int64_t quarter = 4 * done / std::max<int64_t>(total, 1);
    if (!tty && quarter == last && done != total) return;
    last = quarter;
    std::fprintf(stderr, tty ? "\r%s: %lld/%lld %s" : "%s: %lld/%lld %s\n", what.c_str(), (long long)done,
                 (long long)total, unit.c_str());
    if (tty && done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

}  // namespace

xai::Progress method_progress(const xai::Method& m) { return progress_printer(m.name, m.progress_unit); }

viz::Norm default_norm(const xai::Method& m, bool signed_map) {
  if (signed_map || m.signed_map) return viz::Norm::symmetric;
  return m.smooth_map ? viz::Norm::minmax : viz::Norm::percentile;
}

int run_explain(int argc, char** argv) {
  const xai::Method& method = xai::find_method(argv[1]);
  const std::string& name = method.name;
  Args a(argc, argv, 2, switches(method));
  if (a.flag("--help")) {
    print_help(method);
    return 0;
  }
  const std::string weights = weights_flag(a), image = a.get("--image", ""), model_name = a.get("--model", "");
  const std::string target_s = a.get("--target", ""), out = a.get("--out", name + ".png"), raw = a.get("--raw", "");
  const std::string resize = a.get("--resize", "");
  xai::MapOptions map;
  // A signed method's map is signed, one value per region: --signed and --reduce are not its to take.
  map.signed_map = method.signed_map || a.flag("--signed");
  const std::string cmap = a.get("--cmap", map.signed_map ? "bwr" : "hot");
  const std::vector<std::pair<std::string, viz::Norm>> norms = {
      {"minmax", viz::Norm::minmax}, {"percentile", viz::Norm::percentile}, {"symmetric", viz::Norm::symmetric}};
  std::string norm_default;
  for (const auto& [n, e] : norms)
    if (e == default_norm(method, map.signed_map)) norm_default = n;
  const viz::Norm norm = choose<viz::Norm>("--norm", a.get("--norm", norm_default), norms);
  const double clip = a.get_double("--clip", 1.0, 0.0, 50.0);
  const double alpha = a.get_double("--alpha", 0.5, 0.0, 1.0);
  const bool caption = !a.flag("--no-caption");
  if (!method.signed_map)
    map.reduce = choose<xai::ChannelReduce>(
        "--reduce", a.get("--reduce", "max"),
        {{"max", xai::ChannelReduce::max_abs}, {"mean", xai::ChannelReduce::mean_abs}, {"l2", xai::ChannelReduce::l2}});
  const xai::Options options = read_method_options(method, a);
  apply_threads(a);
  apply_device(a);
  apply_precision(a);
  a.finish();
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  if (image.empty()) throw UsageError("--image is required (a table model: --dataset csv:FILE --row K or --csv-row)");
  check_resize(resize);
  check_colormap(cmap);
  check_out_folder("--out", out);
  check_out_folder("--raw", raw);
  if (map.signed_map && map.reduce == xai::ChannelReduce::l2)
    throw UsageError("--signed does not go with --reduce l2 (it has no sign)");

  xai::Subject s = load_subject(weights, model_name, image, resize);
  const nn::ModelInfo& info = s.model->info;
  const int64_t H = s.x.dim(2), W = s.x.dim(3);
  const xai::Target target = resolve_target(target_s, info, s.top1, method.target_all);
  std::printf("%s (%s weights), %lldx%lld input; top-1: %s (%.4f)\n", info.arch.c_str(), info.variant.c_str(),
              (long long)H, (long long)W, class_name(info, s.top1).c_str(), s.probs[size_t(s.top1)]);
  if (target.all)
    std::printf("%s of the sum of all %lld class logits\n", name.c_str(), (long long)info.classes);
  else
    std::printf("%s of class %lld, %s (p = %.4f)\n", name.c_str(), (long long)target.index,
                class_name(info, target.index).c_str(), s.probs[size_t(target.index)]);
  if (method.intro) std::printf("%s\n", method.intro(options).c_str());
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  const xai::MethodResult r = xai::explain(method, s, target, options, map, method_progress(method));
  for (const auto& line : r.notes) std::printf("%s\n", line.c_str());
  std::printf("%s took %.3f s\n", name.c_str(), seconds_since(t0));

  const Image heat = viz::colorize(viz::normalize(r.map, norm, clip), int(W), int(H), cmap);
  std::vector<Image> panels{heat};
  std::vector<std::string> names{"map"};
  if (s.pixels.defined()) {
    const Image picture = tensor_to_image(s.pixels);
    Image outlined = picture;
    if (!r.segments.empty()) viz::outline(outlined, r.segments, {255, 255, 0});
    panels = {outlined, heat, viz::overlay(picture, heat, alpha)};
    names = {r.segments.empty() ? "image" : "image, superpixels", "map", "overlay"};
  }
  const std::string title = name + " of " +
                            (target.all ? std::string("the sum of all classes")
                                        : class_caption(info, target.index, s.probs[size_t(target.index)])) +
                            ", " + info.arch;
  const Image picture = figure(panels, title, names, caption);
  if (!raw.empty())
    write_raw(raw, out, r, target, name, H, W, picture);
  else
    viz::write_png(out, picture);
  std::printf("wrote %s (%s)\n", out.c_str(), s.pixels.defined() ? "image | map | overlay" : "map");
  return 0;
}

}  // namespace gt::cli
