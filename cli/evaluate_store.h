// The results of `gradtrace evaluate`, kept so that a run can stop at any point and go on later.
// Every finished item is appended to a journal (OUT.partial.RANK, one JSON line, flushed) before the
// next one starts; a run started again with the same configuration reads the finished file OUT and
// every journal, and skips the items they hold. At the end one process writes OUT from all of them,
// in item order, and removes the journals: the file depends on the configuration and the values
// only, not on how many processes ran, in which order they finished, or how often the run was cut.
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace gt::cli {

// What makes two runs the same run: key = value, in a fixed order (model, dataset, methods, ...).
using EvalConfig = std::vector<std::pair<std::string, std::string>>;

// One item's scores: (method, metric) -> value and curve.
struct ItemResult {
  int64_t item = 0;  // its index in the dataset's listing
  int64_t target = -1;
  struct Entry {
    std::string method, metric;
    double value = 0;
    std::vector<double> curve;
    std::vector<double> kept = {};  // a set metric's (sufficiency): its value comes at the end of the run
  };
  std::vector<Entry> entries;
  std::map<std::string, double> seconds;  // per metric ("method:NAME" for making the map); not in OUT
};

class ResultStore {
 public:
  // Reads OUT and OUT.partial.* when they exist. Throws InvalidArgument naming the first key whose
  // value differs when either was written by a run with another configuration.
  ResultStore(std::string out, EvalConfig config);
  bool has(int64_t item) const { return items_.count(item) > 0; }
  size_t size() const { return items_.size(); }
  const std::map<int64_t, ItemResult>& items() const { return items_; }
  std::map<int64_t, ItemResult>& items() { return items_; }  // the set metrics' values go in at the end
  // Appends r to this process's journal (OUT.partial.RANK; a process has one rank) and flushes it.
  void add(const ItemResult& r, int rank);
  // Reads the journals again (another process's items, after they all finished).
  void reload();
  // Writes OUT: every item held, in item order; then removes the journals.
  void write(const std::vector<std::string>& methods, const std::vector<std::string>& metrics);
  const std::string& out() const { return out_; }

 private:
  void read_file();
  void read_journal(const std::string& path);
  std::string out_;
  EvalConfig config_;
  std::map<int64_t, ItemResult> items_;
  std::ofstream journal_;  // this process's, opened at its first item
};

}  // namespace gt::cli
