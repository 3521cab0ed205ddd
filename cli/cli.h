// Command-line plumbing shared by the subcommands: flag parsing and the usage-error type.
#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/table.h"
#include "nn/model.h"
#include "render/viz.h"
#include "xai/inspect.h"
#include "xai/method.h"
#include "xai/partial_dependence.h"
#include "xai/rule_list.h"
#include "xai/subject.h"

namespace gt::cli {

// A usage error: the CLI prints it with a hint to --help and exits with code 2. The library throws
// the same type (gt::InvalidArgument) for requests it cannot meet as asked.
using UsageError = InvalidArgument;

// Parses "--name value", "--name=value" and switches ("--help"). The switches are named up front so
// that a switch never swallows the next argument. Every option must be read (get/flag) before
// finish(), so an unknown or misspelt flag is an error and never silently ignored.
class Args {
 public:
  Args(int argc, char** argv, int first, const std::vector<std::string>& switches);
  // Declares an option taking a value; returns its value or the default.
  std::string get(const std::string& name, const std::string& def);
  long get_int(const std::string& name, long def, long lo, long hi);
  double get_double(const std::string& name, double def, double lo, double hi);
  bool flag(const std::string& name);  // a switch named in the constructor
  bool given(const std::string& name) const { return values_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }
  // Throws UsageError for any argument that no get()/flag() call declared.
  void finish() const;

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
  std::vector<std::string> positional_;
};

// The whole command line: argv[1] is the command. Returns the exit code (cli/dispatch.cpp).
int main(int argc, char** argv);
// Subcommands: argv[1] is the command's name.
int run_bench(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_edges(int argc, char** argv);
int run_classify(int argc, char** argv);
int run_layers(int argc, char** argv);
int run_convert(int argc, char** argv);
// The attribution methods: every method of the registry (xai/method.h) is a command.
int run_explain(int argc, char** argv);
// A usage error unless `model` is empty or a model gradtrace knows.
void check_model_flag(const std::string& model);
// gt::load_model (weights/load.h) onto the --device that apply_device read.
std::unique_ptr<nn::Model> load_model(const std::string& weights, const std::string& model);
// --target: "" (the top-1 class), "all" (when allow_all), a class index, or a class name (case
// insensitive; an unknown name suggests the closest ones). Usage errors list the valid choices.
xai::Target resolve_target(const std::string& s, const nn::ModelInfo& info, int64_t top1, bool allow_all);
// xai::load_subject on the --device that apply_device read.
xai::Subject load_subject(const std::string& weights, const std::string& model, const std::string& image,
                          const std::string& resize);
// The progress line of a method on stderr ("ig: 30/50 points"), or none for a one-pass method.
xai::Progress method_progress(const xai::Method& m);
// How a method's map is best normalised for display: CAM maps are smooth and non-negative, and
// min-max shows them as the paper does; gradient maps have a few extreme pixels, which percentile
// clipping keeps from darkening the rest; signed maps are symmetric around 0.
viz::Norm default_norm(const xai::Method& m, bool signed_map);
int run_counterfactual(int argc, char** argv);
int run_metrics(int argc, char** argv);
int run_evaluate(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_report(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_permutation_importance(int argc, char** argv);
int run_pdp(int argc, char** argv);
int run_ale(int argc, char** argv);
int run_anchors(int argc, char** argv);
int run_rules(int argc, char** argv);
// report --dataset csv:FILE: the table report (cli/cmd_table_report.cpp).
int run_table_report(int argc, char** argv);
// A 1-D partial dependence (cli/cmd_pdp.cpp): its first output over up to 50 rows' ICE curves, with
// the rows' values as a rug.
Image pdp_ice_chart(const xai::PdpResult& r, const xai::TableRows& tr, int64_t feature, const std::string& title);
// A rule list (cli/cmd_rules.cpp) as printed, one rule a line ("  IF ... THEN p(>50K) = 0.45 (support
// 8,110)"), and drawn.
std::string rule_list_text(const xai::RuleList& l, const std::vector<std::string>& classes);
// A table model's classes (its argmax) for rows of t, and the share of those rows on which a rule
// list predicts `want`.
std::vector<int32_t> model_classes(nn::Model& m, const data::Table& t, const std::vector<int64_t>& rows);
double rule_agreement(const xai::RuleList& l, const data::Table& t, const std::vector<int64_t>& rows,
                      const std::vector<int32_t>& want);
Image rule_list_chart(const xai::RuleList& l, const std::vector<std::string>& classes, const std::string& title);
// saliency, gradxinput and ig given --row or --csv-row: a table model's row (cli/cmd_table_explain.cpp).
bool is_table_explain(int argc, char** argv);
int run_table_explain(int argc, char** argv);
int run_inspect(int argc, char** argv);
// inspect --json: the model, the target and every node `keep` accepts (all when keep is empty), with
// its activation and gradient statistics. NaN and Inf become null (JSON has no such numbers).
std::string inspect_json(const xai::Inspection& r, const std::string& arch, int64_t target,
                         const std::function<bool(const std::string&)>& keep);
int run_gradcheck(int argc, char** argv);
int run_graph(int argc, char** argv);
// Usage errors for a colormap gradtrace does not have (listing those it has) and a --resize mode
// other than squash or crop ("" = the weights' default is fine).
void check_colormap(const std::string& cmap);
void check_resize(const std::string& resize);
std::string html_escape(const std::string& s);
// "a,b,,c" -> {a, b, c} (empty items dropped), and back with commas: a --methods LIST and the like.
std::vector<std::string> comma_list(const std::string& s);
std::string comma_join(const std::vector<std::string>& v);
// The indices of the k largest probabilities (fewer when there are fewer classes), best first.
std::vector<int64_t> top_classes(const std::vector<float>& probs, size_t k);
// Per pixel of two (1,C,H,W) pictures, the sum over channels of |after - before|.
std::vector<float> pixel_change(const Tensor& before, const Tensor& after);
// "1x32x28x28": a shape as the tables and graphs print it.
std::string dims(const Shape& s);
// A usage error, before any work, when the folder an output file goes into does not exist.
void check_out_folder(const std::string& flag, const std::string& path);
// A command's picture: the panels side by side, under a title and over their names (viz::captioned),
// or bare when `caption` is false (--no-caption).
Image figure(const std::vector<Image>& panels, const std::string& title, const std::vector<std::string>& names,
             bool caption);
// "Egyptian cat (p = 0.677)": a class as a caption names it.
std::string class_caption(const nn::ModelInfo& info, int64_t k, double p);
// Writes a text file atomically (a temporary file in the same folder, then a rename).
void write_text_file(const std::string& path, const std::string& text);
// The valid model-input range of each channel: pixel values 0 and 255 through the preprocessing,
// as (1,C,1,1) tensors (the counterfactual's box constraint).
void input_bounds(const nn::ModelInfo& info, Tensor& lo, Tensor& hi);
// Applies --threads N (0 = all cores) to OpenMP and Eigen; returns the count in effect.
int apply_threads(Args& a);
// Reads --device cpu|cuda: load_model puts the models it loads there. For cuda it checks at once
// that a GPU is usable ("no CUDA device: ...", a runtime error) before any work starts.
Device apply_device(Args& a);
// Reads --precision float32|float64: load_model and load_subject then make the model (and the input)
// in that dtype, so that the forward pass and the tape run in it; raw outputs are written in it.
DType apply_precision(Args& a);
DType precision();  // what apply_precision read (float32 before)
// Reads --weights and what an imported model's file does not say (--preprocess, --size, --labels:
// GT_FLAG_WEIGHTS), for load_model and load_subject. Returns the --weights value.
std::string weights_flag(Args& a);
// --preprocess, --size, --labels alone (train --from reads them for its model).
ImportOptions import_flags(Args& a);
// A table model's input row (cli/table_input.cpp): --dataset csv:FILE --row K, or --csv-row "v1,...".
struct RowFlags {
  std::string dataset, csv_row;
  long row = -1;
  bool given() const { return row >= 0 || !csv_row.empty(); }
};
RowFlags row_flags(Args& a);
// Usage errors for an image flag given to a table model, or a row flag to an image model.
void check_input_kind(const nn::ModelInfo& info, const std::string& image, const RowFlags& rf);
// The row the flags name, encoded by the model's schema; a category unseen in training is a warning.
data::TableRow load_row(const nn::ModelInfo& info, const RowFlags& rf);
// A table classifier's class probabilities for the row (no tape).
std::vector<double> row_probabilities(nn::Model& m, const data::TableRow& row);
// The schema a table model carries (data/table.h).
data::TableSchema table_schema(const nn::ModelInfo& info);
// --split test|val|train|all (default test), and the table --dataset csv:FILE names read with the
// model's schema; its rows of that split (on a file other than the training run's: all of them).
std::string split_flag(Args& a);
data::Table load_table(const nn::ModelInfo& info, const std::string& dataset);
std::vector<int64_t> split_rows(const data::Table& t, const std::string& split);
data::Dataset table_split(const data::Table& t, const std::string& split);
// The training rows of t (all its rows when it has no split), `count` of them drawn from the seed (0: all).
xai::TableRows sample_training_rows(const data::Table& t, long count, uint64_t seed);
// A per-feature value spread evenly over its encoded columns (a category's one-hot columns).
std::vector<double> spread_over_columns(const data::TableSchema& s, const std::vector<double>& per_feature);
// A global table method's input: the model (which must be a table model: else a usage error naming
// `command`), --dataset read with its schema, and the rows of --split, at most max_rows (0: all).
struct TableInput {
  std::unique_ptr<nn::Model> model;
  data::Table table;
  std::vector<int64_t> rows;
};
TableInput load_table_input(const std::string& weights, const std::string& dataset, const std::string& split,
                            long max_rows, const std::string& command);

// Back to cpu, float32 and no import options: each run of main() starts from them (tests run several
// in one process).
void reset_run_settings();

// The flags that many commands share, each described once: commands put these into their help text.
#define GT_FLAG_WEIGHTS                                                                                      \
  "  --weights FILE   the model: ONNX .onnx, TF Lite .tflite, Keras .h5, or gradtrace's .h5 (default: the\n" \
  "                   embedded fashion_cnn); random:ARCH[:SEED], the architecture with fresh weights (a\n"   \
  "                   sanity check: a map that looks the same on it does not explain the training)\n"        \
  "  --preprocess P   for an .onnx: how its input is scaled: torch, tf (-1..1), caffe, unit (0..1),\n"       \
  "                   gray or none (default for a 1000-class ImageNet model: torch)\n"                       \
  "  --size N         for an .onnx with a dynamic height and width: the input size\n"                        \
  "  --labels FILE    for an .onnx: the class names, one per line\n"
#define GT_FLAG_MODEL "  --model NAME     the architecture; may be left out, the weights file identifies it\n"
#define GT_FLAG_RESIZE \
  "  --resize MODE    squash (the whole image) or crop (the centre); default: as the weights' origin\n"
#define GT_FLAG_ROW                                                                                       \
  "  --dataset csv:FILE --row K   a table model's input: row K of the file (0-based, as pandas counts)\n" \
  "  --csv-row \"v1,v2,...\"       or a row pasted: the file's columns, or the model's features, in order\n"
#define GT_FLAG_CAPTION "  --no-caption     the PNG without its title and panel names\n"
#define GT_FLAG_THREADS "  --threads N      threads (default: all cores)\n"
#define GT_FLAG_DEVICE "  --device D       cpu or cuda (default: cpu)\n"
#define GT_FLAG_PRECISION                                                                             \
  "  --precision P    float32 or float64: float64 runs the model and the tape in double, for exact\n" \
  "                   teaching numbers; raw outputs are then float64 (default float32)\n"

}  // namespace gt::cli
