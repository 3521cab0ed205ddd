#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build, and write a saliency map.
#   tools/demo.sh [gradtrace demo options]      e.g. tools/demo.sh --image photo.jpg --out map.png
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target gradtrace
build/gradtrace demo "$@"
