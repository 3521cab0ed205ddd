#!/usr/bin/env bash
# Keeps docs/walkthrough.md (and docs/walkthrough_tables.md) honest: runs every command of its
# ```console blocks ("$ " lines, in a scratch folder holding the course photo, the MobileNet file and
# UCI Adult) and checks that the output shown under each command appears in what the command
# printed, in order, numbers within 1% (lines shown as "..." stand for lines left out). Skips (77)
# without ../shared/data.
#   tests/cli/walkthrough.sh BIN_DIR [DOC]             BIN_DIR holds the gradtrace binary
#   tests/cli/walkthrough.sh BIN_DIR DOC --images DIR  also copy the PNGs the page shows into DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(cd "$1" && pwd)" doc="${2:-$root/docs/walkthrough.md}" images=""
[ "${3:-}" = "--images" ] && images="$(cd "$4" && pwd)"
data="$root/../shared/data"
[ -d "$data" ] || { echo "skipped: ../shared/data is absent (the walkthrough follows its cat photo)"; exit 77; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
ln -s "$data/images/chelsea.png" "$work/chelsea.png"
ln -s "$data/weights/mobilenet_v1_0.25_224.tflite" "$work/mobilenet_v1_0.25_224.tflite"
ln -s "$data/tables/adult.csv" "$work/adult.csv"  # docs/walkthrough_tables.md

# The page as numbered command and expectation files: cmd.N and want.N.
awk -v dir="$work" '
  /^```console/ { inblock = 1; next }
  /^```/        { inblock = 0; next }
  inblock && /^\$ / { n++; print substr($0, 3) > (dir "/cmd." n); printf "" > (dir "/want." n); next }
  inblock && n && $0 != "..." { print > (dir "/want." n) }
' "$doc"

# Does every line of want appear in got, in order, numbers equal within 1%?
compare='
  function num(s) { return s ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?%?$/ }
  function same(a, b,   na, nb, x, y, i, wa, wb) {
    na = split(a, wa); nb = split(b, wb)
    if (na != nb) return 0
    for (i = 1; i <= na; i++) {
      if (wa[i] == wb[i]) continue
      if (!num(wa[i]) || !num(wb[i])) return 0
      x = wa[i] + 0; y = wb[i] + 0
      if ((x - y) ^ 2 > (0.01 * ((x < 0 ? -x : x) + (y < 0 ? -y : y))) ^ 2 + 1e-24) return 0
    }
    return 1
  }
  NR == FNR { want[++w] = $0; next }
  { got[++g] = $0 }
  END {
    j = 1
    for (i = 1; i <= w; i++) {
      while (j <= g && !same(want[i], got[j])) j++
      if (j > g) { print "  this line of the page was not printed (in this order):\n    " want[i]; exit 1 }
      j++
    }
  }'

export PATH="$bin:$PATH"
fail=0
for ((i = 1; ; i++)); do
  [ -f "$work/cmd.$i" ] || break
  cmd=$(cat "$work/cmd.$i")
  echo "\$ $cmd"
  # stdout, then stderr: a file keeps stdout buffered, so the two would interleave mid-line.
  status=0
  (cd "$work" && bash -c "$cmd") >"$work/got.$i" 2>"$work/err.$i" || status=$?
  cat "$work/err.$i" >>"$work/got.$i"
  if [ $status -ne 0 ]; then
    echo "  FAILED (exit code $status):"; sed 's/^/    /' "$work/got.$i"; fail=1; continue
  fi
  if ! awk "$compare" "$work/want.$i" "$work/got.$i"; then
    echo "  it printed:"; sed 's/^/    /' "$work/got.$i"; fail=1
  fi
done
[ "$i" -gt 1 ] || { echo "no commands found in $doc"; exit 1; }
if [ -n "$images" ]; then
  for f in $(grep -o 'walkthrough/[a-z0-9_]*\.png' "$doc" | sort -u); do cp "$work/$(basename "$f")" "$images/"; done
fi
[ $fail -eq 0 ] && echo "all $((i - 1)) commands of $(basename "$doc") ran and printed what the page shows"
exit $fail
