// Localisation: does the map point at the object? Each metric compares the map with the item's mask
// s (1 inside the object).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "xai/quality.h"

namespace gt::xai::quality {
namespace {
void check_mask(const Input& in) {
  if (in.mask.size() != in.map.size())
    throw Error("localisation: the mask has " + std::to_string(in.mask.size()) + " pixels, the map " +
                std::to_string(in.map.size()));
}
// The k largest values' indices (np.argsort(-a)[:k]).
std::vector<int64_t> top_k(const std::vector<double>& a, int64_t k) {
  std::vector<int64_t> order = importance_order(a);
  order.resize(size_t(std::min<int64_t>(k, int64_t(order.size()))));
  return order;
}
// The area under the ROC curve of the map as a score for the mask: the chance that a random pixel of
// the object scores above a random pixel outside it, ties counted half (as sklearn's roc_curve + auc).
double roc_auc(const std::vector<double>& a, const std::vector<uint8_t>& s) {
  std::vector<int64_t> order(a.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[size_t(i)] < a[size_t(j)]; });
  double pos = 0, neg = 0, rank_sum = 0;
  for (size_t r = 0; r < order.size();) {  // average ranks over ties
    size_t e = r;
    while (e < order.size() && a[size_t(order[e])] == a[size_t(order[r])]) ++e;
    const double mid = 0.5 * double(r + 1 + e);
    for (size_t q = r; q < e; ++q)
      if (s[size_t(order[q])]) rank_sum += mid;
    r = e;
  }
  for (uint8_t v : s) (v ? pos : neg) += 1;
  if (pos == 0 || neg == 0) return NAN;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}
}  // namespace

std::vector<Metric> localisation_metrics() {
  std::vector<Metric> m;
  // 1 when the map's maximum (any of them, on ties) lies in the mask, else 0.
  m.push_back({"pointing-game", "localisation", "1 when the map's maximum lies on the object", "Zhang et al. 2018", 1,
               true, false, [](const Input& in) {
                 check_mask(in);
                 if (std::accumulate(in.mask.begin(), in.mask.end(), 0) == 0) return Score{};  // Quantus: True
                 const std::vector<double> a = prepared(in);
                 const double top = *std::max_element(a.begin(), a.end());
                 bool hit = false;
                 for (size_t i = 0; i < a.size(); ++i) hit |= a[i] == top && in.mask[i];
                 return Score{hit ? 1.0 : 0.0, {}};
               }});
  // sum of a inside the mask / sum of a.
  m.push_back({"relevance-mass-accuracy", "localisation", "the share of the map's mass on the object",
               "Arras et al. 2021", 1, true, false, [](const Input& in) {
                 check_mask(in);
                 const std::vector<double> a = prepared(in);
                 double inside = 0, total = 0;
                 for (size_t i = 0; i < a.size(); ++i) total += a[i], inside += in.mask[i] ? a[i] : 0;
                 return Score{inside / total, {}};
               }});
  // Of the K = |mask| highest pixels, the share on the object.
  m.push_back({"relevance-rank-accuracy", "localisation", "of the |mask| highest pixels, the share on the object",
               "Arras et al. 2021", 1, true, false, [](const Input& in) {
                 check_mask(in);
                 const int64_t k = std::accumulate(in.mask.begin(), in.mask.end(), int64_t(0));
                 if (k == 0) return Score{};
                 int64_t hits = 0;
                 for (int64_t i : top_k(prepared(in), k)) hits += in.mask[size_t(i)];
                 return Score{double(hits) / double(k), {}};
               }});
  // Of the k highest pixels (1000), the share on the object (divided by k, as Quantus does).
  m.push_back({"top-k-intersection", "localisation", "of the 1000 highest pixels, the share on the object",
               "Theiner et al. 2021", 1, true, false, [](const Input& in) {
                 check_mask(in);
                 const int64_t k = in.settings.integer("k");
                 int64_t hits = 0;
                 for (int64_t i : top_k(prepared(in), k)) hits += in.mask[size_t(i)];
                 return Score{double(hits) / double(k), {}};
               }});
  m.push_back({"auc", "localisation", "ROC AUC of the map as a detector of the object's pixels", "Fawcett 2006", 1,
               true, false, [](const Input& in) {
                 check_mask(in);
                 return Score{roc_auc(prepared(in), in.mask), {}};
               }});
  for (Metric& e : m) e.options = preprocessing(false, true);
  m[3].options.push_back(int_option("k", 1000, 1, 1 << 30, "K", "how many of the highest pixels"));
  return m;
}

}  // namespace gt::xai::quality
