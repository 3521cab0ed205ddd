// TableSchema <-> JSON: the `table` attribute of a weights file (weights/FORMAT.md). Numbers are
// written with 17 significant digits, so a schema read back encodes rows bit for bit as before.
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "autodiff/tensor.h"
#include "data/table.h"

namespace gt::data {

std::string TableSchema::to_json() const {
  nlohmann::json j;
  j["header"] = header;
  j["target"] = target;
  j["task"] = task;
  j["classes"] = classes;
  j["target_mean"] = target_mean;
  j["target_scale"] = target_scale;
  j["split"] = {{"seed", split_seed}, {"val", split_val}, {"test", split_test}, {"rows", split_rows}};
  auto& fs = j["features"] = nlohmann::json::array();
  for (const TableColumn& f : features) {
    nlohmann::json c{{"name", f.name}, {"type", f.categorical ? "categorical" : "numeric"}};
    if (f.categorical) {
      c["categories"] = f.categories;
      c["fill"] = f.fill_category;
      c["frequencies"] = f.frequencies;
    } else {
      c["mean"] = f.mean;
      c["scale"] = f.scale;
      c["fill"] = f.fill;
    }
    fs.push_back(c);
  }
  return j.dump();
}

TableSchema TableSchema::from_json(const std::string& text, const std::string& where) {
  const auto bad = [&](const std::string& why) { return Error(where + ": the table schema " + why); };
  TableSchema s;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    s.header = j.at("header").get<std::vector<std::string>>();
    s.target = j.at("target").get<std::string>();
    s.task = j.at("task").get<std::string>();
    s.classes = j.at("classes").get<std::vector<std::string>>();
    s.target_mean = j.at("target_mean").get<double>();
    s.target_scale = j.at("target_scale").get<double>();
    const auto& split = j.at("split");
    s.split_seed = split.at("seed").get<uint64_t>();
    s.split_val = split.at("val").get<double>();
    s.split_test = split.at("test").get<double>();
    s.split_rows = split.at("rows").get<int64_t>();
    if (!(s.split_val >= 0 && s.split_test >= 0 && s.split_val + s.split_test < 1))
      throw bad("has a split that leaves no training rows");
    for (const auto& c : j.at("features")) {
      TableColumn f;
      f.name = c.at("name").get<std::string>();
      const std::string type = c.at("type").get<std::string>();
      if (type != "numeric" && type != "categorical") throw bad("has a feature of type '" + type + "'");
      f.categorical = type == "categorical";
      if (f.categorical) {
        f.categories = c.at("categories").get<std::vector<std::string>>();
        f.fill_category = c.at("fill").get<int64_t>();
        f.frequencies = c.at("frequencies").get<std::vector<double>>();
        if (f.frequencies.size() != f.categories.size())
          throw bad("gives " + f.name + " frequencies that do not fit its categories");
        if (f.categories.empty() || f.categories.size() > 100000 || f.fill_category < 0 ||
            f.fill_category >= int64_t(f.categories.size()))
          throw bad("gives " + f.name + " no categories or a fill outside them");
      } else {
        f.mean = c.at("mean").get<double>();
        f.scale = c.at("scale").get<double>();
        f.fill = c.at("fill").get<double>();
        if (!std::isfinite(f.mean) || !std::isfinite(f.fill) || !(f.scale > 0) || !std::isfinite(f.scale))
          throw bad("gives " + f.name + " a scale that is not positive, or a value that is not finite");
      }
      f.offset = s.width();
      s.features.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("is not valid (") + e.what() + ")");
  }
  std::set<std::string> names(s.header.begin(), s.header.end());
  if (names.size() != s.header.size()) throw bad("repeats a column name");
  for (const TableColumn& f : s.features)
    if (!names.count(f.name) || f.name == s.target) throw bad("has a feature, " + f.name + ", that is not a column");
  if (s.features.empty() || !names.count(s.target)) throw bad("has no features, or a target that is not a column");
  if (s.task == "classify" ? s.classes.size() < 2 : s.task != "regress" || !(s.target_scale > 0))
    throw bad("has a task other than classify (with two classes or more) or regress (with a positive scale)");
  return s;
}

}  // namespace gt::data
