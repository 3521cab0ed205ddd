// A libFuzzer entry point for the target named by GT_FUZZ_TARGET (one executable per target; see
// tests/fuzz/README.md). A gt::Error is a clean rejection; anything else reaches libFuzzer as a crash.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const gt::fuzz::Target* t = gt::fuzz::find_target(GT_FUZZ_TARGET);
  gt::fuzz::run_target(*t, data, size, true);
  return 0;
}
