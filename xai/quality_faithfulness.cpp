// Faithfulness: does the model's output follow the map? Change the pixels the map ranks high and the
// output should move most.
#include <cmath>

#include "xai/quality.h"

namespace gt::xai::quality {

std::vector<Metric> faithfulness_metrics() {
  std::vector<Metric> m;
  // RISE's curves, as `gradtrace metrics` draws them (xai/metrics.h): 50 steps.
  m.push_back({"deletion", "faithfulness", "AUC of p(target) as the top pixels turn black", "Petsiuk et al. 2018", -1,
               false, false, [](const Input& in) {
                 FaithfulnessOptions o;
                 o.batch = in.batch;
                 const Curve c =
                     xai::deletion(in.subject.fn, in.subject.x, in.subject.pixel_fill(0), in.map, in.target.index, o);
                 return Score{c.auc, c.prob};
               }});
  m.push_back({"insertion", "faithfulness", "AUC of p(target) as the top pixels come back into a blurred image",
               "Petsiuk et al. 2018", 1, false, false, [](const Input& in) {
                 FaithfulnessOptions o;
                 o.batch = in.batch;
                 const Curve c =
                     xai::insertion(in.subject.fn, in.subject.x, in.subject.blurred(), in.map, in.target.index, o);
                 return Score{c.auc, c.prob};
               }});
  return m;
}

}  // namespace gt::xai::quality
