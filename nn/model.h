// Model: an image classifier built from named layers. The zoo (vgg, resnet, inception, mobilenet)
// subclasses it; each model writes its own forward, so the code reads like the architecture.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace gt::nn {

// What the commands need to know about a model; each architecture fills it in its constructor (describe).
struct ModelInfo {
  std::string arch;           // "mobilenet_v1"
  std::string variant;        // where the weights come from: keras | tflite | torch
  std::string preprocessing;  // caffe | tf | torch | none
  std::string labels;         // imagenet1000 | imagenet1001 | custom (class_names) | none
  std::string resize;         // squash | crop (how an image is brought to the input size)
  int64_t input_h = 224, input_w = 224, classes = 1000;
  int64_t channels = 3;                  // input channels (1 for a gray-scale model such as fashion_cnn)
  std::vector<std::string> class_names;  // the names of a custom label set (labels == "custom")
  double alpha = 1.0;                    // MobileNet width multiplier
  std::string gradcam_layer;             // the default layer for Grad-CAM (the last conv block)
  bool include_top = true;               // false: no classifier; forward returns the last feature map (Keras _notop)
  std::map<std::string, std::string> notes;  // per layer, a remark `gradtrace layers` prints (quantization)
  std::string source;  // an imported graph: the file it came from (gradtrace's format re-imports it)
  // A table model (mlp, linear): its input is (N, features) encoded rows, not an image; `table` is the
  // schema that encodes a CSV row (data/table.h, as JSON), `hidden` and `dropout` its architecture.
  int64_t features = 0;
  std::string table;
  std::vector<int64_t> hidden;
  double dropout = 0;
};

struct ModelOptions;

// Subclasses create their layers with add() in forward order and write forward().
class Model {
 public:
  virtual ~Model() = default;
  ModelInfo info;
  // Fuse conv -> batch norm -> ReLU into one node where nothing needs the intermediate outputs (see
  // conv_bn). Off: every layer records its own nodes, as a student inspecting the tape expects.
  bool fuse = true;
  // x (N, info.channels, H, W), preprocessed -> logits (N, classes); without a top (include_top
  // false) the last feature map instead. forward runs on the model's device; operator() takes x on
  // any device and returns the logits on x's, moving both ways on the tape (ops::to_device), so that
  // callers on the host (every xai/ method) run unchanged on a model on the GPU.
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);
  // Training mode on or off for every layer (batch norm's statistics, dropout), with the seed that
  // dropout draws its masks from. Models start in evaluation mode.
  void train(bool on, uint64_t seed = 0);
  bool training() const { return training_; }
  // Moves every parameter to device d (weights are uploaded once, here); the input must then be on d.
  // On the GPU the model gets a stream of its own: operator() queues its forward there, and the tape
  // its backward (autodiff/stream.h).
  void to(Device d);
  // Converts every parameter to dtype t (float64: the model runs, and its tape records, in double).
  void to(DType t);
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }  // the parameters' (as to(DType) last set it)
  // Drops what the model derived from its parameters (the folded batch norms): after parameters were
  // replaced in place (nn::init_layer, a restore).
  void parameters_changed() { folded_.clear(); }
  // Layers with parameters, in creation (= forward) order.
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  // The layer added under that name, or nullptr.
  Layer* find(const std::string& name) const;
  // Every parameter as "layer/name" (our weights format's dataset paths).
  std::vector<std::pair<std::string, Tensor*>> named_parameters();

 protected:
  template <class L, class... A>
  // Creates an L from args, keeps it (in creation order) and registers it by name for find().
  L& add(A&&... args) {
    layers_.push_back(std::make_unique<L>(std::forward<A>(args)...));
    by_name_[layers_.back()->name()] = layers_.back().get();
    return static_cast<L&>(*layers_.back());
  }
  // Fills `info` from the options: the torch variant gets torch preprocessing and crop resizing, the
  // others (keras, tflite) the given preprocessing and squash; 1001 classes mean the TF Lite label set.
  void describe(const std::string& arch, const ModelOptions& o, const std::string& preprocessing, int64_t default_size,
                int64_t default_classes, const std::string& gradcam_layer);
  // The classifier head shared by ResNet, Inception and MobileNetV2: global average pooling (in the
  // layer scope `pool`) and the dense layer `fc`; without a top (fc null) the features pass unchanged.
  static Tensor pool_and_classify(const Tensor& h, const char* pool, Dense* fc);
  // A batch norm that follows a conv: created with its name, applied by conv_bn.
  BatchNorm& add_bn(Conv2d& after, const std::string& name, int64_t channels, double eps) {
    return *(bn_of_[&after] = &add<BatchNorm>(name, channels, eps));
  }
  // act(bn(c(x))): the conv, its batch norm if add_bn gave it one, and the activation in the layer
  // scope act_layer. Recorded as one ops::conv2d_affine node (the batch norm folded into a per-channel
  // scale and shift, the activation applied as each output block is stored) when `fuse` is on, no
  // parameter requires a gradient and no tape hook looks at these layers; otherwise op by op.
  // With a residual (shaped as the output; only where fusable(c), act none or relu): act(bn(c(x)) +
  // residual), a residual block's end, as one node in act_layer (ops::conv2d_affine's residual).
  Tensor conv_bn(Conv2d& c, const Tensor& x, Act act = Act::none, const std::string& act_layer = "",
                 const Tensor& residual = Tensor());
  // Whether conv_bn records c as one fused node: `fuse` on, not training, no parameter requiring a
  // gradient and no tape hook on c or its batch norm.
  bool fusable(const Conv2d& c) const;
  // Applies an activation inside its own layer scope ("conv1_relu").
  static Tensor relu(const std::string& name, const Tensor& x);
  static Tensor relu6(const std::string& name, const Tensor& x);

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::map<std::string, Layer*> by_name_;
  std::map<const Conv2d*, BatchNorm*> bn_of_;
  BatchNorm* bn_of(const Conv2d& c) const;  // c's batch norm or null
  bool training_ = false;
  Device device_ = Device::cpu;
  DType dtype_ = DType::f32;
  StreamPtr stream_;  // nullptr on the CPU
  // conv_bn's folded scale and shift per conv, computed once (a GPU would otherwise wait for five
  // small copies per conv and pass). An entry is used while the tensors it was folded from are the
  // same tensors (a weights loader replaces them) in the same dtype; train() and to() clear them all,
  // as training changes the values in place.
  struct Folded {
    std::vector<const TensorImpl*> from;
    DType dtype = DType::f32;
    Tensor scale, shift;
  };
  std::map<const Conv2d*, Folded> folded_;
  const Folded& folded(Conv2d& c, BatchNorm* bn, DType dtype);
};

// One row of `gradtrace layers`: a layer name (every op's scope) with its output shape, in order.
struct LayerShape {
  std::string layer, op;
  Shape shape;
};
// Runs a zero input of the model's size through the model (no gradients) and records each layer's output.
std::vector<LayerShape> layer_shapes(Model& m);

// The zoo. Options a caller may set before building.
struct ModelOptions {
  double alpha = 1.0;      // width multiplier (MobileNet's alpha; narrow test models for the others)
  int64_t classes = 0;     // 0 = the architecture's default
  int64_t input_size = 0;  // 0 = the architecture's default
  int64_t channels = 0;    // input channels; 0 = the architecture's default (3; fashion_cnn: 1)
  // where the weights come from: keras | tflite | torch (torch: torch preprocessing, crop resizing)
  std::string variant = "keras";
  bool include_top = true;  // false: stop at the last feature map, as Keras' _notop files
  // Table models (mlp, linear): the encoded row width, the hidden layers' widths, dropout.
  int64_t features = 0;
  std::vector<int64_t> hidden;
  double dropout = 0;
};
// The image architectures make_model builds (the zoo and fashion_cnn).
std::vector<std::string> model_names();
// The table models make_model builds: mlp, linear (they need ModelOptions::features).
std::vector<std::string> table_model_names();
// Up to k of the candidates closest to query, for "did you mean" messages: those that contain it
// first, then by edit distance, case-insensitive.
std::vector<std::string> closest_names(const std::string& query, const std::vector<std::string>& candidates, size_t k);
// Throws gt::Error naming the known models unless `arch` is one of them.
void check_model_name(const std::string& arch);
// Throws for an unknown arch and for options out of range (alpha in [1/64, 4], at most 100000 classes,
// inputs of at most 4096 pixels and 64 channels): they may come from an untrusted file.
std::unique_ptr<Model> make_model(const std::string& arch, const ModelOptions& o = {});

}  // namespace gt::nn
