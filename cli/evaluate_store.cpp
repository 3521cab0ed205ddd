#include "cli/evaluate_store.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "autodiff/tensor.h"
#include "cli/cli.h"
#include "io/hdf5.h"

namespace gt::cli {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Json config_json(const EvalConfig& c) {
  Json j = Json::object();
  for (const auto& [k, v] : c) j[k] = v;
  return j;
}

// Refuses results written with another configuration, naming the first difference.
void same_config(const EvalConfig& want, const Json& got, const std::string& where) {
  for (const auto& [k, v] : want) {
    const std::string had = got.contains(k) && got[k].is_string() ? got[k].get<std::string>() : "(none)";
    if (had != v)
      throw InvalidArgument(where + " comes from a run with another " + k + ": '" + had + "', this run has '" + v +
                            "' (give another --out, or remove " + where + " to start over)");
  }
}

// JSON has no NaN: null stands for it.
Json number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
double number(const Json& j) { return j.is_number() ? j.get<double>() : kNaN; }

std::vector<std::string> journals(const std::string& out) {
  std::vector<std::string> found;
  const fs::path p(out);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string() + ".partial.";
  if (!fs::is_directory(dir)) return found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) found.push_back(e.path().string());
  std::sort(found.begin(), found.end());
  return found;
}
}  // namespace

ResultStore::ResultStore(std::string out, EvalConfig config) : out_(std::move(out)), config_(std::move(config)) {
  if (fs::exists(out_)) read_file();
  reload();
}

void ResultStore::reload() {
  for (const std::string& j : journals(out_)) read_journal(j);
}

void ResultStore::read_file() {
  const h5::File f(out_, h5::File::Mode::read);
  if (!f.has_attr("config")) throw InvalidArgument(out_ + " is not a file that gradtrace evaluate wrote");
  same_config(config_, Json::parse(f.attr_string("config"), nullptr, false), out_);
  const std::vector<double> index = f.read("items/index", DType::f64).to_vector_f64();
  const std::vector<double> target = f.read("items/target", DType::f64).to_vector_f64();
  for (size_t i = 0; i < index.size(); ++i) {
    ItemResult& r = items_[int64_t(index[i])];
    r.item = int64_t(index[i]);
    r.target = int64_t(target[i]);
  }
  for (const std::string& method : comma_list(f.attr_string("methods")))
    for (const std::string& metric : comma_list(f.attr_string("metrics"))) {
      const std::string key = method + "/" + metric;
      if (!f.has("scores/" + key)) continue;
      const std::vector<double> v = f.read("scores/" + key, DType::f64).to_vector_f64();
      std::vector<double> curves, lengths(index.size(), 0);
      int64_t L = 0;
      if (f.has("curves/" + key)) {
        L = f.shape("curves/" + key)[1];
        curves = f.read("curves/" + key, DType::f64).to_vector_f64();
        if (f.has("curve_lengths/" + key))
          lengths = f.read("curve_lengths/" + key, DType::f64).to_vector_f64();
        else  // a file from before the lengths were stored: a curve ends at its first NaN
          for (size_t i = 0; i < index.size(); ++i)
            while (lengths[i] < double(L) && !std::isnan(curves[i * size_t(L) + size_t(lengths[i])])) ++lengths[i];
      }
      std::vector<double> kept;  // a set metric's, every row as long
      const int64_t K = f.has("kept/" + key) ? f.shape("kept/" + key)[1] : 0;
      if (K) kept = f.read("kept/" + key, DType::f64).to_vector_f64();
      for (size_t i = 0; i < index.size(); ++i) {
        ItemResult::Entry e{method, metric, v[i], {}, {}};
        const auto row = curves.begin() + int64_t(i) * L;
        e.curve.assign(row, row + int64_t(lengths[i]));
        if (K) e.kept.assign(kept.begin() + int64_t(i) * K, kept.begin() + int64_t(i + 1) * K);
        items_[int64_t(index[i])].entries.push_back(std::move(e));
      }
    }
}

void ResultStore::read_journal(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // the line a killed process left half-written
    if (first) {
      if (!j.contains("config")) throw InvalidArgument(path + " is not a gradtrace evaluate journal");
      same_config(config_, j["config"], path);
      first = false;
      continue;
    }
    ItemResult r;
    r.item = j.value("item", int64_t(-1));
    r.target = j.value("target", int64_t(-1));
    if (r.item < 0 || items_.count(r.item)) continue;
    for (const Json& e : j["entries"]) {
      ItemResult::Entry x{e["m"].get<std::string>(), e["k"].get<std::string>(), number(e["v"]), {}, {}};
      for (const Json& c : e["c"]) x.curve.push_back(number(c));
      if (e.contains("kp"))
        for (const Json& c : e["kp"]) x.kept.push_back(number(c));
      r.entries.push_back(std::move(x));
    }
    for (const auto& [k, v] : j["s"].items()) r.seconds[k] = v.get<double>();
    items_[r.item] = std::move(r);
  }
}

void ResultStore::add(const ItemResult& r, int rank) {
  if (!journal_.is_open()) {
    const std::string path = out_ + ".partial." + std::to_string(rank);
    const bool fresh = !fs::exists(path);
    const fs::path dir = fs::path(path).parent_path();
    if (!dir.empty()) fs::create_directories(dir);
    journal_.open(path, std::ios::app);
    if (!journal_) throw Error("cannot write " + path);
    if (fresh) journal_ << Json{{"config", config_json(config_)}}.dump() << '\n';
  }
  Json entries = Json::array();
  for (const auto& e : r.entries) {
    Json c = Json::array();
    for (double v : e.curve) c.push_back(number(v));
    Json entry{{"m", e.method}, {"k", e.metric}, {"v", number(e.value)}, {"c", c}};
    if (!e.kept.empty()) entry["kp"] = e.kept;
    entries.push_back(std::move(entry));
  }
  Json seconds = Json::object();
  for (const auto& [k, v] : r.seconds) seconds[k] = v;
  journal_ << Json{{"item", r.item}, {"target", r.target}, {"entries", entries}, {"s", seconds}}.dump() << '\n';
  journal_.flush();
  if (!journal_) throw Error("cannot write the journal of " + out_);
  items_[r.item] = r;
}

void ResultStore::write(const std::vector<std::string>& methods, const std::vector<std::string>& metrics) {
  const int64_t N = int64_t(items_.size());
  std::vector<double> index, target;
  for (const auto& [i, r] : items_) index.push_back(double(i)), target.push_back(double(r.target));
  h5::File f(out_, h5::File::Mode::write);
  f.store_as(DType::f64);
  f.set_attr("config", config_json(config_).dump());
  f.set_attr("methods", comma_join(methods));
  f.set_attr("metrics", comma_join(metrics));
  f.set_attr("items", double(N));
  f.write("items/index", Tensor::from_vector({N}, index, DType::f64));
  f.write("items/target", Tensor::from_vector({N}, target, DType::f64));
  for (const auto& method : methods)
    for (const auto& metric : metrics) {
      std::vector<double> v(size_t(N), kNaN);
      std::vector<std::vector<double>> curves(static_cast<size_t>(N));
      std::vector<double> kept;
      size_t L = 0;
      int64_t row = 0;
      for (const auto& [i, r] : items_) {
        for (const auto& e : r.entries)
          if (e.method == method && e.metric == metric) {
            v[size_t(row)] = e.value;
            curves[size_t(row)] = e.curve;
            L = std::max(L, e.curve.size());
            kept.insert(kept.end(), e.kept.begin(), e.kept.end());
          }
        ++row;
      }
      const std::string key = method + "/" + metric;
      f.write("scores/" + key, Tensor::from_vector({N}, v, DType::f64));
      if (!kept.empty()) {  // float32: the maps are, and the classes fit
        const int64_t K = int64_t(kept.size()) / N;
        if (K * N != int64_t(kept.size())) throw Error("evaluate: " + key + " kept rows of different lengths");
        f.store_as(DType::f32);
        f.write("kept/" + key, Tensor::from_vector({N, K}, kept, DType::f64));
        f.store_as(DType::f64);
      }
      if (L == 0) continue;
      std::vector<double> flat(size_t(N) * L, kNaN), lengths;  // shorter curves end in NaN
      for (size_t r = 0; r < size_t(N); ++r) {
        std::copy(curves[r].begin(), curves[r].end(), flat.begin() + r * L);
        lengths.push_back(double(curves[r].size()));  // a curve's own NaN (MPRT's constant map) is no end
      }
      f.write("curves/" + key, Tensor::from_vector({N, int64_t(L)}, flat, DType::f64));
      f.write("curve_lengths/" + key, Tensor::from_vector({N}, lengths, DType::f64));
    }
  f.commit();
  journal_.close();
  for (const std::string& j : journals(out_)) fs::remove(j);
}

}  // namespace gt::cli
