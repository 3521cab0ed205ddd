// Any TF Lite graph of the supported ops as an nn::GraphSpec. TF Lite computes NHWC; the graph runs
// NCHW: 4-D activations are permuted, conv filters (O, kh, kw, I) become (O, I, kh, kw), axes of
// MEAN, CONCATENATION, SQUEEZE map to NCHW, and RESHAPE / FULLY_CONNECTED see NHWC order through a
// transpose. Quantized tensors are dequantized: constants by File::constant, activations pass as the
// floats they stand for (QUANTIZE and DEQUANTIZE become identities), and their scale and zero point
// are kept as notes for `gradtrace layers`.
#include <algorithm>
#include <cstdio>

#include "weights/tflite.h"

namespace gt::tflite {
namespace {

using nn::Attr;
using nn::HostValue;

// An NHWC axis of a rank-r tensor as an NCHW one.
int64_t nchw_axis(int64_t a, size_t rank) {
  if (a < 0) a += int64_t(rank);
  if (rank != 4) return a;
  return a == 3 ? 1 : a == 0 ? 0 : a + 1;
}

struct Converter {
  const File& f;
  nn::GraphSpec s;
  std::vector<int> value_of;  // TF Lite tensor -> graph value (-1: not made yet)
  std::map<std::string, std::string> notes;

  std::string where(size_t i) const {
    return "TF Lite file " + f.path() + ", operator " + std::to_string(i) + " (" + builtin_name(f.ops[i].code) + ")";
  }
  size_t rank(int t) const { return f.tensors[size_t(t)].shape.size(); }
  bool is_constant(int t) const { return f.has_data(t); }

  int fresh(const std::string& name) {
    s.values.push_back(name + "#" + std::to_string(s.values.size()));
    return int(s.values.size()) - 1;
  }
  // A constant tensor as a host value in NCHW order (4-D data permuted from NHWC).
  HostValue host(int t, bool permute) const {
    const Tensor c = f.constant(t);
    HostValue h;
    const std::vector<double> v = c.to_vector_f64();
    const std::vector<int64_t> d = f.tensors[size_t(t)].shape;
    if (permute && d.size() == 4) {
      const int64_t N = d[0], H = d[1], W = d[2], C = d[3];
      h.dims = {N, C, H, W};
      h.data.resize(v.size());
      for (int64_t n = 0; n < N; ++n)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t x = 0; x < W; ++x)
            for (int64_t k = 0; k < C; ++k)
              h.data[size_t(((n * C + k) * H + y) * W + x)] = v[size_t(((n * H + y) * W + x) * C + k)];
      return h;
    }
    h.dims = d.empty() ? std::vector<int64_t>{} : d;
    h.data = v;
    return h;
  }
  // The value of tensor t: an earlier op's output, or a constant made now. A constant of lower rank
  // combined with a 4-D activation aligns with NHWC's last axis: padded to 4-D and permuted.
  int in(int t, size_t with_rank = 0) {
    if (value_of[size_t(t)] >= 0 && !(with_rank == 4 && rank(t) < 4 && is_constant(t))) return value_of[size_t(t)];
    if (!is_constant(t))
      throw Error("TF Lite file " + f.path() + ": tensor " + f.tensors[size_t(t)].name +
                  " is used before it is computed");
    HostValue h = host(t, true);
    if (with_rank == 4 && h.dims.size() < 4) {
      std::vector<int64_t> d(4 - h.dims.size(), 1);
      d.insert(d.end(), h.dims.begin(), h.dims.end());  // NHWC-aligned, then C moves to axis 1
      h.dims = {d[0], d[3], d[1], d[2]};
    }
    const int id = fresh(f.tensors[size_t(t)].name);
    s.constants[id] = std::move(h);
    return id;
  }
  int constant(const std::string& name, HostValue h) {
    const int id = fresh(name);
    s.constants[id] = std::move(h);
    return id;
  }
  int node(const std::string& op, const std::string& name, std::vector<int> inputs,
           std::map<std::string, Attr> a = {}) {
    nn::GraphNode n;
    n.op = op, n.name = name, n.inputs = std::move(inputs), n.attrs = std::move(a);
    n.outputs = {fresh(name)};
    s.nodes.push_back(std::move(n));
    return s.nodes.back().outputs[0];
  }
  // The fused activation after an op whose result is `y`; the last node takes the layer's name.
  int activate(int y, int act, const std::string& name, size_t i) {
    if (act == NONE) return y;
    if (act == RELU) return node("Relu", name, {y});
    const bool six = act == RELU6;
    if (!six && act != RELU_N1_TO_1) throw Error(where(i) + ": fused activation " + std::to_string(act));
    HostValue lo, hi;
    lo.data = {six ? 0.0 : -1.0}, hi.data = {six ? 6.0 : 1.0};
    return node("Clip", name, {y, constant(name + "/min", lo), constant(name + "/max", hi)});
  }
  // The name an op's output goes by: its tensor's, without the converter's ";"-joined suffixes.
  std::string name_of(const Operator& op) const {
    const std::string n = f.tensors[size_t(op.outputs.at(0))].name;
    return n.substr(0, n.find(';'));
  }

  int conv(size_t i, const Operator& op, const std::string& name, int x);
  int emit(size_t i, const Operator& op, const std::string& name);
};

int Converter::conv(size_t i, const Operator& op, const std::string& name, int x) {
  const bool dw = op.code == DEPTHWISE_CONV_2D;
  const std::vector<int64_t>& wd = f.tensors[size_t(op.inputs.at(1))].shape;  // OHWI or 1HW(C*m)
  const std::vector<int64_t>& xd = f.tensors[size_t(op.inputs[0])].shape;
  if (wd.size() != 4 || xd.size() != 4) throw Error(where(i) + ": 2-D convolutions of 4-D tensors only");
  const Tensor filter = to_oihw(f.constant(op.inputs[1]), dw);  // (O, I, kh, kw)
  const int64_t I = filter.dim(1);
  HostValue k;
  for (int d = 0; d < 4; ++d) k.dims.push_back(filter.dim(d));
  k.data = filter.to_vector_f64();
  std::vector<int> in = {x, constant(name + "/filter", std::move(k))};
  if (op.inputs.size() > 2 && op.inputs[2] >= 0) in.push_back(constant(name + "/bias", host(op.inputs[2], false)));
  const int64_t groups = dw ? xd[3] : std::max<int64_t>(1, xd[3] / std::max<int64_t>(1, I));
  const int y = node("Conv", op.activation == NONE ? name : name + "/conv", in,
                     {{"strides", nn::attr_ints({op.stride_h, op.stride_w})},
                      {"dilations", nn::attr_ints({op.dilation_h, op.dilation_w})},
                      {"auto_pad", nn::attr_text(op.padding == 0 ? "SAME_UPPER" : "VALID")},
                      {"group", nn::attr_int(groups)}});
  return activate(y, op.activation, name, i);
}

int Converter::emit(size_t i, const Operator& op, const std::string& name) {
  const int t0 = op.inputs.at(0);
  const size_t r = rank(t0);
  switch (op.code) {
    case CONV_2D:
    case DEPTHWISE_CONV_2D:
      return conv(i, op, name, in(t0));
    case ADD:
    case MUL:
    case SUB: {
      const size_t r_out = std::max(r, rank(op.inputs.at(1)));
      const int y = node(op.code == ADD   ? "Add"
                         : op.code == MUL ? "Mul"
                                          : "Sub",
                         op.activation == NONE ? name : name + "/op", {in(t0, r_out), in(op.inputs[1], r_out)});
      return activate(y, op.activation, name, i);
    }
    case AVERAGE_POOL_2D:
    case MAX_POOL_2D: {
      const int y = node(op.code == MAX_POOL_2D ? "MaxPool" : "AveragePool",
                         op.activation == NONE ? name : name + "/pool", {in(t0)},
                         {{"kernel_shape", nn::attr_ints({op.filter_h, op.filter_w})},
                          {"strides", nn::attr_ints({op.stride_h, op.stride_w})},
                          {"auto_pad", nn::attr_text(op.padding == 0 ? "SAME_UPPER" : "VALID")}});
      return activate(y, op.activation, name, i);
    }
    case FULLY_CONNECTED: {  // y = x W^T + b on x flattened in NHWC order
      int x = in(t0);
      if (r == 4) x = node("Transpose", name + "/nhwc", {x}, {{"perm", nn::attr_ints({0, 2, 3, 1})}});
      const std::vector<int64_t>& wd = f.tensors[size_t(op.inputs.at(1))].shape;
      if (wd.size() != 2) throw Error(where(i) + ": weights of rank " + std::to_string(wd.size()));
      if (r != 2) {
        HostValue shape;
        shape.dims = {2}, shape.data = {-1, double(wd[1])}, shape.integer = true;
        x = node("Reshape", name + "/flat", {x, constant(name + "/shape", shape)});
      }
      std::vector<int> args = {x, constant(name + "/weights", host(op.inputs[1], false))};
      if (op.inputs.size() > 2 && op.inputs[2] >= 0)
        args.push_back(constant(name + "/bias", host(op.inputs[2], false)));
      const int y = node("Gemm", op.activation == NONE ? name : name + "/fc", args, {{"transB", nn::attr_int(1)}});
      return activate(y, op.activation, name, i);
    }
    case CONCATENATION: {
      std::vector<int> args;
      for (int t : op.inputs) args.push_back(in(t, r));
      const int y = node("Concat", op.activation == NONE ? name : name + "/concat", args,
                         {{"axis", nn::attr_int(nchw_axis(op.axis, r))}});
      return activate(y, op.activation, name, i);
    }
    case MEAN: {
      std::vector<int64_t> axes;
      for (double a : host(op.inputs.at(1), false).data) axes.push_back(nchw_axis(int64_t(a), r));
      return node("ReduceMean", name, {in(t0)},
                  {{"axes", nn::attr_ints(axes)}, {"keepdims", nn::attr_int(op.keep_dims)}});
    }
    case RESHAPE:
    case SQUEEZE: {
      int x = in(t0);
      if (r == 4) x = node("Transpose", name + "/nhwc", {x}, {{"perm", nn::attr_ints({0, 2, 3, 1})}});
      std::vector<int64_t> out = f.tensors[size_t(op.outputs.at(0))].shape;
      HostValue shape;
      shape.integer = true;
      for (size_t k = 0; k < out.size(); ++k) shape.data.push_back(k == 0 ? -1.0 : double(out[k]));
      shape.dims = {int64_t(out.size())};
      if (out.size() != 4) return node("Reshape", name, {x, constant(name + "/shape", shape)});
      const int y = node("Reshape", name + "/nhwc", {x, constant(name + "/shape", shape)});
      return node("Transpose", name, {y}, {{"perm", nn::attr_ints({0, 3, 1, 2})}});
    }
    case PAD: {  // paddings (rank, 2) in NHWC: [[0,0],[t,b],[l,r],[0,0]]
      const HostValue p = host(op.inputs.at(1), false);
      if (r != 4 || p.data.size() != 8) throw Error(where(i) + ": padding of a " + std::to_string(r) + "-D tensor");
      HostValue pads;
      pads.dims = {8}, pads.integer = true;
      pads.data = {p.data[0], p.data[6], p.data[2], p.data[4], p.data[1], p.data[7], p.data[3], p.data[5]};
      return node("Pad", name, {in(t0), constant(name + "/pads", pads)});
    }
    case SOFTMAX:
      return node("Softmax", name, {in(t0)}, {{"axis", nn::attr_int(r == 4 ? 1 : -1)}});
    case LOGISTIC:
      return node("Sigmoid", name, {in(t0)});
    case HARD_SWISH:
      return node("HardSwish", name, {in(t0)});
    case RELU_OP:
      return node("Relu", name, {in(t0)});
    case RELU6_OP:
      return activate(in(t0), RELU6, name, i);
    case QUANTIZE:
    case DEQUANTIZE:
      return node("Identity", name, {in(t0)});
    default:
      throw Error(where(i) +
                  ": unsupported TF Lite op (gradtrace runs ADD, SUB, MUL, CONV_2D, DEPTHWISE_CONV_2D, "
                  "FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, RESHAPE, SQUEEZE, SOFTMAX, CONCATENATION, PAD, "
                  "HARD_SWISH, LOGISTIC, RELU, RELU6, QUANTIZE, DEQUANTIZE)");
  }
}

}  // namespace

nn::GraphSpec read_graph(const File& f, std::map<std::string, std::string>* notes) {
  Converter c{f, {}, std::vector<int>(f.tensors.size(), -1), {}};
  c.s.source = "TF Lite file " + f.path();
  c.s.opset = 13;
  for (int t : f.inputs) {
    std::vector<int64_t> d = f.tensors[size_t(t)].shape;
    if (d.size() == 4) d = {d[0], d[3], d[1], d[2]};
    c.value_of[size_t(t)] = c.fresh(f.tensors[size_t(t)].name);
    c.s.inputs.push_back(c.value_of[size_t(t)]);
    c.s.input_dims.push_back(d);
  }
  // A quantized input takes the pixels as they are, 0..255, and dequantizes them in the graph:
  // x = (q - zero_point) scale, with q = pixel (uint8) or pixel - 128 (int8).
  if (f.inputs.size() == 1) {
    const TensorInfo& t = f.tensors[size_t(f.inputs[0])];
    if ((t.type == 3 || t.type == 9) && t.scale.size() == 1) {
      HostValue zp, scale;
      zp.data = {double(t.zero_point.empty() ? 0 : t.zero_point[0]) + (t.type == 9 ? 128.0 : 0.0)};
      scale.data = {double(t.scale[0])};
      const int x = c.node("Sub", "input/zero_point", {c.s.inputs[0], c.constant("input/zp", zp)});
      c.value_of[size_t(f.inputs[0])] = c.node("Mul", "input/dequantize", {x, c.constant("input/scale", scale)});
    }
  }
  std::map<std::string, int> used;
  for (size_t i = 0; i < f.ops.size(); ++i) {
    const Operator& op = f.ops[i];
    if (op.inputs.empty() || op.outputs.size() != 1 || op.outputs[0] < 0)
      throw Error(c.where(i) + ": expected inputs and one output");
    std::string name = c.name_of(op);
    if (name.empty() || used[name]++) name += "_" + std::to_string(i);
    c.value_of[size_t(op.outputs[0])] = c.emit(i, op, name);
    const TensorInfo& out = f.tensors[size_t(op.outputs[0])];
    if (!out.scale.empty() && (out.type == 3 || out.type == 9)) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s scale %.6g zero point %lld", out.type == 3 ? "uint8" : "int8",
                    double(out.scale[0]), (long long)(out.zero_point.empty() ? 0 : out.zero_point[0]));
      c.notes[name] = buf;
    }
  }
  for (int t : f.outputs) c.s.outputs.push_back(c.in(t));
  if (notes) *notes = std::move(c.notes);
  return std::move(c.s);
}

std::unique_ptr<nn::Model> load_graph(const File& f, const ImportOptions& o, DType dtype) {
  std::map<std::string, std::string> notes;
  nn::GraphSpec spec = read_graph(f, &notes);
  strip_final_softmax(spec);
  const bool quantized_input =
      f.inputs.size() == 1 && (f.tensors[size_t(f.inputs[0])].type == 3 || f.tensors[size_t(f.inputs[0])].type == 9);
  // TF Lite's ImageNet models (MobileNets, EfficientNet-Lite, Inception) take -1..1 floats
  auto m = finish_import(std::make_unique<nn::GraphModel>(std::move(spec), dtype), f.path(), "tflite", o,
                         quantized_input ? "none" : "", "tf");
  m->info.notes = std::move(notes);
  return m;
}

}  // namespace gt::tflite
