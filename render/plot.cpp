// inspect --plot: the gradient flow over a network's depth, drawn with viz's rectangles and 5x7 font.
#include "render/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "render/viz.h"

namespace gt::viz {
namespace {
using xai::Inspection;

struct Family {
  const char* name;
  Rgb colour;
};
// The op families a reader tells apart at a glance.
Family family(const std::string& op) {
  if (op == "conv2d" || op == "conv2d_affine") return {"conv", {66, 110, 200}};
  if (op == "batch_norm") return {"batch norm", {150, 150, 150}};
  if (op == "relu" || op == "relu6" || op == "add_relu") return {"relu", {230, 140, 40}};
  if (op == "max_pool2d" || op == "avg_pool2d" || op == "global_avg_pool") return {"pool", {60, 160, 90}};
  if (op == "linear" || op == "bias_add") return {"dense", {140, 80, 180}};
  return {"other", {200, 200, 200}};
}

std::string fmt(const char* f, double v) {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

Image gradient_flow_plot(const Inspection& all, const std::string& title) {
  const Rgb ink{40, 40, 40}, grid{225, 225, 225};
  Inspection r;  // the network's nodes: the target's own (logit selection, sum) are left out
  for (const auto& nd : all.nodes)
    if (!nd.layer.empty()) r.nodes.push_back(nd);
  const int n = int(r.nodes.size());
  const int bw = std::clamp(1100 / std::max(n, 1), 2, 14);  // bar pitch
  const int left = 70, top_h = 200, bottom_h = 160, names_h = 110, title_h = 60;
  const int W = std::max(left + n * bw + 20, 640), H = title_h + top_h + 20 + bottom_h + names_h;
  Image img = viz::blank(W, H);
  viz::draw_text(img, 10, 8, title, ink, 2);

  // Legend.
  int lx = 10;
  for (const char* op : {"conv2d", "batch_norm", "relu", "max_pool2d", "linear", "reshape"}) {
    const Family f = family(op);
    viz::fill_rect(img, lx, 28, 10, 10, f.colour);
    viz::draw_text(img, lx + 14, 30, f.name, ink);
    lx += 14 + 6 * int(std::string(f.name).size()) + 16;
  }

  // Top: log10 of the gradient's L2 norm, whole decades on the axis.
  const int y0 = title_h;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& nd : r.nodes)
    if (nd.has_gradient && nd.gradient.l2 > 0) {
      lo = std::min(lo, std::floor(std::log10(nd.gradient.l2) - 0.25));  // the smallest bar stays visible
      hi = std::max(hi, std::ceil(std::log10(nd.gradient.l2)));
    }
  if (!(lo < hi)) {
    lo = std::isfinite(lo) ? lo : 0;
    hi = lo + 1;
  }
  for (double d = lo; d <= hi; d += 1) {
    const int y = y0 + top_h - int((d - lo) / (hi - lo) * top_h);
    viz::fill_rect(img, left, y, n * bw, 1, grid);
    viz::draw_text(img, 8, y - 3, "1E" + fmt("%.0f", d), ink);
  }
  viz::draw_text(img, left, y0 - 11, "GRADIENT L2 NORM AT EACH NODE (LOG)", ink);
  for (int i = 0; i < n; ++i) {
    const auto& nd = r.nodes[size_t(i)];
    if (!nd.has_gradient || nd.gradient.l2 <= 0) continue;
    const int h = std::max(1, int((std::log10(nd.gradient.l2) - lo) / (hi - lo) * top_h));
    viz::fill_rect(img, left + i * bw, y0 + top_h - h, std::max(1, bw - 1), h, family(nd.op).colour);
  }

  // Bottom: the activation's mean, around a zero line.
  const int y1 = y0 + top_h + 20, mid = y1 + bottom_h / 2;
  double a = 0;
  for (const auto& nd : r.nodes) a = std::max(a, std::abs(nd.activation.mean));
  if (a <= 0) a = 1;
  viz::fill_rect(img, left, mid, n * bw, 1, ink);
  viz::draw_text(img, 8, y1, fmt("%+.2g", a), ink);
  viz::draw_text(img, 8, mid - 3, "0", ink);
  viz::draw_text(img, 8, y1 + bottom_h - 7, fmt("%+.2g", -a), ink);
  viz::draw_text(img, left, y1 - 10, "ACTIVATION MEAN", ink);
  for (int i = 0; i < n; ++i) {
    const auto& nd = r.nodes[size_t(i)];
    const int h = int(std::abs(nd.activation.mean) / a * (bottom_h / 2));
    viz::fill_rect(img, left + i * bw, nd.activation.mean >= 0 ? mid - h : mid + 1, std::max(1, bw - 1), std::max(h, 1),
                   family(nd.op).colour);
  }

  // Layer names, turned upright, at every k-th node (7 px of text each).
  const int k = std::max(1, (9 + bw - 1) / bw);
  for (int i = 0; i < n; i += k) {
    std::string name = r.nodes[size_t(i)].layer;
    if (name.size() > 17) name = name.substr(0, 17);
    viz::draw_text(img, left + i * bw, y1 + bottom_h + 6 + 6 * int(name.size()), name, ink, 1, true);
  }
  return img;
}

}  // namespace gt::viz
