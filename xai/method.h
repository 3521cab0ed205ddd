// The explain-method registry. Each method is one entry: its name, summary and paper, its options
// (type, default, range, help: used for both --help and parsing), what kind of map it makes, what it
// costs, and its run function. The CLI's commands and help, report, metrics, compare, demo and the
// Python module are generated from it; a new method is one file in xai/ plus one line in
// xai/registry.cpp.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "xai/saliency.h"
#include "xai/subject.h"

namespace gt::xai {

// One option of a method, as --NAME VALUE (or --NAME alone for a switch).
struct OptionSpec {
  enum class Type { integer, real, text, flag };
  std::string name;  // without the dashes: "samples"
  Type type = Type::text;
  std::string def;        // the default as the user would type it ("25"); "" = none (a flag: off)
  double lo = 0, hi = 0;  // the inclusive range of an integer or a real
  std::string metavar;    // "N" in "--samples N"
  std::string help;       // what it does; "(default ...)" is added from def
  // A text option's own check (throws InvalidArgument): "mean, blur or a pixel value".
  std::function<void(const std::string&)> check;
};

// A method's option values by name, each checked against its spec when set.
class Options {
 public:
  long integer(const std::string& name) const;
  double real(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  bool flag(const std::string& name) const;
  // The raw text of a value; throws when the method has no such option.
  const std::string& raw(const std::string& name) const;
  void set_raw(const std::string& name, const std::string& value) { values_[name] = value; }

 private:
  std::map<std::string, std::string> values_;
};

// What one run gives: the attribution in model-input space (or a CAM), the map to show, and what the
// raw file and the user get.
struct MethodResult {
  Tensor attribution;                                       // (1,C,H,W); undefined for gradcam / gradcam++
  Tensor cam;                                               // (h,w) for the CAM methods
  std::vector<float> map;                                   // H*W, the picture's values
  std::vector<std::pair<std::string, double>> facts;        // scalars for the raw file (f_x, delta, ...)
  std::vector<std::pair<std::string, std::string>> labels;  // text attributes for the raw file
  std::vector<std::string> notes;                           // lines for the user (completeness, layer)
  std::string params;                                       // the parameters in one line
  std::vector<std::pair<std::string, Tensor>> datasets;     // more for the raw file (lime: segments, phi)
  std::vector<int32_t> segments;                            // H*W superpixel labels, outlined on the image
};

// How many forward/backward passes a method takes at its defaults: what `report` and the help say
// before a long run.
enum class Cost { one_pass, tens, hundreds };

using RunFn = std::function<MethodResult(Subject& s, const Target& t, const Options& o, const Progress& progress)>;

struct Method {
  std::string name;     // the command: "smoothgrad"
  std::string summary;  // one line: what the map shows
  std::string paper;    // "Smilkov et al. 2017"
  std::vector<OptionSpec> options;
  bool signed_map = false;     // signed by nature (bwr, symmetric): --signed and --reduce do not apply
  bool smooth_map = false;     // coarse and non-negative (CAM): min-max normalisation shows it best
  bool takes_layer = false;    // has a --layer option
  bool gradient_free = false;  // asks the network for scores only
  bool target_all = false;     // --target all (the sum of all logits) is meaningful
  Cost cost = Cost::one_pass;
  std::string progress_unit;  // what the progress line counts ("points"); "" = no progress
  // Optional: a line to print before the run ("integrated gradients: 50 points ...").
  std::function<std::string(const Options&)> intro;
  RunFn run;
};

// Every method, in help order: the built-in ones (xai/registry.cpp) and any added since.
const std::vector<Method>& methods();
// The method of that name; an InvalidArgument naming the closest ones when there is none.
const Method& find_method(const std::string& name);
bool is_method(const std::string& name);
// Adds a method (a test's, a plug-in's). Throws InvalidArgument when the name is taken.
void add_method(Method m);

// The method's options at their defaults.
Options default_options(const Method& m);
// Sets one option from text, checked against its spec (type, range, the spec's own check); errors
// are InvalidArgument and name the flag ("--samples must be an integer in [1, 100000], got 0").
void set_option(const Method& m, Options& o, const std::string& name, const std::string& value);
// The option lines of --help: "  --samples N      noisy copies (1 to 100000, default 25)".
std::string option_help(const Method& m);
const char* cost_name(Cost c);  // "one pass", "tens of passes", "hundreds of passes"

// How a (1,C,H,W) attribution becomes the H x W map (a method that makes its map itself ignores it).
struct MapOptions {
  ChannelReduce reduce = ChannelReduce::max_abs;
  bool signed_map = false;
};
// Runs a method on a subject and fills in the map. When the GPU runs out of memory in a method with
// a --batch option, the error says to try a smaller one.
MethodResult explain(const Method& m, Subject& s, const Target& t, const Options& o, const MapOptions& map = {},
                     const Progress& progress = {});

// Small helpers for the method files.
std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0);
OptionSpec int_option(const std::string& name, long def, long lo, long hi, const std::string& metavar,
                      const std::string& help);
OptionSpec real_option(const std::string& name, double def, double lo, double hi, const std::string& metavar,
                       const std::string& help);
OptionSpec text_option(const std::string& name, const std::string& def, const std::string& metavar,
                       const std::string& help, std::function<void(const std::string&)> check = {});
OptionSpec flag_option(const std::string& name, const std::string& help);
// A one-pass method without options whose attribution is f(model, x, target), --target all included
// (saliency, gradient times input, Guided Backprop).
Method attribution_entry(const std::string& name, const std::string& summary, const std::string& paper,
                         std::function<Tensor(const Model&, const Tensor&, const Target&)> f);
// --batch B (1 to 1024) and --seed S (0 to 2^62), which many methods share.
OptionSpec batch_option(long def, const std::string& what);
OptionSpec seed_option(const std::string& what);
// What Subject::baseline takes, for a --baseline help text (IG, DeepLIFT).
extern const char* const kBaselineNames;
// "f(x) = .., f(baseline) = .., sum(attribution) = .., completeness error .. (..% of |f(x) - f(baseline)|)":
// the line IG and DeepLIFT print; sum(attribution) = f_x - f_baseline + delta.
std::string completeness_note(double f_x, double f_baseline, double delta);

}  // namespace gt::xai
