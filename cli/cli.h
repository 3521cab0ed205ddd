// Command-line plumbing shared by the subcommands: flag parsing and the usage-error type.
#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/model.h"
#include "xai/saliency.h"

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

// Subcommands: argv[1] is the command's name.
int run_bench(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_edges(int argc, char** argv);
int run_classify(int argc, char** argv);
int run_layers(int argc, char** argv);
int run_convert(int argc, char** argv);
// The attribution methods: saliency, gradxinput, smoothgrad, ig, gradcam, gradcam++, guided-backprop,
// guided-gradcam, occlusion, lime, kernelshap (cli/cmd_explain.cpp).
bool is_explain_command(const std::string& cmd);
std::vector<std::string> method_names();  // the same commands, in help order
int run_explain(int argc, char** argv);
// A usage error unless `model` is empty or a model gradtrace knows.
void check_model_flag(const std::string& model);
// Loads a weights file (.tflite today) into its model; when `model` is not empty it must match.
std::unique_ptr<nn::Model> load_model(const std::string& weights, const std::string& model);
// --image as pixels (1,3,H,W) in [0,255] at the model's input size: a picture (resized as --resize
// says, "" = the model's default) or fashion-mnist:SPLIT:K, whose label goes to true_label.
Tensor load_pixels(const std::string& image, const nn::ModelInfo& info, const std::string& resize,
                   std::string* true_label = nullptr);
// --target: "" (the top-1 class), "all" (when allow_all), a class index, or a class name (case
// insensitive; an unknown name suggests the closest ones). Usage errors list the valid choices.
xai::Target resolve_target(const std::string& s, const nn::ModelInfo& info, int64_t top1, bool allow_all);
int run_counterfactual(int argc, char** argv);
int run_metrics(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_report(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_inspect(int argc, char** argv);
int run_gradcheck(int argc, char** argv);
int run_graph(int argc, char** argv);
// Usage errors for a colormap gradtrace does not have (listing those it has) and a --resize mode
// other than squash or crop ("" = the weights' default is fine).
void check_colormap(const std::string& cmap);
void check_resize(const std::string& resize);
std::string html_escape(const std::string& s);
// The indices of the k largest probabilities (fewer when there are fewer classes), best first.
std::vector<int64_t> top_classes(const std::vector<float>& probs, size_t k);
// Per pixel of two (1,C,H,W) pictures, the sum over channels of |after - before|.
std::vector<float> pixel_change(const Tensor& before, const Tensor& after);
// "1x32x28x28": a shape as the tables and graphs print it.
std::string dims(const Shape& s);
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

}  // namespace gt::cli
