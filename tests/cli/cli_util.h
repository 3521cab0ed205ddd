// The CLI run in-process (gt::cli::main), for the tests in gradtrace_cli_tests.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace gt::test {

// Runs the CLI with these arguments; returns its exit code, and what it printed (stdout and stderr)
// in `printed`.
inline int run_cli(std::vector<std::string> args, std::string& printed) {
  args.insert(args.begin(), "gradtrace");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  const std::string log = std::filesystem::temp_directory_path() / ("gt_cli_" + std::to_string(getpid()) + ".log");
  std::fflush(stdout), std::fflush(stderr);
  const int out = dup(1), err = dup(2);
  FILE* f = std::fopen(log.c_str(), "w");
  dup2(fileno(f), 1), dup2(fileno(f), 2);
  const int rc = cli::main(int(argv.size()), argv.data());
  std::fflush(stdout), std::fflush(stderr);
  dup2(out, 1), dup2(err, 2), close(out), close(err);
  std::fclose(f);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  printed = ss.str();
  std::filesystem::remove(log);
  return rc;
}

}  // namespace gt::test
