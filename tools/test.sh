#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install what is missing, build, run ctest.
#   tools/test.sh              Release build in build/
#   tools/test.sh --sanitize   the same under -fsanitize=address,undefined, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh --test
dir=build flags=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRADTRACE_SANITIZE=ON)
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir" && ctest --output-on-failure -j"$(nproc)"
