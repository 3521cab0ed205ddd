#!/usr/bin/env bash
# Forward (or saliency) time of gradtrace against PyTorch, interleaved on the same machine.
#   tools/bench_vs_torch.sh [ROUNDS] [TASK] [MODELS]     defaults: 5 forward vgg16,resnet50,inception_v3,mobilenet_v2
# Each round times one model in gradtrace (`gradtrace bench`, median of 5) and then in PyTorch
# (../shared/bench/torch_xai_bench.py, median of 3), so both see the same load on a shared machine.
# Prints every round's ratio and, per model, the median ratio gradtrace / PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} task=${2:-forward} models=${3:-vgg16,resnet50,inception_v3,mobilenet_v2}
bench=../shared/bench/torch_xai_bench.py
[ -f "$bench" ] || { echo "bench_vs_torch: $bench not found" >&2; exit 1; }
key=$([ "$task" = forward ] && echo fwd || echo "$task")
export NO_IG=$([ "$task" = ig50 ] || echo 1)
for m in ${models//,/ }; do
  ratios=()
  for ((r = 1; r <= rounds; r++)); do
    ours=$(build/gradtrace bench --model "$m" --task "$task" --threads 2 --repeat 5 | sed -E 's/.*: ([0-9.]+) ms.*/\1/')
    theirs=$(MODELS=$m /usr/bin/python3 "$bench" 2 2>/dev/null | sed -E "s/.* $key=([0-9.]+)ms.*/\1/")
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    ratios+=("$ratio")
    echo "$m $task round $r: gradtrace $ours ms, torch $theirs ms, ratio $ratio"
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk -v m="$m" '{ a[NR] = $1 } END { print m ": median ratio " a[int((NR + 1) / 2)] " over " NR " rounds" }'
done
