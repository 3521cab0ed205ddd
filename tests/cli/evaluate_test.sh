#!/usr/bin/env bash
# gradtrace evaluate: bad input refused (exit 2, or 1 with the file named), a run killed and started
# again ends with the same file byte for byte, and with MPI (when built in and mpirun is there):
# -np 2 gives the same file as one process, and so does a run whose rank 1 was killed, resumed;
# without MPI in the build, a run under a launcher is refused.
#   evaluate_test.sh GRADTRACE
set -u
gt="$1"
tmp=$(mktemp -d)
trap 'pkill -9 -f "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
expect_out() {  # expect_out CODE PATTERN command...
  local want=$1 pattern=$2; shift 2
  "$@" >"$tmp/out" 2>&1
  local got=$?
  [ "$got" = "$want" ] || { echo "FAIL: '$*' exited $got, expected $want"; cat "$tmp/out"; fail=1; }
  grep -q -- "$pattern" "$tmp/out" || { echo "FAIL: '$*' did not print '$pattern'"; cat "$tmp/out"; fail=1; }
}
same() {  # same A B: the two results files are byte for byte the same
  cmp -s "$1" "$2" || { echo "FAIL: $2 differs from $1"; fail=1; }
}
if [ ! -d "${GRADTRACE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" ]; then
  echo "skipped: no Fashion-MNIST (apt-get install dataset-fashion-mnist)"
  exit 0
fi
# 28x28 masks (the embedded fashion_cnn's input): the left half, and one of the wrong size
png() {  # png FILE W H: white where x < W/2
  python3 - "$@" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = b"".join(b"\0" + bytes(255 if x < w // 2 else 0 for x in range(w)) for _ in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
}
mkdir -p "$tmp/masks" "$tmp/bad"
for i in 0 1 2 3 4 5; do png "$tmp/masks/fashion-mnist_test_$i.png" 28 28; done
png "$tmp/bad/fashion-mnist_test_0.png" 32 30

ev=("$gt" evaluate --dataset fashion-mnist:test --methods saliency,gradcam --threads 1)
expect_out 0 "pointing-game" "$gt" evaluate --help
expect_out 2 "unknown metric 'frobnicate' (known: " "${ev[@]}" --metrics sparseness,frobnicate --out "$tmp/x.h5"
expect_out 2 "unknown method" "${ev[@]}" --methods saliency,nope --out "$tmp/x.h5"
expect_out 2 "out FILE.h5 is required" "${ev[@]}"
expect_out 2 "needs --masks" "${ev[@]}" --metrics pointing-game --out "$tmp/x.h5"
expect_out 2 "unknown --dataset" "$gt" evaluate --dataset mnist --out "$tmp/x.h5"
expect_out 1 "bad/fashion-mnist_test_0.png is 32x30, the model's input is 28x28" \
  "${ev[@]}" --limit 2 --metrics pointing-game --masks "$tmp/bad" --out "$tmp/x.h5"
[ -e "$tmp/x.h5" ] && { echo "FAIL: a refused run left x.h5"; fail=1; }

# localisation with masks, and the summary files
expect_out 0 "relevance-mass-accuracy" "${ev[@]}" --limit 6 --masks "$tmp/masks" \
  --metrics pointing-game,relevance-mass-accuracy,relevance-rank-accuracy,auc,sparseness --out "$tmp/loc.h5"
for f in loc.h5 loc.csv loc_summary.csv loc.html; do [ -s "$tmp/$f" ] || { echo "FAIL: no $f"; fail=1; }; done
[ "$(wc -l <"$tmp/loc.csv")" = 61 ] || { echo "FAIL: loc.csv should have 6 items x 2 methods x 5 metrics + 1 lines"; fail=1; }

# every metric at small settings (the sanitizer pass runs each one's code here)
small=max-sensitivity.samples=3,avg-sensitivity.samples=3,local-lipschitz.samples=3,monotonicity-correlation.step=98
small=$small,monotonicity-correlation.samples=3,pixel-flipping.step=98,faithfulness-correlation.runs=5,road.step=33
expect_out 0 "random-logit" "${ev[@]}" --limit 2 --methods saliency,ig --masks "$tmp/masks" --metrics all --set "$small" \
  --out "$tmp/all.h5"
[ "$(wc -l <"$tmp/all.csv")" = $((2 * 2 * 23 + 1)) ] || { echo "FAIL: all.csv should have 2 items x 2 methods x 23 metrics + 1 lines"; fail=1; }

# resumable: killed part-way, started again, the same file as one uninterrupted run; sufficiency's
# sets of 64 items (two in Release) are scored from the kept maps at the end, journals or not
n=${GT_EVALUATE_ITEMS:-120}  # fewer under the sanitizers, where each item is slower anyway
run=("${ev[@]}" --limit "$n" --metrics sparseness,deletion,sufficiency)
"${run[@]}" --out "$tmp/whole.h5" >/dev/null 2>&1 || { echo "FAIL: the whole run"; fail=1; }
"${run[@]}" --out "$tmp/cut.h5" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ "$(cat "$tmp"/cut.h5.partial.* 2>/dev/null | wc -l)" -gt 20 ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -e "$tmp/cut.h5" ] && echo "note: the run finished before it was killed"
expect_out 0 "items already done" "${run[@]}" --out "$tmp/cut.h5"
same "$tmp/whole.h5" "$tmp/cut.h5"
# sufficiency: a share of the close items, and items that have close ones
awk -F, '$6 == "sufficiency" { n++; if ($7 < 0 || $7 > 1) bad = 1; if ($7 > 0) some++ } END { exit bad || !n || !some }' \
  "$tmp/whole.csv" || { echo "FAIL: sufficiency should lie in [0, 1] and be above 0 somewhere"; fail=1; }
ls "$tmp"/cut.h5.partial.* >/dev/null 2>&1 && { echo "FAIL: the journals were left behind"; fail=1; }
expect_out 2 "another methods: 'saliency,gradcam', this run has 'saliency'" \
  "$gt" evaluate --dataset fashion-mnist:test --methods saliency --limit "$n" --metrics sparseness,deletion --threads 1 --out "$tmp/cut.h5"

# a finished run started again reads its file back and rewrites it the same: curves whole, though
# gradcam's MPRT curve of item 4 holds a NaN (a constant map at one layer) before its end
fin=("${ev[@]}" --limit 5 --methods gradcam --metrics mprt,road,sufficiency --out "$tmp/fin.h5")
"${fin[@]}" >/dev/null 2>&1 || { echo "FAIL: the MPRT run"; fail=1; }
cp "$tmp/fin.h5" "$tmp/fin0.h5"
expect_out 0 "5 of 5 items already done" "${fin[@]}"
same "$tmp/fin0.h5" "$tmp/fin.h5"

# a table model: the rows of its CSV are the items, the table methods, the metrics a row can take
penguins="$(dirname "$0")/../../../shared/data/tables/penguins.csv"
if [ -f "$penguins" ]; then
  "$gt" train --dataset "csv:$penguins" --target species --epochs 5 --threads 1 --out "$tmp/pen.h5" >/dev/null 2>&1 ||
    { echo "FAIL: training the penguins model"; fail=1; }
  tab=("$gt" evaluate --weights "$tmp/pen.h5" --dataset "csv:$penguins" --limit 4 --threads 1)
  expect_out 0 "monotonicity-correlation" "${tab[@]}" --methods saliency,kernelshap \
    --set avg-sensitivity.samples=5,monotonicity-correlation.samples=5 --out "$tmp/tab.h5"
  [ "$(wc -l <"$tmp/tab.csv")" = 65 ] || { echo "FAIL: tab.csv should have 4 rows x 2 methods x 8 metrics + 1 lines"; fail=1; }
  grep -q "row .* (line " "$tmp/tab.csv" || { echo "FAIL: tab.csv names no rows"; fail=1; }
  # input invariance on an MLP, whose first layer has no border: the gradient of the shifted model at
  # the shifted row is the gradient (0 exactly, up to rounding), gradient x input is not
  expect_out 0 "input-invariance" "${tab[@]}" --methods saliency,gradxinput --metrics input-invariance --out "$tmp/ii.h5"
  awk -F, '$5 == "saliency" && ($7 > 1e-9 || $7 < -1e-9) { bad = 1 } $5 == "gradxinput" && $7 < 0.05 { bad = 1 }
    END { exit bad }' "$tmp/ii.csv" || { echo "FAIL: input invariance: saliency should be 0, gradxinput not"; cat "$tmp/ii.csv"; fail=1; }
  expect_out 2 "on a table model evaluate runs saliency, gradxinput, ig or kernelshap, not gradcam" "${tab[@]}" --methods gradcam --out "$tmp/t2.h5"
  expect_out 2 "metric 'road' needs a picture" "${tab[@]}" --methods ig --metrics road --out "$tmp/t2.h5"
  expect_out 2 "a table row has no mask" "${tab[@]}" --methods ig --masks "$tmp/masks" --out "$tmp/t2.h5"
  expect_out 2 "a table model takes --dataset csv:FILE" "$gt" evaluate --weights "$tmp/pen.h5" --dataset fashion-mnist:test \
    --out "$tmp/t2.h5"
  expect_out 2 "csv:FILE is for a table model" "$gt" evaluate --dataset "csv:$penguins" --out "$tmp/t2.h5"
else
  echo "skipped the table part: no ../shared/data/tables/penguins.csv"
fi

# A build without MPI (the sanitizer pass's) refuses a run that a launcher started (PMI_SIZE: what
# srun and Hydra set), in one line, before any work
if ! "$gt" evaluate --help | grep -q "MPI: built in"; then
  expect_out 2 "built without MPI, but mpirun or srun started it" env PMI_SIZE=2 "${ev[@]}" --limit 1 --out "$tmp/nompi.h5"
  [ "$(wc -l <"$tmp/out")" = 1 ] || { echo "FAIL: the refusal should be one line"; cat "$tmp/out"; fail=1; }
  ls "$tmp"/nompi.h5* >/dev/null 2>&1 && { echo "FAIL: the refused run wrote a file"; fail=1; }
fi

# MPI: a dynamic queue across ranks, gathered into one file
if [ "${GT_EVALUATE_MPI:-1}" = 0 ]; then
  echo "skipped the MPI part (GT_EVALUATE_MPI=0: the sanitizer pass)"
elif "$gt" evaluate --help | grep -q "MPI: built in" && command -v mpirun >/dev/null; then
  mpi=(mpirun -np 2 --oversubscribe)
  [ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
  "${mpi[@]}" "${run[@]}" --out "$tmp/mpi.h5" >"$tmp/mpi.log" 2>&1 || { echo "FAIL: mpirun -np 2"; cat "$tmp/mpi.log"; fail=1; }
  same "$tmp/whole.h5" "$tmp/mpi.h5"
  "${mpi[@]}" "${run[@]}" --out "$tmp/mpicut.h5" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ "$(cat "$tmp"/mpicut.h5.partial.1 2>/dev/null | wc -l)" -gt 10 ] && break; sleep 0.05; done
  victim=$(pgrep -f "evaluate .*$tmp/mpicut.h5" | while read -r p; do
    grep -qz "OMPI_COMM_WORLD_RANK=1" "/proc/$p/environ" 2>/dev/null && echo "$p"; done | head -1)
  [ -n "$victim" ] && kill -9 "$victim"
  wait $pid 2>/dev/null
  [ -n "$victim" ] || echo "note: rank 1 had finished before it could be killed"
  "${mpi[@]}" "${run[@]}" --out "$tmp/mpicut.h5" >"$tmp/mpi.log" 2>&1 || { echo "FAIL: the MPI resume"; cat "$tmp/mpi.log"; fail=1; }
  same "$tmp/whole.h5" "$tmp/mpicut.h5"
else
  echo "skipped the MPI part: gradtrace built without MPI, or no mpirun"
fi
[ $fail = 0 ] && echo "evaluate: all checks passed"
exit $fail
