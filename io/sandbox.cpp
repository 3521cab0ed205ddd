#include "io/sandbox.h"

#include <omp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include "autodiff/tensor.h"
#include "io/limits.h"

namespace gt {
namespace {
bool write_all(int fd, const void* src, size_t n) {
  for (auto* p = static_cast<const char*>(src); n > 0;) {
    const ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k, n -= size_t(k);
  }
  return true;
}

// Reads n bytes before the deadline; false on end of file, error or timeout.
bool read_all(int fd, void* dst, size_t n, std::chrono::steady_clock::time_point deadline) {
  for (auto* p = static_cast<char*>(dst); n > 0;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd pfd{fd, POLLIN, 0};
    const int r = left > 0 ? poll(&pfd, 1, int(std::min<int64_t>(left, INT32_MAX))) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    const ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k, n -= size_t(k);
  }
  return true;
}

// The limits apply to what the child holds beyond its inheritance: RLIMIT_DATA counts writable
// private memory only, not address space, so it works under the sanitizers' terabyte shadow mappings.
void limit_child(const ChildLimits& limits) {
  std::ifstream status("/proc/self/status");
  double data_kb = 0;
  for (std::string key; status >> key;)
    if (key == "VmData:" && status >> data_kb) break;
  const auto lower = [](int resource, double to) {
    rlimit r{};
    if (getrlimit(resource, &r) != 0) return;
    const rlim_t want = rlim_t(to);
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < want) return;
    r.rlim_cur = want;
    if (resource == RLIMIT_CPU) r.rlim_max = want + 1;  // SIGXCPU at the soft limit, SIGKILL a second later
    setrlimit(resource, &r);
  };
  lower(RLIMIT_DATA, data_kb * 1024 + limits.memory_bytes);
  lower(RLIMIT_CPU, limits.cpu_seconds);
  lower(RLIMIT_CORE, 0);
}
}  // namespace

std::string in_child(const std::string& what, const std::string& why_crash, const std::function<std::string()>& work,
                     const ChildLimits& limits) {
  int fds[2];
  if (pipe(fds) != 0) throw Error(what + ": cannot create a pipe for the sandboxed parser");
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    throw Error(what + ": cannot fork the sandboxed parser");
  }
  if (pid == 0) {  // the child: status byte ('o' ok, 'e' error), length, then the result or the message
    close(fds[0]);
    omp_set_num_threads(1);  // the parent's OpenMP thread pool does not exist here
    limit_child(limits);
    char status = 'o';
    std::string out;
    try {
      out = work();
    } catch (const Error& e) {
      status = 'e', out = e.what();
    } catch (const std::exception& e) {
      status = 'e', out = what + ": " + e.what();
    }
    const uint64_t n = out.size();
    const bool ok =
        write_all(fds[1], &status, 1) && write_all(fds[1], &n, sizeof n) && write_all(fds[1], out.data(), out.size());
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4 * limits.cpu_seconds + 30);
  char status = 0;
  uint64_t n = 0;
  std::string out;
  bool got =
      read_all(fds[0], &status, 1, deadline) && read_all(fds[0], &n, sizeof n, deadline) && n < (uint64_t(1) << 34);
  if (got) {
    out.resize(size_t(n));
    got = read_all(fds[0], out.data(), out.size(), deadline);
  }
  close(fds[0]);
  const bool late = !got && std::chrono::steady_clock::now() >= deadline;
  if (!got) kill(pid, SIGKILL);  // crashed (end of file) or hung (timeout): make sure it is gone
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (late || (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGXCPU))
    throw Error(what + ": cannot read (parsing it ran past " + std::to_string(limits.cpu_seconds) +
                " s: a corrupt or hostile file)");
  if (!got || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) throw Error(what + ": " + why_crash);
  if (status == 'e') throw Error(out);
  return out;
}

}  // namespace gt
