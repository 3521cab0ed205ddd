// Imported graph models as classifiers (weights/import.h).
#include "weights/import.h"

#include <algorithm>
#include <filesystem>

#include "io/limits.h"

namespace gt {
namespace {

// One class name per line; trailing empty lines are dropped.
std::vector<std::string> read_labels(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path, uint64_t(64) << 20, "labels file " + path);
  std::vector<std::string> names;
  std::string line;
  for (uint8_t c : bytes) {
    if (c == '\n') {
      names.push_back(line);
      line.clear();
    } else if (c != '\r') {
      line += char(c);
    }
  }
  if (!line.empty()) names.push_back(line);
  while (!names.empty() && names.back().empty()) names.pop_back();
  if (names.empty()) throw Error("labels file " + path + " names no classes");
  return names;
}

// The input's (C, H, W), with o.size for a dynamic or any given height and width.
void describe_input(nn::GraphModel& g, const std::string& path, const ImportOptions& o) {
  const nn::GraphSpec& s = g.spec();
  if (s.inputs.size() != 1)
    throw Error(path + ": the model has " + std::to_string(s.inputs.size()) +
                " inputs; gradtrace explains models with one image input");
  const std::vector<int64_t>& d = s.input_dims[0];
  if (d.size() != 4)
    throw Error(path + ": the input '" + s.values[size_t(s.inputs[0])] + "' has " + std::to_string(d.size()) +
                " dimensions; an image model takes (N, C, H, W)");
  if (d[1] <= 0 || d[1] > 64)
    throw Error(path + ": the input's channel count is " + (d[1] < 0 ? "dynamic" : std::to_string(d[1])));
  if ((d[2] <= 0 || d[3] <= 0) && o.size <= 0)
    throw Error(path + ": the input's height and width are dynamic; give them with --size N");
  g.info.channels = d[1];
  g.info.input_h = o.size > 0 ? o.size : d[2];
  g.info.input_w = o.size > 0 ? o.size : d[3];
  if (g.info.input_h > 4096 || g.info.input_w > 4096) throw Error(path + ": an input over 4096 pixels a side");
}

}  // namespace

bool strip_final_softmax(nn::GraphSpec& s) {
  if (s.outputs.size() != 1) return false;
  // (through the identities after it: a quantized graph's final QUANTIZE)
  for (bool moved = true; moved;) {
    moved = false;
    for (const nn::GraphNode& n : s.nodes)
      if (n.op == "Identity" && n.outputs.size() == 1 && n.outputs[0] == s.outputs[0] && !n.inputs.empty()) {
        s.outputs[0] = n.inputs[0];
        moved = true;
      }
  }
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const nn::GraphNode& n = s.nodes[i];
    if (n.op != "Softmax" || n.outputs.size() != 1 || n.outputs[0] != s.outputs[0] || n.inputs.empty()) continue;
    bool read = false;  // by another node: then it stays, only the output moves
    for (const nn::GraphNode& m : s.nodes)
      read |= std::find(m.inputs.begin(), m.inputs.end(), n.outputs[0]) != m.inputs.end();
    s.outputs[0] = n.inputs[0];
    if (read) return true;
    const std::string name = n.name;
    s.nodes.erase(s.nodes.begin() + long(i));
    // Keras' Dense(..., activation='softmax') is "<layer>/preact" then "<layer>": the layer's name
    // goes to what is now its output.
    for (nn::GraphNode& m : s.nodes)
      if (!m.outputs.empty() && m.outputs[0] == s.outputs[0] && m.name == name + "/preact") m.name = name;
    return true;
  }
  return false;
}

std::unique_ptr<nn::Model> finish_import(std::unique_ptr<nn::GraphModel> g, const std::string& path,
                                         const std::string& arch, const ImportOptions& o, const std::string& preset,
                                         const std::string& imagenet_convention) {
  describe_input(*g, path, o);
  // A dry run names the output size and the last spatial layer (Grad-CAM's default).
  for (const nn::LayerShape& row : nn::layer_shapes(*g)) {
    // (a transpose's 4-D output is a layout change for Flatten or Reshape, not a feature map)
    if (row.shape.ndim() == 4 && row.shape[2] * row.shape[3] > 1 && row.op != "transpose")
      g->info.gradcam_layer = row.layer;
    g->info.classes = row.shape.ndim() == 2 ? row.shape[1] : 0;
  }
  nn::ModelInfo& info = g->info;
  info.arch = arch;
  std::error_code ec;
  info.source = std::filesystem::absolute(path, ec).string();
  info.variant = path.substr(path.find_last_of('/') + 1);  // the file: "cnn.keras"
  if (info.classes <= 0) throw Error(path + ": the model's output is not (N, classes) logits");
  // ImageNet classifiers: the one case where the framework's convention can be assumed.
  const bool imagenet = info.channels == 3 && (info.classes == 1000 || info.classes == 1001) && info.input_h >= 160 &&
                        info.input_h <= 600 && !imagenet_convention.empty();
  if (o.preprocess.empty() && preset.empty() && !imagenet)
    throw Error(path +
                ": the file does not say how the input is scaled; give it with --preprocess torch|tf|caffe|"
                "unit|gray|none");
  info.preprocessing = !o.preprocess.empty() ? o.preprocess : !preset.empty() ? preset : imagenet_convention;
  if (info.channels == 1) {  // the picture's luminance, as it is (none) or in 0..1 (unit)
    if (info.preprocessing != "none" && info.preprocessing != "unit" && info.preprocessing != "gray")
      throw Error(path + ": a one-channel model takes --preprocess none (0..255) or unit (0..1), not " +
                  info.preprocessing);
    info.preprocessing = info.preprocessing == "none" ? "gray255" : "gray";
  } else if (info.channels != 3) {
    throw Error(path + ": a " + std::to_string(info.channels) + "-channel input (images have 1 or 3)");
  } else if (info.preprocessing == "gray") {
    throw Error(path + ": --preprocess gray is for one-channel models");
  }
  info.resize = info.preprocessing == "torch" ? "crop" : "squash";
  info.labels = info.channels != 3     ? "none"
                : info.classes == 1000 ? "imagenet1000"
                : info.classes == 1001 ? "imagenet1001"
                                       : "none";
  if (!o.labels.empty()) {
    info.class_names = read_labels(o.labels);
    if (int64_t(info.class_names.size()) != info.classes)
      throw Error("labels file " + o.labels + " names " + std::to_string(info.class_names.size()) +
                  " classes; the model has " + std::to_string(info.classes));
    info.labels = "custom";
  }
  return g;
}

}  // namespace gt
