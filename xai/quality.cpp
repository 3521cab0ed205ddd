#include "xai/quality.h"

#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace gt::xai::quality {

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = [] {
    std::vector<Metric> m;
    for (auto family : {faithfulness_metrics, robustness_metrics, complexity_metrics, randomisation_metrics,
                        axiomatic_metrics, localisation_metrics})
      for (Metric& e : family()) m.push_back(std::move(e));
    return m;
  }();
  return all;
}

const Metric& find(const std::string& name) {
  for (const Metric& m : metrics())
    if (m.name == name) return m;
  std::string known;
  for (const Metric& m : metrics()) known += (known.empty() ? "" : ", ") + m.name;
  throw InvalidArgument("unknown metric '" + name + "' (known: " + known + ")");
}

Options metric_options(const Metric& m, const std::vector<std::string>& settings) {
  Method spec;
  spec.name = m.name;
  spec.options = m.options;
  Options o = default_options(spec);
  for (const std::string& kv : settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) throw InvalidArgument("--set " + m.name + "." + kv + ": expected KEY=VALUE");
    set_option(spec, o, kv.substr(0, eq), kv.substr(eq + 1));
  }
  return o;
}

std::vector<double> copies_scores(const Input& in, int64_t count, const std::function<void(int64_t, double*)>& make,
                                  bool softmax) {
  std::vector<double> out(static_cast<size_t>(count));
  score_copies(in.subject.fn, in.subject.x, count, in.batch, make, [&](int64_t k0, const Tensor& logits) {
    NoGradGuard no_grad;
    const std::vector<double> v = row_scores(softmax ? ops::softmax(logits) : logits, Target{in.target.index, false});
    std::copy(v.begin(), v.end(), out.begin() + k0);
  });
  return out;
}

Explainer method_explainer(const Method& m, const Options& o, Subject& s) {
  return [&m, o, &s](const Tensor& x, int64_t target) {
    struct Swap {  // the item's own input back however the method returns
      Subject& s;
      Tensor x0;
      ~Swap() { s.x = x0; }
    } swap{s, s.x};
    s.x = x.to(s.model->dtype()).to(s.model->device());
    return explain(m, s, Target{target, false}, o).map;
  };
}

Restore::Restore(nn::Model& m, const std::vector<Tensor*>& which) : m_(m) {
  if (which.empty())
    for (auto& [name, t] : m.named_parameters()) saved_.push_back({t, *t});
  for (Tensor* t : which) saved_.push_back({t, *t});
}

Restore::~Restore() {
  for (auto& [p, t] : saved_) *p = t;
  m_.parameters_changed();
}

Tensor item_like(const Tensor& x, const std::vector<double>& v) {
  return Tensor::from_vector(x.shape(), v, x.dtype()).to(x.device());
}

double black_value(const Tensor& x) {
  const std::vector<double> v = x.to_vector_f64();
  return *std::min_element(v.begin(), v.end());
}

std::vector<OptionSpec> preprocessing(bool abs, bool normalise) {
  return {int_option("abs", abs, 0, 1, "0|1", "score |a| instead of a"),
          int_option("normalise", normalise, 0, 1, "0|1", "divide the map by its largest |a| first")};
}

std::vector<double> prepared(const Input& in) { return prepared(in, in.map); }

std::vector<double> prepared(const Input& in, const std::vector<float>& map) {
  std::vector<double> a(map.begin(), map.end());
  if (in.settings.integer("abs") != 0)
    for (double& v : a) v = std::fabs(v);
  if (in.settings.integer("normalise") != 0) {
    double m = 0;
    for (double v : a) m = std::max(m, std::fabs(v));
    if (m > 0)
      for (double& v : a) v /= m;
  }
  return a;
}

std::vector<double> class_scores(const Subject& s, const Tensor& x, int64_t t, bool softmax) {
  NoGradGuard no_grad;
  const Tensor y = s.fn(x);
  return row_scores(softmax ? ops::softmax(y) : y, Target{t, false});
}

}  // namespace gt::xai::quality
