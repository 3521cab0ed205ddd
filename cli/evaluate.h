// gradtrace evaluate: shared between the command (cmd_evaluate.cpp) and its summary
// (evaluate_summary.cpp).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "cli/evaluate_store.h"
#include "data/items.h"
#include "data/table.h"
#include "xai/method.h"
#include "xai/permutation_importance.h"
#include "xai/quality.h"

namespace gt::cli {

// A table model's run (cli/evaluate_table.cpp): its --dataset read with the model's schema, and the
// rows that are the items (the test split of the training file, else all; --limit first).
struct TableRun {
  data::Table table;
  std::vector<int64_t> rows;
  xai::TableRows background;  // kernelshap's: 100 training rows (seed 0)
};

// One method's answer for an item, and the method again for the metrics that explain anew.
struct Explained {
  std::vector<float> map;
  Tensor attribution;
  xai::quality::Explainer again;
};

// The methods a table model takes here, the items of a csv:FILE (names "row R (line L)", the class
// as label; a regression model is refused), and item i as the subject's input: x (1,1,1,columns),
// fn reshaping to the model's (N, columns).
const std::vector<std::string>& table_methods();
data::Items open_table_items(const nn::Model& m, const std::string& dataset, int64_t limit, TableRun& t);
void set_table_input(xai::Subject& s, const TableRun& t, int64_t i);
Explained explain_table_row(const std::string& method, xai::Subject& s, const TableRun& t, const xai::Target& target);

struct EvalRun {
  std::vector<std::string> methods, metrics;
  data::Items items;
  const TableRun* table = nullptr;               // set for a table model
  std::map<std::string, xai::Options> settings;  // each metric's options
  std::string out;                               // results.h5
  double seconds = 0;                            // the wall time of this run
};

// The processes of a run (cli/evaluate_mpi.cpp): rank 0 of 1 unless mpirun or srun started it.
struct Mpi {
  int rank = 0, size = 1, local_size = 1;  // local: the ranks on this machine
};
bool mpi_built();
// Joins the MPI run when a launcher started this process (its environment says so); a build without
// MPI then throws UsageError.
Mpi mpi_start();
// Rank 0's list of the items to do, given to every rank.
void mpi_share(const Mpi& m, std::vector<int64_t>& todo);
// The next position in that list: a fetch-and-add on a counter rank 0 holds (a local count alone).
int64_t mpi_next(const Mpi& m);
void mpi_barrier(const Mpi& m);

// mean, the half-width of its 95% confidence interval (Student's t), and the count of finite values.
struct MeanCi {
  double mean = 0, half = 0;
  int64_t n = 0;
};
MeanCi mean_ci(const std::vector<double>& v);

// Prints the summary (methods x metrics: mean +- 95% CI and the rank per metric, then the time per
// metric) and writes OUT-stem.csv (one line per item, method and metric), OUT-stem_summary.csv and
// OUT-stem.html next to OUT.
void summarize(const EvalRun& run, const ResultStore& store);

}  // namespace gt::cli
