// Runs files through the fuzz targets, without libFuzzer (ctest runs it in every build, and under
// sanitizers in the sanitizer build):
//   gradtrace_corpus DIR        DIR/<target>/* are hostile files (found by fuzzing, or made by hand):
//                               each must end in a clean error (a gt::Error)
//   gradtrace_corpus --seeds DIR  DIR/<target>/* may parse or be refused; none may crash
//   gradtrace_corpus --snapshot IN.h5 OUT   writes IN.h5's snapshot and IN.h5 (a seed for the *_snap
//                                           targets: the snapshot's data ranges point into IN.h5)
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "io/hdf5.h"
#include "tests/fuzz/targets.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--snapshot") {
    try {
      // The snapshot's length, the snapshot, then the file its data ranges point into (targets.cpp).
      const gt::h5::File::SnapshotBytes sb = gt::h5::File::snapshot(argv[2]);
      if (sb.fd >= 0) close(sb.fd);
      const uint64_t len = sb.bytes.size();
      std::ifstream in(argv[2], std::ios::binary);
      std::ofstream out(argv[3], std::ios::binary);
      out.write(reinterpret_cast<const char*>(&len), sizeof len);
      out << sb.bytes << in.rdbuf();
    } catch (const gt::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
    return 0;
  }
  const bool seeds = argc == 3 && std::string(argv[1]) == "--seeds";
  if (argc != 2 && !seeds) {
    std::fprintf(stderr, "usage: gradtrace_corpus [--seeds] DIR | --snapshot IN.h5 OUT\n");
    return 2;
  }
  const fs::path root = argv[argc - 1];
  int files = 0, bad = 0;
  for (const auto& t : gt::fuzz::targets()) {
    const fs::path dir = root / t.name;
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const fs::path& p : paths) {
      std::ifstream in(p, std::ios::binary);
      const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const std::string error = gt::fuzz::run_target(t, bytes.data(), bytes.size());
      const bool ok = seeds || !error.empty();
      std::printf("%s %s/%s: %s\n", ok ? "ok  " : "FAIL", t.name, p.filename().c_str(),
                  error.empty() ? "parsed" : error.c_str());
      ++files;
      bad += !ok;
    }
  }
  std::printf("%d files, %d without a clean error\n", files, bad);
  return bad || files == 0 ? 1 : 0;
}
