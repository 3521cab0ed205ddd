// gradtrace evaluate's summary: per method and metric the mean with its 95% confidence interval and
// the methods' ranking, printed, as CSV and as an offline HTML page with the curve metrics' mean curves.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "cli/cli.h"
#include "cli/evaluate.h"
#include "xai/quality.h"

namespace gt::cli {
namespace {
using xai::fmt;

// Student's t quantile t_{0.975, df}: tabled to 3 decimals up to df 30, then the Cornish-Fisher expansion
// z + (z^3 + z) / 4df + (5z^5 + 16z^3 + 3z) / 96df^2 (error < 1e-4 there).
double t975(int64_t df) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return NAN;
  if (df <= 30) return table[df - 1];
  const double z = 1.959964, d = double(df);
  return z + (z * z * z + z) / (4 * d) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * d * d);
}

// Per (method, metric): the values of every item, and the mean curve of a curve metric.
struct Collected {
  std::map<std::pair<std::string, std::string>, std::vector<double>> values;
  std::map<std::pair<std::string, std::string>, std::vector<double>> curve_sum;
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> curve_n;
  std::map<std::string, double> seconds;
};

Collected collect(const ResultStore& store) {
  Collected c;
  for (const auto& [i, r] : store.items()) {
    for (const auto& e : r.entries) {
      const auto key = std::make_pair(e.method, e.metric);
      c.values[key].push_back(e.value);
      auto& sum = c.curve_sum[key];
      auto& n = c.curve_n[key];
      if (sum.size() < e.curve.size()) sum.resize(e.curve.size(), 0), n.resize(e.curve.size(), 0);
      for (size_t k = 0; k < e.curve.size(); ++k)
        if (std::isfinite(e.curve[k])) sum[k] += e.curve[k], ++n[k];
    }
    for (const auto& [k, v] : r.seconds) c.seconds[k] += v;
  }
  return c;
}

// The methods ordered best first for a metric (by its better direction), ranks 1..n.
std::map<std::string, int> ranks(const EvalRun& run, const std::string& metric,
                                 const std::map<std::string, MeanCi>& m) {
  const int better = xai::quality::find(metric).better;
  std::vector<std::string> order = run.methods;
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return better >= 0 ? m.at(a).mean > m.at(b).mean : m.at(a).mean < m.at(b).mean;
  });
  std::map<std::string, int> r;
  for (size_t k = 0; k < order.size(); ++k) r[order[k]] = int(k) + 1;
  return r;
}

std::string stem(const std::string& out) {
  const size_t dot = out.rfind('.'), slash = out.rfind('/');
  return dot != std::string::npos && (slash == std::string::npos || dot > slash) ? out.substr(0, dot) : out;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string svg_curves(const EvalRun& run, const std::string& metric, const Collected& c);

}  // namespace

MeanCi mean_ci(const std::vector<double>& v) {
  MeanCi r;
  double sum = 0, sq = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++r.n;
  if (r.n == 0) return {NAN, NAN, 0};
  r.mean = sum / double(r.n);
  for (double x : v)
    if (std::isfinite(x)) sq += (x - r.mean) * (x - r.mean);
  r.half = r.n > 1 ? t975(r.n - 1) * std::sqrt(sq / double(r.n - 1) / double(r.n)) : NAN;
  return r;
}

void summarize(const EvalRun& run, const ResultStore& store) {
  const Collected c = collect(store);
  std::map<std::string, std::map<std::string, MeanCi>> stats;  // metric -> method -> stats
  for (const auto& metric : run.metrics)
    for (const auto& method : run.methods)
      stats[metric][method] =
          mean_ci(c.values.count({method, metric}) ? c.values.at({method, metric}) : std::vector<double>{});
  // the table on stdout and in the summary CSV
  std::ostringstream csv, html;
  csv << "metric,family,better,method,mean,ci95,n,rank\n";
  std::printf("\n%-24s %-6s", "metric", "better");
  for (const auto& m : run.methods) std::printf(" %24s", m.c_str());
  std::printf("\n");
  html << "<table><tr><th>metric</th><th>family</th><th>better</th>";
  for (const auto& m : run.methods) html << "<th>" << html_escape(m) << "</th>";
  html << "</tr>\n";
  for (const auto& metric : run.metrics) {
    const xai::quality::Metric& k = xai::quality::find(metric);
    const auto rank = ranks(run, metric, stats[metric]);
    const char* better = k.better > 0 ? "higher" : k.better < 0 ? "lower" : "-";
    std::printf("%-24s %-6s", metric.c_str(), better);
    html << "<tr><td title=\"" << html_escape(k.summary + " (" + k.paper + ")") << "\">" << html_escape(metric)
         << "</td><td>" << k.family << "</td><td>" << better << "</td>";
    for (const auto& method : run.methods) {
      const MeanCi& s = stats[metric][method];
      const std::string cell =
          s.n ? fmt("%.4g ± %.2g", s.mean, s.half) + (k.better ? " (" + std::to_string(rank.at(method)) + ")" : "")
              : "-";
      std::printf(" %24s", cell.c_str());
      html << "<td" << (k.better && rank.at(method) == 1 ? " class=best" : "") << ">" << html_escape(cell) << "</td>";
      csv << metric << "," << k.family << "," << better << "," << csv_quote(method) << "," << fmt("%.17g", s.mean)
          << "," << fmt("%.17g", s.half) << "," << s.n << "," << (k.better ? rank.at(method) : 0) << "\n";
    }
    std::printf("\n");
    html << "</tr>\n";
  }
  html << "</table>\n";
  std::printf("\ntime (s, all items of this run): ");
  for (const auto& [k, v] : c.seconds) std::printf("%s %.2f  ", k.c_str(), v);
  std::printf("\nwall time %.1f s\n", run.seconds);
  const std::string base = stem(run.out);
  write_text_file(base + "_summary.csv", csv.str());
  // one line per item, method and metric: the long format a notebook's pandas reads
  std::ostringstream items;
  items << "item,name,label,target,method,metric,value\n";
  for (const auto& [i, r] : store.items())
    for (const auto& e : r.entries)
      items << i << "," << csv_quote(run.items.names[size_t(i)]) << "," << csv_quote(run.items.labels[size_t(i)]) << ","
            << r.target << "," << csv_quote(e.method) << "," << e.metric << "," << fmt("%.17g", e.value) << "\n";
  write_text_file(base + ".csv", items.str());
  std::ostringstream page;
  page << "<!doctype html><meta charset=utf-8><title>gradtrace evaluate</title><style>body{font:14px sans-serif;"
          "margin:2em}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}td:first-child{text-align:"
          "left}.best{font-weight:bold;background:#eef6ee}</style>\n<h1>Which explanation can be trusted?</h1>\n<p>"
       << html_escape(run.items.source) << ": " << store.size() << " items; mean ± half-width of the 95% "
       << "confidence interval (Student's t), rank per metric in brackets (1 = best).</p>\n"
       << html.str();
  for (const auto& metric : run.metrics) page << svg_curves(run, metric, c);
  write_text_file(base + ".html", page.str());
  std::printf("wrote %s.csv, %s_summary.csv, %s.html\n", base.c_str(), base.c_str(), base.c_str());
}

namespace {
// The mean curve of each method for a curve metric, as an SVG line chart ("" when it has none).
std::string svg_curves(const EvalRun& run, const std::string& metric, const Collected& c) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"};
  std::vector<std::pair<std::string, std::vector<double>>> means;  // per method, NaN where no item has the point
  double lo = INFINITY, hi = -INFINITY;
  size_t L = 0;
  for (const auto& m : run.methods) {
    const auto key = std::make_pair(m, metric);
    if (!c.curve_sum.count(key)) continue;
    const std::vector<double>& sum = c.curve_sum.at(key);
    const std::vector<int64_t>& n = c.curve_n.at(key);
    std::vector<double> mean(sum.size(), NAN);
    for (size_t k = 0; k < sum.size(); ++k)
      if (n[k]) mean[k] = sum[k] / double(n[k]), lo = std::min(lo, mean[k]), hi = std::max(hi, mean[k]);
    L = std::max(L, mean.size());
    means.emplace_back(m, std::move(mean));
  }
  if (L < 2) return "";
  if (hi <= lo) hi = lo + 1;
  const double W = 480, H = 200;
  std::ostringstream s;
  s << "<h2>" << html_escape(metric) << ": the mean curve</h2>\n<svg width=" << W + 140 << " height=" << H + 30
    << "><rect x=0 y=0 width=" << W << " height=" << H << " fill=none stroke=#888 />";
  for (size_t ci = 0; ci < means.size(); ++ci) {
    const auto& [m, mean] = means[ci];
    s << "<polyline fill=none stroke=\"" << colors[ci % 7] << "\" points=\"";
    for (size_t k = 0; k < mean.size(); ++k)
      if (!std::isnan(mean[k]))
        s << fmt("%.1f,%.1f ", W * double(k) / double(L - 1), H - H * (mean[k] - lo) / (hi - lo));
    s << "\"/><text x=" << W + 8 << " y=" << 16 + 16 * ci << " fill=\"" << colors[ci % 7] << "\">" << html_escape(m)
      << "</text>";
  }
  s << "<text x=0 y=" << H + 16 << ">" << fmt("%.3g", lo) << " .. " << fmt("%.3g", hi) << "</text></svg>\n";
  return s.str();
}
}  // namespace

}  // namespace gt::cli
