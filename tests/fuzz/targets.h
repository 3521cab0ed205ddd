// The file parsers as fuzz targets: each feeds bytes to one parser the way gradtrace feeds it a file.
// For hostile bytes a gt::Error (a clean, one-line message) is the right outcome; anything else - a
// crash, another exception, a sanitizer report, an allocation over the limits - is a bug.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gt::fuzz {

struct Target {
  const char* name;  // also the folder of its seeds and regression files (tests/corpus/<name>/)
  // As gradtrace reads a file: from disk, third-party parsers in a child process (io/sandbox.h).
  // The corpus runs through this.
  void (*run)(const uint8_t* data, size_t size);
  // The same parse in this process, which is what libFuzzer runs: it must see the parsers' coverage
  // and their crashes (tools/fuzz.sh keeps going after a crash where a library has known bugs).
  void (*fuzz)(const uint8_t* data, size_t size);
};
const std::vector<Target>& targets();
const Target* find_target(const std::string& name);

// Runs a target's `run` (or `fuzz`); returns the gt::Error's message, or "" when the bytes parsed.
// Other exceptions pass.
std::string run_target(const Target& t, const uint8_t* data, size_t size, bool in_process = false);

}  // namespace gt::fuzz
