// Complexity: how concentrated is a map? A map that puts its mass on a few pixels is easier to read.
#include <cmath>

#include "xai/quality.h"

namespace gt::xai::quality {

std::vector<Metric> complexity_metrics() {
  std::vector<Metric> m;
  // Gini index of the sorted |a| (a_1 <= ... <= a_n, each + 1e-7 as Quantus adds):
  //   G = sum_i (2i - n - 1) a_i / (n sum_i a_i); 0 for a flat map, -> 1 for one pixel.
  m.push_back({"sparseness", "complexity", "the Gini index of the map: 1 = all mass on one pixel",
               "Chalasani et al. 2020", 1, false, false, [](const Input& in) {
                 std::vector<double> a = prepared(in);
                 for (double& v : a) v += 1e-7;
                 std::sort(a.begin(), a.end());
                 const double n = double(a.size());
                 double num = 0, sum = 0;
                 for (size_t i = 0; i < a.size(); ++i) num += (2.0 * double(i + 1) - n - 1) * a[i], sum += a[i];
                 return Score{num / (n * sum), {}};
               }});
  // Entropy of the map as a distribution: p_i = |a_i| / sum |a|, H = -sum p_i ln p_i (nats);
  // ln n for a flat map, 0 for one pixel.
  m.push_back({"complexity", "complexity", "the entropy of the map as a distribution over pixels", "Bhatt et al. 2020",
               -1, false, false, [](const Input& in) {
                 const std::vector<double> a = prepared(in);
                 double sum = 0, h = 0;
                 for (double v : a) sum += std::fabs(v);
                 if (sum == 0) return Score{};
                 for (double v : a) h -= v / sum * std::log(v / sum + 1e-12);  // NaN for a signed map, as Quantus
                 return Score{h, {}};
               }});
  // The count of pixels with a > eps (1e-5; |a| normalised by its maximum, by default).
  m.push_back({"effective-complexity", "complexity", "the number of pixels whose |a| exceeds 1e-5 of the maximum",
               "Nguyen & Martinez 2020", -1, false, false, [](const Input& in) {
                 double n = 0;
                 for (double v : prepared(in)) n += v > in.settings.real("eps");
                 return Score{n, {}};
               }});
  for (Metric& e : m) e.options = preprocessing(true, true);
  m.back().options.push_back(real_option("eps", 1e-5, 0, 1e9, "E", "the threshold a pixel's value must exceed"));
  return m;
}

}  // namespace gt::xai::quality
