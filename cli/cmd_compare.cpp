// gradtrace compare: how alike two or more attribution maps are (rank correlation, correlation, top-q overlap).
#include <cmath>
#include <cstdio>
#include <utility>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "xai/compare.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace compare A.h5 B.h5 [MORE.h5 ...] [options]\n"
    "\n"
    "How alike are maps of one image? Reads the map [H,W] that every method's --raw writes, and prints,\n"
    "for each pair:\n"
    "  Spearman   the correlation of the pixels' ranks: 1 when both maps order the pixels alike,\n"
    "             whatever their scales, near 0 when the orders are unrelated\n"
    "  Pearson    the correlation of the values themselves\n"
    "  top IoU    of each map's top --top fraction of pixels, the overlap over the union\n"
    "Compare two methods, two target classes, two IG baselines, or a trained model's map with the\n"
    "same method's on random:ARCH weights: the model-randomisation sanity check (Adebayo et al. 2018),\n"
    "where a method that explains what the model learnt gives a low rank correlation.\n"
    "\n"
    "options:\n"
    "  --top Q          the fraction of pixels for the overlap (default 0.1: the top 10%)\n"
    "  --raw FILE.h5    spearman, pearson and top_iou as [N,N] matrices (N maps); attribute top\n";

struct Map {
  std::string file, label;
  Shape shape;
  std::vector<float> values;
};

Map read_map(const std::string& path) {
  h5::File f(path, h5::File::Mode::read);
  if (!f.has("map")) throw Error(path + ": no dataset 'map' (write one with a method's --raw FILE.h5)");
  Map m{path, "", f.shape("map"), {}};
  if (m.shape.ndim() != 2 || m.shape[0] < 1 || m.shape[1] < 1 || m.shape[0] * m.shape[1] < 2)
    throw Error(path + ": map " + m.shape.str() + " is not an [H,W] map");
  m.values = f.read("map").to_vector();
  m.label = f.has_attr("method") ? f.attr_string("method") : "map";
  if (f.has_attr("baseline"))  // IG's: its method attribute is the quadrature rule
    m.label = "ig, " + m.label + ", baseline " + f.attr_string("baseline");
  if (f.has_attr("target") && f.attr_double("target") >= 0)
    m.label += ", class " + std::to_string((long long)f.attr_double("target"));
  return m;
}

std::string cell(double v) {
  char s[32];
  if (std::isnan(v)) return "        -";
  std::snprintf(s, sizeof s, "%9.4f", v);
  return s;
}
}  // namespace

int run_compare(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const double top = a.get_double("--top", 0.1, 1e-6, 1.0);
  const std::string raw = a.get("--raw", "");
  a.finish();
  const std::vector<std::string>& files = a.positional();
  if (files.size() < 2) throw UsageError("give two or more map files (a method's --raw FILE.h5)");
  std::vector<Map> maps;
  for (const auto& f : files) {
    maps.push_back(read_map(f));
    if (maps.back().shape != maps[0].shape)
      throw Error("the maps differ in size: " + maps[0].file + " is " + maps[0].shape.str() + ", " + f + " " +
                  maps.back().shape.str() + " (compare maps of one input size)");
  }
  const size_t n = maps.size();
  for (size_t i = 0; i < n; ++i)
    std::printf("%zu. %s (%s) %lldx%lld\n", i + 1, maps[i].file.c_str(), maps[i].label.c_str(),
                (long long)maps[i].shape[0], (long long)maps[i].shape[1]);
  std::vector<std::vector<float>> values;
  for (auto& m : maps) values.push_back(std::move(m.values));
  const std::vector<xai::MapAgreement> r = xai::compare_all(values, top);
  bool constant = false;
  std::printf("\n%-10s %9s %9s %9s\n", "pair", "Spearman", "Pearson", "top IoU");
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const xai::MapAgreement& m = r[i * n + j];
      constant = constant || std::isnan(m.spearman);
      std::printf("%-10s %s %s %s\n", (std::to_string(i + 1) + " vs " + std::to_string(j + 1)).c_str(),
                  cell(m.spearman).c_str(), cell(m.pearson).c_str(), cell(m.top_iou).c_str());
    }
  }
  std::printf("(top IoU over each map's top %.4g%% of the %lld pixels)\n", 100 * top, (long long)values[0].size());
  if (constant) std::printf("-: a map is constant, so it orders no pixels and correlates with nothing\n");
  if (!raw.empty()) {
    h5::File f(raw, h5::File::Mode::write);
    const auto matrix = [&](double xai::MapAgreement::*field) {
      std::vector<double> v;
      for (const auto& m : r) v.push_back(m.*field);
      return Tensor::from_vector({int64_t(n), int64_t(n)}, v, DType::f32);
    };
    f.write("spearman", matrix(&xai::MapAgreement::spearman));
    f.write("pearson", matrix(&xai::MapAgreement::pearson));
    f.write("top_iou", matrix(&xai::MapAgreement::top_iou));
    f.set_attr("top", top);
    f.commit();
    std::printf("wrote %s\n", raw.c_str());
  }
  return 0;
}

}  // namespace gt::cli
