// Randomisation: does the map change when the model does? A map that survives the model's weights
// being replaced by random ones does not explain what the model learnt (Adebayo et al. 2018).
#include <cmath>

#include "nn/init.h"
#include "xai/compare.h"
#include "xai/quality.h"

namespace gt::xai::quality {
namespace {

// The model's parameters as they were, put back when this goes out of scope (the metric randomises
// the model in place; the next method and item need it whole).
class Restore {
 public:
  explicit Restore(nn::Model& m) : m_(m) {
    for (auto& [name, t] : m.named_parameters()) saved_.push_back({t, *t});
  }
  ~Restore() {
    for (auto& [p, t] : saved_) *p = t;
    m_.parameters_changed();
  }
  Restore(const Restore&) = delete;
  Restore& operator=(const Restore&) = delete;

 private:
  nn::Model& m_;
  std::vector<std::pair<Tensor*, Tensor>> saved_;
};

// MPRT, the cascading model-parameter randomisation test: from the top layer down, each layer's
// parameters are re-initialised (as for training: He-uniform convs, PyTorch's default dense layers,
// batch norms to the identity; Quantus calls each module's reset_parameters), keeping the layers
// above random, and the method explains the item again. The curve is the Spearman rank correlation
// of each new map with the original, layer by layer (|a| normalised, as Quantus's defaults); the
// value their mean. A method that passes the test falls towards 0; one near 1 throughout ignores the
// weights. Seeds: the item's stream, one per layer.
Score mprt(const Input& in) {
  nn::Model& model = *in.subject.model;
  const Restore restore(model);
  std::vector<nn::Layer*> layers;
  for (auto& l : model.layers())
    if (!l->named_parameters().empty()) layers.push_back(l.get());
  const auto as_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  const std::vector<float> original = as_float(prepared(in));
  Score r;
  uint64_t k = 0;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (!nn::init_layer(**it, nn::mix(in.seed, 7, ++k))) continue;
    model.parameters_changed();
    const MethodResult e = explain(in.method, in.subject, in.target, in.options);
    const std::vector<double> again =
        prepare(e.map, in.settings.integer("abs") != 0, in.settings.integer("normalise") != 0);
    r.curve.push_back(compare_maps(original, as_float(again)).spearman);
  }
  double sum = 0;
  for (double v : r.curve) sum += v;
  r.value = r.curve.empty() ? NAN : sum / double(r.curve.size());
  return r;
}

}  // namespace

std::vector<Metric> randomisation_metrics() {
  Metric m{"mprt",
           "randomisation",
           "rank correlation with the original map as the layers are randomised from the top (the curve)",
           "Adebayo et al. 2018",
           -1,
           false,
           true,
           mprt};
  m.options = preprocessing(true, true);
  return {m};
}

}  // namespace gt::xai::quality
