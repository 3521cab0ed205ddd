// Charts of the table methods, drawn with render/viz's canvas, rectangles and 5x7 font:
//   bar_chart   one horizontal bar per name (largest |value| first), signed values around a zero
//               line, optional error bars (permutation importance's std); a row's attributions
//   rule_chart  a rule list, rule by rule, each with a bar of its class probability
//   line_chart  curves over a numeric or categorical axis: PD with its ICE curves in light grey and
//               a rug of the rows' values along the axis, or ALE
#pragma once
#include <string>
#include <vector>

#include "render/viz.h"

namespace gt::viz {

struct Bar {
  std::string name;
  double value = 0, error = 0;  // error: half the error bar's length (0: none)
  std::string note;             // shown after the value ("age <= 28")
};
Image bar_chart(const std::vector<Bar>& bars, const std::string& title, const std::string& axis);

// A rule list in its order: each rule's text, then a bar of its probability on a 0..1 axis and a note.
struct RuleRow {
  std::string text;  // "IF sex = Male AND age > 37"
  double p = 0;
  std::string note;  // ">50K, 8,110 rows"
};
Image rule_chart(const std::vector<RuleRow>& rules, const std::string& title, const std::string& axis);

struct Curve {
  std::vector<double> y;
  Rgb color{200, 40, 30};
  int thickness = 2;
};
// x: the axis' values (numeric), or labels for a categorical axis (x then 0, 1, ...); rug: values
// marked under the axis.
Image line_chart(const std::vector<double>& x, const std::vector<std::string>& labels, const std::vector<Curve>& curves,
                 const std::vector<double>& rug, const std::string& title, const std::string& x_name,
                 const std::string& y_name);

// A grid of values (rows: the first axis, columns: the second) as coloured cells, with the two axes'
// first and last labels and the colour scale's ends: a 2-D partial dependence.
Image heat_chart(const std::vector<double>& values, const std::vector<std::string>& rows,
                 const std::vector<std::string>& columns, const std::string& title, const std::string& row_name,
                 const std::string& column_name, const std::string& value_name);

}  // namespace gt::viz
