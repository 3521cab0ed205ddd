// Models of a table's encoded rows (data/table.h), x (N, F):
//   mlp     dense_1 -> relu_1 -> dropout_1 -> ... -> dense_k -> relu_k -> dropout_k -> output
//           (widths o.hidden, dropout o.dropout; He-initialised by the trainer like every model)
//   linear  output alone: logistic regression (softmax over the classes) or, with one output,
//           linear regression
// The output has info.classes columns: the class logits, or one column for a regression target
// (standardised, as the table's schema says).
#include "nn/model.h"

namespace gt::nn {
namespace {

class Mlp : public Model {
 public:
  Mlp(const std::string& arch, const ModelOptions& o) {
    if (o.features < 1 || o.features > 1000000)
      throw Error(arch + ": a table model needs its input's column count (1 to 1000000), got " +
                  std::to_string(o.features) + " (gradtrace train --dataset csv:FILE makes one)");
    if (o.classes < 1) throw Error(arch + ": a table model needs its output count, got " + std::to_string(o.classes));
    if (arch == "linear" && !o.hidden.empty()) throw Error("linear: a linear model has no hidden layers");
    if (!(o.dropout >= 0 && o.dropout < 1)) throw Error(arch + ": dropout must be in [0, 1)");
    info.arch = arch;
    info.variant = "table";
    info.preprocessing = "none";
    info.resize = "squash";
    info.labels = "none";
    info.classes = o.classes;
    info.features = o.features;
    info.channels = 1;
    info.input_h = 1;
    info.input_w = o.features;
    info.hidden = o.hidden;
    info.dropout = o.dropout;
    int64_t in = o.features;
    for (size_t k = 0; k < o.hidden.size(); ++k) {
      if (o.hidden[k] < 1 || o.hidden[k] > 100000)
        throw Error(arch + ": hidden layer width " + std::to_string(o.hidden[k]) + " is out of range (1 to 100000)");
      const std::string n = std::to_string(k + 1);
      blocks_.push_back({&add<Dense>("dense_" + n, in, o.hidden[k]), &add<Dropout>("dropout_" + n, o.dropout)});
      in = o.hidden[k];
    }
    out_ = &add<Dense>("output", in, o.classes);
    // Grad-CAM has no feature map here; the last hidden layer is where layer methods look by default.
    info.gradcam_layer = blocks_.empty() ? "output" : "relu_" + std::to_string(blocks_.size());
  }

  Tensor forward(const Tensor& x) override {
    if (x.ndim() != 2 || x.dim(1) != info.features)
      throw Error(info.arch + ": the input must be (N, " + std::to_string(info.features) + ") encoded rows, got " +
                  x.shape().str());
    Tensor h = x;
    for (size_t k = 0; k < blocks_.size(); ++k)
      h = (*blocks_[k].dropout)(relu("relu_" + std::to_string(k + 1), (*blocks_[k].dense)(h)));
    return (*out_)(h);
  }

 private:
  struct Block {
    Dense* dense;
    Dropout* dropout;
  };
  std::vector<Block> blocks_;
  Dense* out_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_mlp(const std::string& arch, const ModelOptions& o) {
  return std::make_unique<Mlp>(arch, o);
}

}  // namespace gt::nn
