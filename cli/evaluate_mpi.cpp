// gradtrace evaluate across processes: MPI's one-sided fetch-and-add on a counter that rank 0 holds
// is the work queue (each rank takes the next item when it is free, so slow items do not idle the
// others), and the journals of cli/evaluate_store.h are the gather (rank 0 reads them all at the end).
// Without MPI in the build (GRADTRACE_HAVE_MPI unset) a run that mpirun or srun started is refused.
#include <cstdlib>
#include <thread>

#include "cli/cli.h"
#include "cli/evaluate.h"
#if GRADTRACE_HAVE_MPI
#include <mpi.h>
#endif

namespace gt::cli {
namespace {
// Whether a launcher started this process as one of several: OpenMPI's mpirun, MPICH/Hydra or
// Slurm's PMI, PMIx (srun --mpi=pmix).
bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}
int64_t local_next = 0;  // the queue without MPI
#if GRADTRACE_HAVE_MPI
MPI_Win counter_win = MPI_WIN_NULL;
int64_t counter = 0;  // rank 0's: the next position in the list of items to do
#endif
}  // namespace

bool mpi_built() { return GRADTRACE_HAVE_MPI; }

Mpi mpi_start() {
  Mpi m;
  local_next = 0;
  if (!launched()) return m;
#if GRADTRACE_HAVE_MPI
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    MPI_Init(nullptr, nullptr);
    std::atexit([] {
      if (counter_win != MPI_WIN_NULL) MPI_Win_free(&counter_win);
      MPI_Finalize();
    });
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &m.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &m.size);
  MPI_Comm local;  // the ranks on this machine share its cores
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, m.rank, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &m.local_size);
  MPI_Comm_free(&local);
  if (counter_win == MPI_WIN_NULL)
    MPI_Win_create(&counter, m.rank == 0 ? sizeof counter : 0, sizeof counter, MPI_INFO_NULL, MPI_COMM_WORLD,
                   &counter_win);
  counter = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  return m;
#else
  throw UsageError(
      "this gradtrace was built without MPI, but mpirun or srun started it: run it alone, or rebuild with "
      "libopenmpi-dev installed (cmake -DGRADTRACE_MPI=ON)");
#endif
}

void mpi_share(const Mpi& m, std::vector<int64_t>& todo) {
#if GRADTRACE_HAVE_MPI
  if (m.size == 1 && !launched()) return;
  int64_t n = int64_t(todo.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  todo.resize(size_t(n));
  MPI_Bcast(todo.data(), int(n), MPI_INT64_T, 0, MPI_COMM_WORLD);
#else
  (void)m, (void)todo;
#endif
}

int64_t mpi_next(const Mpi& m) {
#if GRADTRACE_HAVE_MPI
  if (launched()) {
    const int64_t one = 1;
    int64_t got = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, counter_win);
    MPI_Fetch_and_op(&one, &got, MPI_INT64_T, 0, 0, MPI_SUM, counter_win);
    MPI_Win_unlock(0, counter_win);
    return got;
  }
#endif
  (void)m;
  return local_next++;
}

void mpi_barrier(const Mpi& m) {
#if GRADTRACE_HAVE_MPI
  if (launched()) MPI_Barrier(MPI_COMM_WORLD);
#endif
  (void)m;
}

}  // namespace gt::cli
