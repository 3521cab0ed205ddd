// gradtrace graph: the tape of a forward pass as a graph (Graphviz .dot, or an .svg drawn here):
// one node per recorded op, named by its layer, edges carrying the tensor shapes; optionally what
// each backward rule saved.
#include <cstdio>
#include <sstream>

#include "autodiff/tape.h"
#include "cli/cli.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace graph (--model NAME | --weights FILE) --out FILE.dot|FILE.svg [options]\n"
    "\n"
    "Records a forward pass of the model (a zero image, every layer its own node) and draws the tape:\n"
    "one box per node (layer, op, output shape) in forward order, an edge from each node to the nodes\n"
    "that use its output, labelled with the shape. .dot is for Graphviz (dot -Tpng); .svg is drawn by\n"
    "gradtrace itself (a column in tape order, skip connections as arcs on the right).\n"
    "\n"
    "options:\n"
    "  --model NAME     vgg16, resnet50, mobilenet_v2, fashion_cnn, ... (random weights suffice)\n"
    "  --weights FILE   or take the architecture from a weights file\n"
    "  --alpha A        width multiplier (default 1)\n"
    "  --size S         input height and width (default: the model's)\n"
    "  --saved          also list the tensors each node's backward rule saved (their shapes)\n"
    "  --out FILE       .dot or .svg (required)\n";

std::string xml_escape(const std::string& s) { return html_escape(s); }

struct Graph {
  struct Box {
    std::string layer, op, shape, saved;
  };
  std::vector<Box> boxes;                                // 0 = the input, then the tape's nodes
  std::vector<std::tuple<int, int, std::string>> edges;  // from box, to box, shape
};

Graph record_graph(nn::Model& m, bool with_saved) {
  Tape tape;
  TapeGuard guard(tape);
  m.fuse = false;
  const Tensor x = Tensor::zeros({1, m.info.channels, m.info.input_h, m.info.input_w}).set_requires_grad(true);
  m(x);
  Graph g;
  g.boxes.push_back({"input", "", dims(x.shape()), ""});
  std::map<int, int> box_of_slot;  // a node's output slot -> its box
  for (size_t i = 0; i < tape.size(); ++i) {
    const Node& n = tape.node(i);
    Graph::Box b{n.layer.empty() ? "-" : n.layer, n.op, dims(n.output_shape), ""};
    if (with_saved)
      for (const Tensor& t : n.saved)
        if (t.defined()) b.saved += (b.saved.empty() ? "saved " : ", ") + dims(t.shape());
    const int me = int(g.boxes.size());
    g.boxes.push_back(b);
    box_of_slot[n.output] = me;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      // Other leaves than the image are parameters (weights, statistics): not drawn.
      const auto it = box_of_slot.find(n.inputs[k]);
      if (it != box_of_slot.end())
        g.edges.emplace_back(it->second, me, dims(n.input_shapes[k]));
      else if (n.inputs[k] == x.impl()->slot)
        g.edges.emplace_back(0, me, dims(n.input_shapes[k]));
    }
  }
  return g;
}

std::string to_dot(const Graph& g, const std::string& title) {
  std::ostringstream o;
  o << "digraph tape {\n  label=\"" << title
    << "\";\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n"
    << "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  for (size_t i = 0; i < g.boxes.size(); ++i) {
    const auto& b = g.boxes[i];
    o << "  n" << i << " [label=\"" << b.layer << (b.op.empty() ? "" : "\\n" + b.op) << "\\n"
      << b.shape << (b.saved.empty() ? "" : "\\n" + b.saved) << "\"];\n";
  }
  for (const auto& [a, b, s] : g.edges) o << "  n" << a << " -> n" << b << " [label=\"" << s << "\"];\n";
  o << "}\n";
  return o.str();
}

std::string to_svg(const Graph& g, const std::string& title) {
  const int row = 34, box_w = 380, x0 = 20, top = 40;
  int max_span = 0;
  for (const auto& [a, b, s] : g.edges) max_span = std::max(max_span, b - a);
  const int width = x0 + box_w + 40 + 6 * std::min(max_span, 60), height = top + row * int(g.boxes.size()) + 20;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"Helvetica,Arial,sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
       "fill=\"white\"/>\n"
    << "<text x=\"" << x0 << "\" y=\"22\" font-size=\"14\">" << xml_escape(title) << "</text>\n";
  auto y_of = [&](int i) { return top + row * i; };
  for (const auto& [a, b, s] : g.edges) {
    if (b == a + 1) {  // the next box: a short arrow down the column
      o << "<line x1=\"" << x0 + 30 << "\" y1=\"" << y_of(a) + 24 << "\" x2=\"" << x0 + 30 << "\" y2=\"" << y_of(b)
        << "\" stroke=\"#555\"/>\n";
    } else {  // a skip connection: an arc on the right, wider for longer jumps
      const int bulge = x0 + box_w + 10 + 6 * std::min(b - a, 60);
      o << "<path d=\"M " << x0 + box_w << " " << y_of(a) + 12 << " C " << bulge << " " << y_of(a) + 12 << ", " << bulge
        << " " << y_of(b) + 12 << ", " << x0 + box_w << " " << y_of(b) + 12 << "\" fill=\"none\" stroke=\"#c44\"/>\n";
    }
  }
  for (size_t i = 0; i < g.boxes.size(); ++i) {
    const auto& b = g.boxes[i];
    const int y = y_of(int(i));
    o << "<rect x=\"" << x0 << "\" y=\"" << y << "\" width=\"" << box_w << "\" height=\"24\" rx=\"3\" fill=\""
      << (b.op == "conv2d" || b.op == "linear" ? "#eef3fb" : "#f6f6f6") << "\" stroke=\"#888\"/>\n"
      << "<text x=\"" << x0 + 6 << "\" y=\"" << y + 16 << "\"><tspan font-weight=\"bold\">" << xml_escape(b.layer)
      << "</tspan> " << xml_escape(b.op) << "  " << b.shape << (b.saved.empty() ? "" : "  [" + b.saved + "]")
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}
}  // namespace

int run_graph(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--saved"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string model = a.get("--model", ""), weights = weights_flag(a), out = a.get("--out", "");
  nn::ModelOptions o;
  o.alpha = a.get_double("--alpha", 1.0, 0.01, 4.0);
  o.input_size = a.get_int("--size", 0, 0, 4096);
  const bool saved = a.flag("--saved");
  a.finish();
  if (out.empty()) throw UsageError("--out FILE.dot or FILE.svg is required");
  const bool svg = out.size() > 4 && out.compare(out.size() - 4, 4, ".svg") == 0;
  const bool dot = out.size() > 4 && out.compare(out.size() - 4, 4, ".dot") == 0;
  if (!svg && !dot) throw UsageError("--out must end in .dot or .svg, got " + out);
  if (model.empty() == weights.empty()) throw UsageError("give --model NAME or --weights FILE");
  check_model_flag(model);
  auto m = weights.empty() ? nn::make_model(model, o) : load_model(weights, "");
  const Graph g = record_graph(*m, saved);
  const std::string title = m->info.arch + " (" + std::to_string(g.boxes.size() - 1) + " tape nodes)";
  write_text_file(out, svg ? to_svg(g, title) : to_dot(g, title));
  std::printf("wrote %s: %zu nodes, %zu edges\n", out.c_str(), g.boxes.size() - 1, g.edges.size());
  return 0;
}

}  // namespace gt::cli
