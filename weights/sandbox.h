// Third-party parsers (stb_image, libhdf5) have memory-safety bugs on hostile files that gradtrace
// cannot fix from outside. in_child runs such a parse in a child process: a crash there, or a hang,
// becomes a clean one-line error here, and this process's memory is never exposed to the parser.
#pragma once
#include <functional>
#include <string>

namespace gt {

// Runs work() in a forked child and returns the bytes it returned. A gt::Error thrown by work() is
// thrown here with the same message; a child that crashes, or runs past timeout_s seconds, throws
// Error("<what>: <why_crash>"). The child runs single-threaded (no OpenMP) and ends with _exit.
std::string in_child(const std::string& what, const std::string& why_crash, const std::function<std::string()>& work,
                     int timeout_s = 300);

}  // namespace gt
