// Keras layers as graph nodes (inside weights/keras_model.cpp's import). Each layer() call emits the
// nodes of one Keras layer on its input values and returns the value of its output.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/graph.h"

namespace gt {
namespace h5 {
class File;
}
namespace keras_import {

// A layer's variables by Keras name (kernel, bias, gamma, beta, moving_mean, ...), as stored.
using Vars = std::map<std::string, nn::HostValue>;
nn::HostValue read_var(const h5::File& f, const std::string& dataset);
// The variables a layer of class `cls` creates, in creation order (Keras 3 numbers them so).
std::vector<std::string> var_order(const std::string& cls, const nlohmann::json& cfg);
// A config number that must be an integer in [-2^40, 2^40] (a size, an axis, a node index); a float
// there, or one out of range, is a gt::Error (a cast would be undefined for a hostile 1e300).
int64_t int_of(const nlohmann::json& j);
// cfg[key] as int_of, or `def` where absent or null.
int64_t int_at(const nlohmann::json& cfg, const char* key, int64_t def);
// The layer classes layer() knows.
std::vector<std::string> supported_layers();

class LayerEmitter {
 public:
  // keras3: the file is Keras 3's (whose hard_sigmoid is relu6(x + 3) / 6, tf-keras' 0.2 x + 0.5).
  LayerEmitter(std::string source, bool keras3) : source_(std::move(source)), keras3_(keras3) {
    spec_.source = source_;
  }
  const std::string& source() const { return source_; }
  // A graph input from an InputLayer's (or a first layer's) batch shape; returns its value.
  int input(const nlohmann::json& cfg);
  int layer(const std::string& cls, const std::string& name, const nlohmann::json& cfg, const Vars& vars,
            const std::vector<int>& in);
  void output(int v) { spec_.outputs.push_back(v); }
  nn::GraphSpec finish();

 private:
  struct Ctx {  // one layer being emitted: its class, name, config, variables and inputs
    const std::string& cls;
    const std::string& name;
    const nlohmann::json& cfg;
    const Vars& vars;
    const std::vector<int>& in;
    int x, rank;                                                                  // the first input and its Keras rank
    const nn::HostValue& var(const LayerEmitter& e, const std::string& n) const;  // or fail naming it
  };
  int value(const std::string& name, int rank);
  int constant(const std::string& name, nn::HostValue h);
  // A node of op `op` named `name` on `in` (value ids), with attributes; its output has `rank`.
  int node(const std::string& op, const std::string& name, const std::vector<int>& in,
           std::map<std::string, nn::Attr> attrs, int rank);
  int activation(const std::string& fn, const std::string& name, int x, const nlohmann::json& cfg);
  int conv(Ctx& c, bool depthwise);
  int separable(Ctx& c);
  int dense(Ctx& c);
  int batch_norm(Ctx& c);
  int pool(Ctx& c, const std::string& cls);
  int merge(Ctx& c, const std::string& cls);
  int reshape(Ctx& c, const std::string& cls);
  int normalization(Ctx& c, const std::string& cls);
  int relu(Ctx& c, const std::string& cls);
  int zero_padding(Ctx& c);
  // A Keras axis of a rank-r value as ours (channels-last 4-D: -1 -> 1, 1 -> 2, 2 -> 3).
  int axis(const Ctx& c, int keras_axis, int rank) const;
  [[noreturn]] void fail(const Ctx& c, const std::string& why) const;

  std::string source_;
  bool keras3_;
  nn::GraphSpec spec_;
  std::vector<int> rank_;  // per value: its Keras rank
  std::map<std::string, int> names_;
};

}  // namespace keras_import
}  // namespace gt
