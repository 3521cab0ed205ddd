#include "render/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gt::viz {
namespace {

constexpr Rgb kBlack{0, 0, 0}, kGrey{120, 120, 120}, kPositive{200, 40, 30}, kNegative{40, 90, 200};
constexpr int kChar = 6;  // the 5x7 font's advance at scale 1

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string cut(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 2) + ".."; }

// A line from (x0, y0) to (x1, y1), `t` pixels thick (Bresenham, each point a t x t square).
void line(Image& img, int x0, int y0, int x1, int y1, Rgb c, int t) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  for (int err = dx + dy;;) {
    fill_rect(img, x0 - t / 2, y0 - t / 2, t, t, c);
    if (x0 == x1 && y0 == y1) return;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

}  // namespace

Image bar_chart(const std::vector<Bar>& bars, const std::string& title, const std::string& axis) {
  std::vector<Bar> b = bars;
  std::stable_sort(b.begin(), b.end(),
                   [](const Bar& p, const Bar& q) { return std::abs(p.value) > std::abs(q.value); });
  const int row = 22, label_w = 26 * kChar * 2, plot_w = 420, note_w = 40 * kChar, top = 44;
  Image img = blank(label_w + plot_w + note_w + 40, top + row * int(b.size()) + 40);
  draw_text(img, 10, 10, cut(title, size_t(img.width - 20) / (2 * kChar)), kBlack, 2);
  double hi = 0, lo = 0;
  for (const Bar& x : b) hi = std::max(hi, x.value + x.error), lo = std::min(lo, x.value - x.error);
  if (hi == lo) hi = lo + 1;
  const int x0 = label_w + 10;
  const auto px = [&](double v) { return x0 + int(std::lround((v - lo) / (hi - lo) * plot_w)); };
  for (size_t i = 0; i < b.size(); ++i) {
    const int y = top + row * int(i);
    draw_text(img, 10, y + 4, cut(b[i].name, 26), kBlack, 2);
    const int a = px(0), e = px(b[i].value);
    fill_rect(img, std::min(a, e), y + 3, std::max(1, std::abs(e - a)), row - 6,
              b[i].value >= 0 ? kPositive : kNegative);
    if (b[i].error > 0) {
      const int l = px(b[i].value - b[i].error), r = px(b[i].value + b[i].error), mid = y + row / 2;
      line(img, l, mid, r, mid, kBlack, 1);
      line(img, l, mid - 4, l, mid + 4, kBlack, 1);
      line(img, r, mid - 4, r, mid + 4, kBlack, 1);
    }
    draw_text(img, x0 + plot_w + 8, y + 7, number(b[i].value) + (b[i].note.empty() ? "" : "  " + cut(b[i].note, 30)),
              kGrey);
  }
  const int bottom = top + row * int(b.size());
  line(img, px(0), top - 4, px(0), bottom, kBlack, 1);  // the zero line
  draw_text(img, x0, bottom + 8, number(lo), kGrey);
  draw_text(img, x0 + plot_w - kChar * int(number(hi).size()), bottom + 8, number(hi), kGrey);
  draw_text(img, x0 + plot_w / 2 - kChar * int(axis.size()) / 2, bottom + 22, axis, kBlack);
  return img;
}

Image rule_chart(const std::vector<RuleRow>& rules, const std::string& title, const std::string& axis) {
  size_t longest = 20;
  for (const RuleRow& r : rules) longest = std::max(longest, std::min<size_t>(r.text.size(), 90));
  const int row = 20, text_w = int(longest) * kChar + 20, plot_w = 240, note_w = 34 * kChar, top = 44;
  Image img = blank(std::max(480, text_w + plot_w + note_w + 30), top + row * int(rules.size()) + 40);
  draw_text(img, 10, 10, cut(title, size_t(img.width - 20) / (2 * kChar)), kBlack, 2);
  const int x0 = text_w + 10;
  for (size_t i = 0; i < rules.size(); ++i) {
    const int y = top + row * int(i);
    if (i % 2 == 0) fill_rect(img, 4, y, img.width - 8, row, Rgb{242, 242, 242});  // banded rows
    draw_text(img, 10, y + 7, cut(rules[i].text, 90), kBlack);
    const double p = std::clamp(rules[i].p, 0.0, 1.0);
    fill_rect(img, x0, y + 3, std::max(1, int(std::lround(p * plot_w))), row - 6, kPositive);
    char p2[16];
    std::snprintf(p2, sizeof p2, "%.2f", rules[i].p);
    draw_text(img, x0 + plot_w + 8, y + 7, p2 + ("  " + cut(rules[i].note, 30)), kGrey);
  }
  const int bottom = top + row * int(rules.size());
  line(img, x0, top - 4, x0, bottom, kBlack, 1);
  line(img, x0 + plot_w, top - 4, x0 + plot_w, bottom, kGrey, 1);
  draw_text(img, x0, bottom + 8, "0", kGrey);
  draw_text(img, x0 + plot_w - kChar, bottom + 8, "1", kGrey);
  draw_text(img, x0 + plot_w / 2 - kChar * int(axis.size()) / 2, bottom + 22, axis, kBlack);
  return img;
}

Image line_chart(const std::vector<double>& xs, const std::vector<std::string>& labels,
                 const std::vector<Curve>& curves, const std::vector<double>& rug, const std::string& title,
                 const std::string& x_name, const std::string& y_name) {
  const int w = 640, h = 360, left = 80, top = 44, pw = w - left - 30, ph = h - top - 70;
  Image img = blank(w, h);
  draw_text(img, 10, 10, cut(title, size_t(w - 20) / (2 * kChar)), kBlack, 2);
  const bool categorical = xs.empty();
  const size_t n = categorical ? labels.size() : xs.size();
  double xlo = categorical ? 0 : xs.front(), xhi = categorical ? double(n - 1) : xs.back();
  if (xhi <= xlo) xhi = xlo + 1;
  double ylo = 1e300, yhi = -1e300;
  for (const Curve& c : curves)
    for (double v : c.y) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
  if (!(yhi > ylo)) yhi = ylo + 1;
  const auto px = [&](double v) { return left + int(std::lround((v - xlo) / (xhi - xlo) * pw)); };
  const auto py = [&](double v) { return top + ph - int(std::lround((v - ylo) / (yhi - ylo) * ph)); };
  line(img, left, top, left, top + ph, kBlack, 1);
  line(img, left, top + ph, left + pw, top + ph, kBlack, 1);
  for (const Curve& c : curves)
    for (size_t i = 1; i < c.y.size() && i < n; ++i) {
      const double a = categorical ? double(i - 1) : xs[i - 1], b = categorical ? double(i) : xs[i];
      line(img, px(a), py(c.y[i - 1]), px(b), py(c.y[i]), c.color, c.thickness);
    }
  for (double v : rug)
    if (v >= xlo && v <= xhi) line(img, px(v), top + ph + 2, px(v), top + ph + 8, kGrey, 1);
  draw_text(img, 4, top, number(yhi), kGrey);
  draw_text(img, 4, top + ph - 8, number(ylo), kGrey);
  if (categorical)
    for (size_t i = 0; i < n; ++i) draw_text(img, px(double(i)) - 3 * kChar, top + ph + 14, cut(labels[i], 12), kGrey);
  else {
    draw_text(img, left, top + ph + 14, number(xlo), kGrey);
    draw_text(img, left + pw - kChar * int(number(xhi).size()), top + ph + 14, number(xhi), kGrey);
  }
  draw_text(img, left + pw / 2 - kChar * int(x_name.size()) / 2, top + ph + 34, cut(x_name, 60), kBlack);
  draw_text(img, 14, top + ph / 2 + kChar * int(y_name.size()) / 2, cut(y_name, 40), kBlack, 1, true);
  return img;
}

Image heat_chart(const std::vector<double>& values, const std::vector<std::string>& rows,
                 const std::vector<std::string>& columns, const std::string& title, const std::string& row_name,
                 const std::string& column_name, const std::string& value_name) {
  const int R = int(rows.size()), C = int(columns.size());
  const int cw = std::max(4, 360 / C), ch = std::max(4, 360 / R), left = 140, top = 44;  // cells
  Image img = blank(std::max(480, left + cw * C + 40), top + ch * R + 80);
  draw_text(img, 10, 10, cut(title, size_t(img.width - 20) / (2 * kChar)), kBlack, 2);
  const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
  const double lo = *lo_it, hi = *hi_it > *lo_it ? *hi_it : *lo_it + 1;
  std::vector<float> unit;
  for (double v : values) unit.push_back(float((v - lo) / (hi - lo)));
  const Image colours = colorize(unit, C, R, "viridis");
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      const uint8_t* p = &colours.rgb[size_t(r * C + c) * 3];
      fill_rect(img, left + c * cw, top + r * ch, cw, ch, {p[0], p[1], p[2]});
    }
  for (int r = 0; r < R; r += std::max(1, R / 8))
    draw_text(img, 10, top + r * ch + ch / 2 - 3, cut(rows[size_t(r)], 20), kGrey);
  for (int c = 0; c < C; c += std::max(1, C / 4))
    draw_text(img, left + c * cw, top + R * ch + 6,
              cut(columns[size_t(c)], size_t(std::max(3, cw * std::max(1, C / 4) / kChar - 1))), kGrey);
  draw_text(img, left, top + R * ch + 22, column_name + " (across), " + row_name + " (down)", kBlack);
  draw_text(img, left, top + R * ch + 38, value_name + ": " + number(lo) + " (dark) to " + number(hi) + " (bright)",
            kBlack);
  return img;
}

}  // namespace gt::viz
