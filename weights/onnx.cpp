// ONNX -> nn::GraphSpec. The protobuf parsing is libonnx's (onnx-ml.proto); what a file claims
// (dimensions, data lengths, external data ranges) is checked against io/limits before anything is
// allocated, as every parser of user files here does.
#include "weights/onnx.h"

#include <onnx/onnx_pb.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "io/limits.h"
#include "weights/half.h"

namespace gt::onnx_import {
namespace {

using nn::Attr;
using nn::GraphNode;
using nn::GraphSpec;
using nn::HostValue;

// Bytes per element of the TensorProto data types we read; 0 for the others.
size_t elem_bytes(int type) {
  switch (type) {
    case 1:
    case 6:
      return 4;  // FLOAT, INT32
    case 2:
    case 3:
    case 9:
      return 1;  // UINT8, INT8, BOOL
    case 4:
    case 5:
    case 10:
    case 16:
      return 2;  // UINT16, INT16, FLOAT16, BFLOAT16
    case 7:
    case 11:
    case 12:
    case 13:
      return 8;  // INT64, DOUBLE, UINT32 (as 8 in uint64_data), UINT64
    default:
      return 0;
  }
}

// One element of little-endian raw data as a double.
double raw_value(int type, const uint8_t* p) {
  auto get = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (type) {
    case 1:
      return get(float{});
    case 2:
      return get(uint8_t{});
    case 3:
      return get(int8_t{});
    case 4:
      return get(uint16_t{});
    case 5:
      return get(int16_t{});
    case 6:
      return get(int32_t{});
    case 7:
      return double(get(int64_t{}));
    case 9:
      return get(uint8_t{}) != 0;
    case 10:
      return half_to_float(get(uint16_t{}));
    case 11:
      return get(double{});
    case 12:
      return get(uint32_t{});
    case 13:
      return double(get(uint64_t{}));
    default:
      return bfloat16_to_float(get(uint16_t{}));  // 16
  }
}

// External data: the bytes [offset, offset + length) of a file next to the model.
std::string external_bytes(const ::onnx::TensorProto& t, const std::string& where, const std::string& dir,
                           uint64_t want) {
  std::string location;
  uint64_t offset = 0, length = want;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    if (kv.key() == "offset") offset = std::stoull(kv.value());
    if (kv.key() == "length") length = std::stoull(kv.value());
  }
  if (dir.empty()) throw Error(where + ": external data cannot be read from here");
  if (location.empty() || location.find("..") != std::string::npos || location[0] == '/')
    throw Error(where + ": external data location '" + location + "' must be a file beside the model");
  if (length != want)
    throw Error(where + ": external data of " + std::to_string(length) + " bytes, not " + std::to_string(want));
  std::ifstream f(dir + "/" + location, std::ios::binary);
  if (!f) throw Error(where + ": cannot open its external data file " + dir + "/" + location);
  f.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(f.tellg());
  if (offset > size || size - offset < want)
    throw Error(where + ": external data " + location + " is " + std::to_string(size) + " bytes, too short");
  std::string bytes(want, '\0');
  f.seekg(std::streamoff(offset));
  f.read(bytes.data(), std::streamsize(want));
  return bytes;
}

HostValue tensor_of(const ::onnx::TensorProto& t, const std::string& file, const std::string& dir) {
  const std::string where = file + ": tensor '" + t.name() + "'";
  const int type = t.data_type();
  const size_t eb = elem_bytes(type);
  if (!eb) throw Error(where + " has data type " + std::to_string(type) + " (gradtrace reads numbers only)");
  HostValue h;
  h.dims.assign(t.dims().begin(), t.dims().end());
  h.integer = type != 1 && type != 10 && type != 11 && type != 16;
  const uint64_t bytes = claimed_bytes(file, t.name(), h.dims, eb);
  const size_t n = size_t(bytes / eb);
  std::string raw;
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
    raw = external_bytes(t, where, dir, bytes);
  else if (t.has_raw_data())
    raw = t.raw_data();
  if (t.has_raw_data() || t.data_location() == ::onnx::TensorProto::EXTERNAL) {
    if (raw.size() != bytes)
      throw Error(where + " holds " + std::to_string(raw.size()) + " bytes for " + std::to_string(n) + " values");
    h.data.resize(n);
    for (size_t i = 0; i < n; ++i) h.data[i] = raw_value(type, reinterpret_cast<const uint8_t*>(raw.data()) + i * eb);
    return h;
  }
  auto take = [&](const auto& field, auto convert) {
    if (size_t(field.size()) != n)
      throw Error(where + " holds " + std::to_string(field.size()) + " values for dimensions of " + std::to_string(n));
    h.data.reserve(n);
    for (const auto& v : field) h.data.push_back(convert(v));
  };
  auto same = [](auto v) { return double(v); };
  if (type == 1)
    take(t.float_data(), same);
  else if (type == 11)
    take(t.double_data(), same);
  else if (type == 7)
    take(t.int64_data(), same);
  else if (type == 12 || type == 13)
    take(t.uint64_data(), same);
  else if (type == 10)
    take(t.int32_data(), [](int32_t v) { return double(half_to_float(uint16_t(v))); });
  else if (type == 16)
    take(t.int32_data(), [](int32_t v) { return double(bfloat16_to_float(uint16_t(v))); });
  else
    take(t.int32_data(), same);
  return h;
}

// ONNX attributes are float32. Each is read as the shortest decimal that rounds to it (0.1f -> 0.1,
// 1e-5f -> 1e-5): the number the model's author wrote, which a float64 run then uses exactly.
double decimal(float f) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  return std::strtod(buf, nullptr);
}

Attr attr_of(const ::onnx::AttributeProto& a, const std::string& file, const std::string& dir) {
  Attr r;
  switch (a.type()) {
    case ::onnx::AttributeProto::FLOAT:
      r.kind = Attr::real, r.f = decimal(a.f());
      break;
    case ::onnx::AttributeProto::INT:
      r.kind = Attr::integer, r.i = a.i();
      break;
    case ::onnx::AttributeProto::STRING:
      r.kind = Attr::text, r.s = a.s();
      break;
    case ::onnx::AttributeProto::TENSOR:
      r.kind = Attr::tensor, r.t = tensor_of(a.t(), file, dir);
      break;
    case ::onnx::AttributeProto::FLOATS:
      r.kind = Attr::reals;
      for (float f : a.floats()) r.floats.push_back(decimal(f));
      break;
    case ::onnx::AttributeProto::INTS:
      r.kind = Attr::integers, r.ints.assign(a.ints().begin(), a.ints().end());
      break;
    default:
      r.kind = Attr::text;
      break;  // graphs, strings lists: no op we run reads them
  }
  return r;
}

struct Reader {
  GraphSpec s;
  std::map<std::string, int> ids;
  std::string dir;

  int id(const std::string& name) {
    if (name.empty()) return -1;
    const auto [it, added] = ids.insert({name, int(s.values.size())});
    if (added) s.values.push_back(name);
    return it->second;
  }

  void read(const ::onnx::ModelProto& m) {
    s.opset = 0;
    for (const auto& o : m.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") s.opset = o.version();
    if (s.opset < 1 || s.opset > 18)
      throw Error(s.source + ": ONNX opset " + std::to_string(s.opset) + " (gradtrace reads opsets 1 to 18)");
    const auto& g = m.graph();
    if (g.node_size() > 1000000) throw Error(s.source + ": more than a million nodes");
    std::set<std::string> initialized;
    for (const auto& t : g.initializer()) {
      s.constants[id(t.name())] = tensor_of(t, s.source, dir);
      initialized.insert(t.name());
    }
    for (const auto& in : g.input()) {
      if (initialized.count(in.name())) continue;  // older exporters list the weights as inputs too
      if (!in.type().has_tensor_type())
        throw Error(s.source + ": input '" + in.name() +
                    "' is not a tensor (sequences and optionals are not supported)");
      if (in.type().tensor_type().elem_type() == 16)
        throw Error(s.source + ": input '" + in.name() + "' is bfloat16 (not supported)");
      s.inputs.push_back(id(in.name()));
      std::vector<int64_t> d;
      for (const auto& dim : in.type().tensor_type().shape().dim())
        d.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
      s.input_dims.push_back(d);
    }
    std::set<std::string> names;
    for (int i = 0; i < g.node_size(); ++i) {
      const auto& n = g.node(i);
      GraphNode node;
      node.op = n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + "." + n.op_type();
      node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
      while (!names.insert(node.name).second) node.name += "_" + std::to_string(i);
      for (const auto& in : n.input()) node.inputs.push_back(id(in));
      for (const auto& out : n.output()) node.outputs.push_back(id(out));
      for (const auto& a : n.attribute()) node.attrs[a.name()] = attr_of(a, s.source, dir);
      s.nodes.push_back(std::move(node));
    }
    for (const auto& out : g.output()) s.outputs.push_back(id(out.name()));
    if (s.outputs.empty()) throw Error(s.source + ": the graph has no outputs");
  }
};

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

GraphSpec read_graph(const std::vector<uint8_t>& bytes, const std::string& name, const std::string& dir) {
  ::onnx::ModelProto m;
  if (bytes.size() > uint64_t(INT32_MAX) || !m.ParseFromArray(bytes.data(), int(bytes.size())))
    throw Error(name + ": not an ONNX model (the protobuf does not parse; truncated or another format?)");
  if (!m.has_graph() || m.graph().node_size() == 0) throw Error(name + ": not an ONNX model (no graph nodes)");
  Reader r;
  r.s.source = name;
  r.dir = dir;
  r.read(m);
  return std::move(r.s);
}

GraphSpec read_graph(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path, uint64_t(1) << 31, "ONNX file " + path);
  return read_graph(bytes, path, directory_of(path));
}

HostValue read_tensor(const std::vector<uint8_t>& bytes, const std::string& name) {
  ::onnx::TensorProto t;
  if (!t.ParseFromArray(bytes.data(), int(bytes.size()))) throw Error(name + ": not an ONNX TensorProto");
  return tensor_of(t, name, "");
}

}  // namespace gt::onnx_import

namespace gt::onnx_import {

std::unique_ptr<nn::Model> load(const std::string& path, const ImportOptions& o, DType dtype) {
  nn::GraphSpec spec = read_graph(path);
  strip_final_softmax(spec);
  return finish_import(std::make_unique<nn::GraphModel>(std::move(spec), dtype), path, "onnx", o, "", "torch");
}

}  // namespace gt::onnx_import
