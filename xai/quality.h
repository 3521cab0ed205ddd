// The explanation-quality metric registry (`gradtrace evaluate`): Quantus's metrics, one entry each,
// with Quantus 0.6's defaults and definitions (Hedström et al. 2023, "Quantus: An Explainable AI
// Toolkit for Responsible Evaluation of Neural Network Explanations and Beyond"). Each scores one
// item's map: faithfulness (does the model's output follow the map?), robustness (does the map stay
// put when the input barely moves?), complexity (is the map concentrated?), randomisation (does the
// map change when the model does?), axiomatic (completeness, input invariance) and localisation
// (does the map point at the object's mask?). A new metric is one entry in the family's file plus one
// line in quality.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "xai/method.h"

namespace gt::xai::quality {

// One item as a metric sees it.
// The method that made the map, run again: its map (H*W, unprepared, as Input::map) of input x (x's
// shape, model-input space) for class t, on the model as it is at the call (robustness, randomisation).
using Explainer = std::function<std::vector<float>(const Tensor& x, int64_t t)>;

struct Input {
  Subject& subject;  // the model and the item's input x (1,C,H,W); a table row as (1,1,1,columns)
  Target target;
  Explainer explain;
  const Options& settings;    // the metric's own options (Metric::options), at their defaults unless set
  std::vector<float> map;     // H*W, the method's map as it shows it (the attribution the metric scores)
  Tensor attribution;         // (1,C,H,W) in model-input space; undefined for a CAM (completeness: NaN)
  std::vector<uint8_t> mask;  // H*W, 1 inside the object (localisation); empty without --masks
  uint64_t seed = 0;          // the item's, method's and metric's own: a stochastic metric draws from it
  int batch = 16;             // perturbed copies per forward pass
};

struct Score {
  double value = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> curve;      // a curve metric's points (pixel flipping, MPRT's layers); else empty
  std::vector<double> kept = {};  // a set metric's: what its set step needs of the item (value stays NaN)
};

struct Metric {
  std::string name;     // "pixel-flipping"
  std::string family;   // faithfulness, robustness, complexity, randomisation, axiomatic, localisation
  std::string summary;  // one line: what it measures
  std::string paper;    // "Bach et al. 2015"
  int better = 1;       // +1: higher is better, -1: lower is better, 0: neither (a correlation to read)
  bool needs_mask = false;
  bool stochastic = false;  // draws random numbers (from Input::seed)
  std::function<Score(const Input&)> run;
  std::vector<OptionSpec> options = {};  // its parameters, Quantus's defaults (evaluate --set NAME.KEY=V)
  bool pictures_only = false;            // needs a picture: a blurred or black image, neighbours, patches
  // A metric of a set of items (sufficiency): run() keeps what the set needs of each item (Score::kept),
  // and this scores every item of a set (Options "set" items, consecutive) from their kept vectors.
  std::function<std::vector<double>(const std::vector<std::vector<double>>& kept, const Options&)> over_set = {};
};

// Every metric, by family.
const std::vector<Metric>& metrics();
// The metric of that name; an InvalidArgument listing the known ones when there is none.
const Metric& find(const std::string& name);

// The metric's options at their defaults, then "KEY=V" settings applied (InvalidArgument on unknown
// keys or bad values, naming the metric).
Options metric_options(const Metric& m, const std::vector<std::string>& settings = {});

// ---- shared by the metric files ----
// The abs and normalise options every metric has (0 or 1), at Quantus's defaults for it, and the map
// prepared as they say.
std::vector<OptionSpec> preprocessing(bool abs, bool normalise);
// Quantus's preprocessing of the item's map: |a| when abs, then a / max|a| when normalise
// (normalise_by_max; an all-zero map stays zero).
std::vector<double> prepared(const Input& in);
// Another map of the item (an Explainer's) prepared as the metric's settings say.
std::vector<double> prepared(const Input& in, const std::vector<float>& map);
// The model's output for class t on a batch of inputs (N,C,H,W): softmax probabilities or logits.
std::vector<double> class_scores(const Subject& s, const Tensor& x, int64_t t, bool softmax);
// The softmax probability (or logit) of class t on `count` copies of the item's x made by make(k, img)
// (xai::score_copies, Input::batch at a time).
std::vector<double> copies_scores(const Input& in, int64_t count, const std::function<void(int64_t, double*)>& make,
                                  bool softmax = true);
// An image method's Explainer: the subject's input is swapped for x during the call and put back
// after (its pixels stay: LRP's box bounds and LIME's superpixels come from the item's picture).
Explainer method_explainer(const Method& m, const Options& o, Subject& s);
// Parameters of the model as they were, put back when this goes out of scope (MPRT randomises the
// layers in place, input invariance shifts a bias; the next method and item need the model whole).
// Either every parameter, or the tensors named (one that is undefined, as a conv without a bias, comes
// back undefined).
class Restore {
 public:
  explicit Restore(nn::Model& m, const std::vector<Tensor*>& which = {});
  ~Restore();
  Restore(const Restore&) = delete;
  Restore& operator=(const Restore&) = delete;

 private:
  nn::Model& m_;
  std::vector<std::pair<Tensor*, Tensor>> saved_;
};
// Values in x's layout as a tensor of x's shape, dtype and device.
Tensor item_like(const Tensor& x, const std::vector<double>& v);
// ROAD's noisy linear imputation (quality_road.cpp): the removed pixels (row-major indices in H*W) of
// img (C,H,W) filled in, in all channels, from their neighbours by one sparse linear system, then
// N(0, noise^2) added to each filled value from rng.
void noisy_linear_imputation(std::vector<double>& img, int64_t C, int64_t H, int64_t W,
                             const std::vector<int64_t>& removed, double noise, std::mt19937_64& rng);
// Quantus's "black": the smallest value of x (all channels), per item.
double black_value(const Tensor& x);

// The families' entries (each file's).
std::vector<Metric> faithfulness_metrics();
std::vector<Metric> complexity_metrics();
std::vector<Metric> localisation_metrics();
std::vector<Metric> axiomatic_metrics();
std::vector<Metric> randomisation_metrics();
std::vector<Metric> robustness_metrics();
Metric road_metric();         // faithfulness, in its own file with its imputation
Metric sufficiency_metric();  // faithfulness, a metric of a set of items

}  // namespace gt::xai::quality
