// Keras config JSON -> nn::GraphSpec: each Keras layer becomes one or a few ONNX-typed nodes, the
// last of which carries the layer's name (so `gradcam --layer conv2d` means the layer's output, after
// its activation, as in Keras). 4-D values are NHWC in Keras and NCHW here; keras_layers.cpp emits
// the nodes, this file walks Sequential and Functional configs (nested models inlined) and finds each
// layer's variables.
#include "weights/keras_model.h"

#include <nlohmann/json.hpp>

#include "io/hdf5.h"
#include "weights/keras_layers.h"

namespace gt::keras_import {

using json = nlohmann::json;

namespace {

// Keras' naming.to_snake_case: "BatchNormalization" -> "batch_normalization", "ReLU" -> "re_lu".
std::string snake_case(const std::string& name) {
  std::string a;  // "(.)([A-Z][a-z]+)" -> "\1_\2"
  for (size_t i = 0; i < name.size(); ++i) {
    const bool upper = std::isupper(static_cast<unsigned char>(name[i]));
    if (i > 0 && upper && i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1]))) a += '_';
    a += name[i];
  }
  std::string b;  // "([a-z])([A-Z])" -> "\1_\2", then lower case
  for (size_t i = 0; i < a.size(); ++i) {
    if (i > 0 && std::isupper(static_cast<unsigned char>(a[i])) && std::islower(static_cast<unsigned char>(a[i - 1])))
      b += '_';
    b += char(std::tolower(static_cast<unsigned char>(a[i])));
  }
  return b;
}

// "[layer, node, tensor]" references in a Keras 3 node's args (any nesting) or a tf-keras node list.
void tensor_refs(const json& j, std::vector<std::pair<std::string, int>>& out) {
  if (j.is_object()) {
    if (j.value("class_name", "") == "__keras_tensor__") {
      const json& h = j.at("config").at("keras_history");
      out.push_back({h.at(0).get<std::string>(), int(int_of(h.at(1)))});
      return;
    }
    for (const auto& [k, v] : j.items())
      if (k == "args") tensor_refs(v, out);
    return;
  }
  if (j.is_array()) {
    if (j.size() >= 3 && j[0].is_string() && j[1].is_number_integer()) {  // tf-keras ["name", node, tensor, {}]
      out.push_back({j[0].get<std::string>(), int(int_of(j[1]))});
      return;
    }
    for (const json& e : j) tensor_refs(e, out);
  }
}

// input_layers / output_layers: [["name", 0, 0], ...] or, for one, ["name", 0, 0].
std::vector<std::pair<std::string, int>> endpoints(const json& j) {
  std::vector<std::pair<std::string, int>> out;
  if (j.is_array() && !j.empty() && j[0].is_string())
    return {{j[0].get<std::string>(), j.size() > 1 ? int(int_of(j[1])) : 0}};
  for (const json& e : j) out.push_back({e.at(0).get<std::string>(), e.size() > 1 ? int(int_of(e[1])) : 0});
  return out;
}

struct Walker {
  LayerEmitter& em;
  const WeightFile& w;

  // Where a layer's variables live: legacy model_weights/<top>/<layer>, Keras 3 <path>/vars.
  struct Scope {
    std::string legacy_top;           // the outermost nested model's name; "" at the top level
    std::string k3_path;              // "layers/functional" inside a nested model; "" at the top level
    std::map<std::string, int> used;  // Keras 3's per-container name counters
  };

  std::string k3_name(Scope& sc, const std::string& class_name) {
    std::string n = snake_case(class_name);
    const auto it = sc.used.find(n);
    if (it == sc.used.end()) {
      sc.used[n] = 0;
      return n;
    }
    return n + "_" + std::to_string(++it->second);
  }

  // The layer's variables by their Keras names, in creation order for Keras 3's numbered vars.
  Vars variables(const Scope& sc, const std::string& layer, const std::string& k3,
                 const std::vector<std::string>& order) {
    Vars v;
    if (!w.file) return v;  // a config read alone (the fuzz target)
    if (w.numbered) {
      const std::string base = (sc.k3_path.empty() ? "" : sc.k3_path + "/") + "layers/" + k3 + "/vars";
      for (size_t k = 0; k < order.size(); ++k) {
        const std::string d = base + "/" + std::to_string(k);
        if (w.file->has(d)) v[order[k]] = read_var(*w.file, d);
      }
      return v;
    }
    const std::string group = "model_weights/" + (sc.legacy_top.empty() ? layer : sc.legacy_top) + "/" + layer;
    if (!w.file->has(group)) return v;
    for (const std::string& m : w.file->members(group)) {
      std::string n = m.substr(0, m.find(':'));
      for (const std::string& want : order)
        if (n == want) v[want] = read_var(*w.file, group + "/" + m);
    }
    return v;
  }

  // One layer entry called on its inputs; a nested model is walked in its own scope.
  std::vector<int> layer(Scope& sc, const json& entry, const std::vector<int>& inputs) {
    const std::string cls = entry.at("class_name").get<std::string>();
    const json& cfg = entry.at("config");
    const std::string name = cfg.value("name", entry.value("name", cls));
    const std::string k3 = k3_name(sc, cls);
    if (cls == "Functional" || cls == "Sequential" || cls == "Model") {
      Scope inner;
      inner.legacy_top = sc.legacy_top.empty() ? name : sc.legacy_top;
      inner.k3_path = (sc.k3_path.empty() ? "" : sc.k3_path + "/") + "layers/" + k3;
      return model(inner, entry, inputs);
    }
    if (cls == "InputLayer") return inputs;
    const Vars vars = variables(sc, name, k3, var_order(cls, cfg));
    return {em.layer(cls, name, cfg, vars, inputs)};
  }

  std::vector<int> sequential(Scope& sc, const json& cfg, std::vector<int> h) {
    for (const json& l : cfg.at("layers")) {
      if (l.at("class_name") == "InputLayer") {
        if (h.empty()) h = {em.input(l.at("config"))};
        k3_name(sc, "InputLayer");
        continue;
      }
      if (h.empty()) {  // tf-keras: the first layer carries batch_input_shape
        if (!l.at("config").contains("batch_input_shape"))
          throw Error(em.source() + ": the Sequential model does not say its input shape");
        h = {em.input(l.at("config"))};
      }
      h = layer(sc, l, h);
    }
    return h;
  }

  std::vector<int> functional(Scope& sc, const json& cfg, const std::vector<int>& given) {
    std::map<std::pair<std::string, int>, int> out;  // (layer, node index) -> value
    const auto ins = endpoints(cfg.at("input_layers"));
    if (!given.empty() && given.size() != ins.size())
      throw Error(em.source() + ": a nested model takes " + std::to_string(ins.size()) + " inputs, not " +
                  std::to_string(given.size()));
    for (size_t i = 0; i < ins.size(); ++i) {
      const json* l = nullptr;
      for (const json& e : cfg.at("layers"))
        if (e.value("name", e.at("config").value("name", "")) == ins[i].first) l = &e;
      if (!l) throw Error(em.source() + ": the input layer '" + ins[i].first + "' is not among the layers");
      out[ins[i]] = given.empty() ? em.input(l->at("config")) : given[i];
    }
    for (const json& l : cfg.at("layers")) {
      const std::string name = l.value("name", l.at("config").value("name", ""));
      if (l.at("class_name") == "InputLayer") {
        k3_name(sc, "InputLayer");
        continue;
      }
      const json& nodes = l.at("inbound_nodes");
      std::string k3_before;  // a layer called twice shares its variables and its Keras 3 name
      for (size_t k = 0; k < nodes.size(); ++k) {
        std::vector<std::pair<std::string, int>> refs;
        tensor_refs(nodes[k], refs);
        std::vector<int> in;
        for (const auto& r : refs) {
          const auto it = out.find(r);
          if (it == out.end())
            throw Error(em.source() + ": layer '" + name + "' reads '" + r.first + "' before it is computed");
          in.push_back(it->second);
        }
        if (k > 0)
          throw Error(em.source() + ": layer '" + name + "' is called twice (shared layers are not supported)");
        const std::vector<int> y = layer(sc, l, in);
        if (y.size() != 1) throw Error(em.source() + ": layer '" + name + "' has several outputs");
        out[{name, int(k)}] = y[0];
      }
    }
    std::vector<int> result;
    for (const auto& o : endpoints(cfg.at("output_layers"))) {
      const auto it = out.find(o);
      if (it == out.end()) throw Error(em.source() + ": the output layer '" + o.first + "' is never computed");
      result.push_back(it->second);
    }
    return result;
  }

  std::vector<int> model(Scope& sc, const json& entry, const std::vector<int>& inputs) {
    const std::string cls = entry.at("class_name").get<std::string>();
    const json& cfg = entry.at("config");
    if (cls == "Sequential") return sequential(sc, cfg, inputs);
    if (cls == "Functional" || cls == "Model") return functional(sc, cfg, inputs);
    throw Error(em.source() + ": the model is a '" + cls + "' (gradtrace reads Sequential and Functional models)");
  }
};

}  // namespace

nn::GraphSpec read_graph(const std::string& config_json, const WeightFile& weights, const std::string& name) {
  json j;
  try {
    j = json::parse(config_json);
  } catch (const json::exception& e) {
    throw Error(name + ": the model config is not valid JSON (" + std::string(e.what()) + ")");
  }
  LayerEmitter em(name, weights.keras3);
  try {
    Walker walk{em, weights};
    Walker::Scope top;
    for (int o : walk.model(top, j, {})) em.output(o);
  } catch (const json::exception& e) {
    throw Error(name + ": the model config is not what Keras writes (" + std::string(e.what()) + ")");
  }
  return em.finish();
}

bool is_model_file(const h5::File& f) { return f.has_attr("model_config"); }

}  // namespace gt::keras_import
