#!/usr/bin/env bash
# Every C++ and CUDA source as .clang-format lays it out (clang-format --dry-run --Werror); run
# tools/check_format.sh --fix to format them in place.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' 2>/dev/null || find . -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh')
if [ "${1:-}" = "--fix" ]; then echo "$files" | xargs clang-format -i; exit 0; fi
echo "$files" | xargs clang-format --dry-run --Werror
echo "format: $(echo "$files" | wc -l) files as .clang-format lays them out ($(clang-format --version | sed 's/.*version //'))"
