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

const Rgb kInk{40, 40, 40}, kGrid{225, 225, 225};

// The op families' colours, across the top.
void legend(Image& img) {
  int lx = 10;
  for (const char* op : {"conv2d", "batch_norm", "relu", "max_pool2d", "linear", "reshape"}) {
    const Family f = family(op);
    viz::fill_rect(img, lx, 28, 10, 10, f.colour);
    viz::draw_text(img, lx + 14, 30, f.name, kInk);
    lx += 14 + 6 * int(std::string(f.name).size()) + 16;
  }
}

// Layer names, turned upright under their bars from y down, at every k-th node (7 px of text each).
void layer_names(Image& img, const std::vector<std::string>& layers, int left, int bw, int y) {
  const int k = std::max(1, (9 + bw - 1) / bw);
  for (size_t i = 0; i < layers.size(); i += size_t(k)) {
    std::string name = layers[i];
    if (name.size() > 17) name = name.substr(0, 17);
    viz::draw_text(img, left + int(i) * bw, y + 6 * int(name.size()), name, kInk, 1, true);
  }
}

// Bars around a zero line at mid, scaled so that `scale` reaches half_h; v > 0 up.
void signed_bar(Image& img, int x, int bw, int mid, int half_h, double v, double scale, Rgb c) {
  const int h = std::max(1, int(std::min(1.0, std::abs(v) / scale) * half_h));
  viz::fill_rect(img, x, v >= 0 ? mid - h : mid + 1, std::max(1, bw - 1), h, c);
}

std::string fmt(const char* f, double v) {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

Image gradient_flow_plot(const Inspection& all, const std::string& title) {
  const Rgb &ink = kInk, &grid = kGrid;
  Inspection r;  // the network's nodes: the target's own (logit selection, sum) are left out
  for (const auto& nd : all.nodes)
    if (!nd.layer.empty()) r.nodes.push_back(nd);
  const int n = int(r.nodes.size());
  const int bw = std::clamp(1100 / std::max(n, 1), 2, 14);  // bar pitch
  const int left = 70, top_h = 200, bottom_h = 160, names_h = 110, title_h = 60;
  const int W = std::max(left + n * bw + 20, 640), H = title_h + top_h + 20 + bottom_h + names_h;
  Image img = viz::blank(W, H);
  viz::draw_text(img, 10, 8, title, ink, 2);

  legend(img);

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
  for (int i = 0; i < n; ++i)
    signed_bar(img, left + i * bw, bw, mid, bottom_h / 2, r.nodes[size_t(i)].activation.mean, a,
               family(r.nodes[size_t(i)].op).colour);

  std::vector<std::string> layers;
  for (const auto& nd : r.nodes) layers.push_back(nd.layer);
  layer_names(img, layers, left, bw, y1 + bottom_h + 6);
  return img;
}

Image relevance_flow_plot(const xai::RelevanceFlow& all, const std::string& title) {
  std::vector<xai::RelevanceRecord> r;  // the network's nodes: the target's own are left out
  for (const auto& nd : all.nodes)
    if (!nd.layer.empty()) r.push_back(nd);
  const int n = int(r.size());
  const int bw = std::clamp(1100 / std::max(n, 1), 2, 14);
  const int left = 70, half_h = 90, names_h = 110, title_h = 60;
  const int W = std::max(left + n * bw + 20, 640), H = title_h + 4 * half_h + 30 + names_h;
  Image img = viz::blank(W, H);
  viz::draw_text(img, 10, 8, title, kInk, 2);
  legend(img);
  const double total = all.conserved == 0 ? 1 : all.conserved;

  // Top: the relevance at each node as a share of what is conserved; 100% is a full bar.
  const int mid0 = title_h + half_h;
  double top = 1;
  for (const auto& nd : r) top = std::max(top, std::abs(nd.sum / total));
  viz::draw_text(img, left, title_h - 11, "RELEVANCE AT EACH NODE, SHARE OF " + all.conserved_name, kInk);
  viz::fill_rect(img, left, mid0, n * bw, 1, kInk);
  viz::fill_rect(img, left, mid0 - int(half_h / top), n * bw, 1, kGrid);
  viz::draw_text(img, 8, mid0 - int(half_h / top) - 3, "100%", kInk);
  viz::draw_text(img, 8, mid0 - 3, "0", kInk);
  for (int i = 0; i < n; ++i)
    signed_bar(img, left + i * bw, bw, mid0, half_h, r[size_t(i)].sum / total, top, family(r[size_t(i)].op).colour);

  // Bottom: the positive and negative mass (the sum is their difference).
  const int mid1 = title_h + 3 * half_h + 20;
  double mass = 0;
  for (const auto& nd : r) mass = std::max({mass, nd.positive, -nd.negative});
  if (mass <= 0) mass = 1;
  viz::draw_text(img, left, mid1 - half_h - 11, "POSITIVE AND NEGATIVE MASS", kInk);
  viz::fill_rect(img, left, mid1, n * bw, 1, kInk);
  viz::draw_text(img, 8, mid1 - half_h, fmt("%+.2g", mass), kInk);
  viz::draw_text(img, 8, mid1 + half_h - 7, fmt("%+.2g", -mass), kInk);
  for (int i = 0; i < n; ++i) {
    const Rgb c = family(r[size_t(i)].op).colour;
    signed_bar(img, left + i * bw, bw, mid1, half_h, r[size_t(i)].positive, mass, c);
    signed_bar(img, left + i * bw, bw, mid1, half_h, r[size_t(i)].negative, mass, c);
  }
  std::vector<std::string> layers;
  for (const auto& nd : r) layers.push_back(nd.layer);
  layer_names(img, layers, left, bw, mid1 + half_h + 6);
  return img;
}

}  // namespace gt::viz
