#!/usr/bin/env bash
# Training speed of fashion_cnn against PyTorch, interleaved in one run on one machine:
#   tools/bench_train_vs_torch.sh [ROUNDS] [THREADS]        (default 5 rounds, 2 threads)
# Each round trains 100 steps of batch 128 (SGD, flips) in gradtrace (`train --limit 12800 --epochs 1`,
# samples/s of the epoch, batch assembly included) and in tools/bench_train_torch.py (the same
# network, batch, optimizer and augmentation), and prints both and their ratio; then the median.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
threads=${2:-2}
gt=build/gradtrace
[ -x "$gt" ] || { echo "build gradtrace first (cmake --build build)"; exit 1; }
ratios=()
for r in $(seq "$rounds"); do
  ours=$("$gt" train --dataset fashion-mnist --limit 12800 --epochs 1 --augment flip --threads "$threads" \
    --out /tmp/gt_bench_train.h5 | grep -o '[0-9]* samples/s' | grep -o '[0-9]*')
  theirs=$(/usr/bin/python3 tools/bench_train_torch.py --threads "$threads" --steps 100 | grep -o '[0-9]* samples/s' | grep -o '[0-9]*')
  ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
  ratios+=("$ratio")
  echo "round $r: gradtrace $ours samples/s, PyTorch $theirs samples/s, ratio $ratio"
done
rm -f /tmp/gt_bench_train.h5 /tmp/gt_bench_train.ckpt.h5
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print "median ratio (gradtrace / PyTorch samples/s): " a[int((NR + 1) / 2)] }'
