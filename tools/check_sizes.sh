#!/usr/bin/env bash
# Size rules of the code: no source file over 600 lines, no function over 100 lines (test cases
# included). A function is counted from a line at column 0 that ends in '{' (a definition, a
# TEST_CASE) to its closing '}' at column 0, as clang-format lays them out. Exits 1 on a breach.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | xargs awk -v maxf=100 -v maxl=600 '
  FNR == 1 { if (prev != "" && lines > maxl) { print prev ": " lines " lines (over " maxl ")"; bad = 1 } infn = 0; cand = 0 }
  { prev = FILENAME; lines = FNR }
  # A definition starts at column 0 and opens its body with a "{" at the end of that line or of
  # one of the continuation lines after it.
  !infn && /^[A-Za-z_]/ && !/^(namespace|struct|class|enum|union|extern|using|typedef)/ { cand = FNR; name = $0 }
  !infn && /;[ ]*$/ { cand = 0 }
  !infn && cand && /[)] *(const *)?(override *)?(noexcept *)?(-> *[A-Za-z_:<>]+ *)?[{] *$/ { infn = 1; start = cand; next }
  infn && /^}/ {
    if (FNR - start + 1 > maxf) { sub(/ *[{] *$/, "", name); print FILENAME ":" start ": " FNR - start + 1 " lines (over " maxf "): " name; bad = 1 }
    infn = 0; cand = 0
  }
  END { if (lines > maxl) { print prev ": " lines " lines (over " maxl ")"; bad = 1 } exit bad }
' && echo "sizes: every file at most 600 lines, every function at most 100"
