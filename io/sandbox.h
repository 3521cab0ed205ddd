// Third-party parsers (stb_image, libhdf5) have memory-safety bugs on hostile files that gradtrace
// cannot fix from outside. in_child runs such a parse in a child process: a crash there, or a hang,
// becomes a clean one-line error here, and this process's memory is never exposed to the parser.
#pragma once
#include <functional>
#include <string>

namespace gt {

// What a child may use beyond what the process holds when it forks. Fuzzing found files on which
// libhdf5 loops forever, or allocates without end: these limits turn both into an error.
struct ChildLimits {
  double memory_bytes;  // writable memory (RLIMIT_DATA); an allocation past it fails
  int cpu_seconds;      // CPU time (RLIMIT_CPU); the wall-clock limit is 4x this plus 30 s
};

// Runs work() in a forked child and returns the bytes it returned. A gt::Error thrown by work() is
// thrown here with the same message (std::bad_alloc too, as "<what>: ..."). A child that crashes
// throws Error("<what>: <why_crash>"), one that runs out of time Error("<what>: cannot read (...)").
// The child runs single-threaded (no OpenMP), writes no core file, and ends with _exit.
std::string in_child(const std::string& what, const std::string& why_crash, const std::function<std::string()>& work,
                     const ChildLimits& limits);

}  // namespace gt
