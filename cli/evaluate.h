// gradtrace evaluate: shared between the command (cmd_evaluate.cpp) and its summary
// (evaluate_summary.cpp).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "cli/evaluate_store.h"
#include "data/items.h"
#include "xai/method.h"

namespace gt::cli {

struct EvalRun {
  std::vector<std::string> methods, metrics;
  data::Items items;
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
