#!/usr/bin/env bash
# gradtrace against PyTorch on the zoo models, interleaved on the same machine.
#   tools/bench_vs_torch.sh [ROUNDS] [TASK] [MODELS]
#     defaults: 3 all vgg16,resnet50,inception_v3,mobilenet_v2; TASK: forward, saliency, gradcam, ig50
#     or all (the four; IG-50 then runs in the first 2 rounds only, it takes minutes a round)
# Each round times one model in gradtrace (`gradtrace bench`, median of 5 runs, IG-50 of 3) and then in PyTorch
# (../shared/bench/torch_xai_bench.py, median of 3): Debian's torch 1.13 (/usr/bin/python3) and, with
# GT_TORCH_VENV=DIR, the torch in that virtual environment as well. A DIR that does not exist yet is
# created with the newest torch and torchvision from PyPI (about 5 GB). Every tool sees the same load.
# Prints each round's times and, per model and task, the medians and the median ratio gradtrace / torch.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} task=${2:-all} models=${3:-vgg16,resnet50,inception_v3,mobilenet_v2}
bench=../shared/bench/torch_xai_bench.py
[ -f "$bench" ] || { echo "bench_vs_torch: $bench not found" >&2; exit 1; }
pythons=(/usr/bin/python3)
if [ -n "${GT_TORCH_VENV:-}" ]; then
  if [ ! -x "$GT_TORCH_VENV/bin/python" ]; then
    echo "bench_vs_torch: creating $GT_TORCH_VENV with the newest torch from PyPI" >&2
    python3 -m venv "$GT_TORCH_VENV"
    "$GT_TORCH_VENV/bin/pip" install -q torch torchvision numpy
  fi
  pythons+=("$GT_TORCH_VENV/bin/python")
fi
versions=()
for py in "${pythons[@]}"; do versions+=("$("$py" -c 'import torch; print(torch.__version__.split("+")[0])')"); done
tasks=$([ "$task" = all ] && echo "forward saliency gradcam ig50" || echo "$task")
ig_rounds=$([ "$task" = all ] && echo 2 || echo "$rounds")
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# torch's key for a task, as torch_xai_bench.py prints it
key() { [ "$1" = forward ] && echo fwd || echo "$1"; }

for m in ${models//,/ }; do
  for ((r = 1; r <= rounds; r++)); do
    for t in $tasks; do  # gradtrace: "MODEL TASK: 12.70 ms (...)"
      [ "$t" = ig50 ] && ((r > ig_rounds)) && continue
      repeat=$([ "$t" = ig50 ] && echo 3 || echo 5)
      ms=$(build/gradtrace bench --model "$m" --task "$t" --threads 2 --repeat "$repeat" | sed -E 's/.*: ([0-9.]+) ms.*/\1/')
      echo "$m $t $r gradtrace $ms" >>"$log"
    done
    for i in "${!pythons[@]}"; do  # torch: "MODEL cpu threads=2 fp32 fwd=22.35ms saliency=..."
      no_ig=$([[ " $tasks " == *" ig50 "* ]] && ((r <= ig_rounds)) || echo 1)
      line=$(NO_IG=$no_ig MODELS=$m "${pythons[$i]}" "$bench" 2 2>/dev/null)
      for t in $tasks; do
        ms=$(sed -nE "s/.* $(key "$t")=([0-9.]+)ms.*/\1/p" <<<"$line")
        [ -n "$ms" ] && echo "$m $t $r torch-${versions[$i]} $ms" >>"$log"
      done
    done
    awk -v m="$m" -v r="$r" '$1 == m && $3 == r { printf "%s %s round %s: %s %s ms\n", $1, $2, $3, $4, $5 }' "$log"
  done
done

# Per model and task: the median time of each tool and the median of the per-round ratios.
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
# the values of TOOL for model M and task T, one a line, prefixed by the round: "ROUND VALUE"
runs() { awk -v m="$1" -v t="$2" -v tool="$3" '$1 == m && $2 == t && $4 == tool { print $3, $5 }' "$log"; }
echo
printf '%-14s %-9s %10s' model task gradtrace
for v in "${versions[@]}"; do printf ' %26s' "torch $v (ratio)"; done
echo
for m in ${models//,/ }; do
  for t in $tasks; do
    ours=$(runs "$m" "$t" gradtrace | awk '{ print $2 }' | median)
    printf '%-14s %-9s %10s' "$m" "$t" "${ours:--}"
    for i in "${!pythons[@]}"; do
      theirs=$(runs "$m" "$t" "torch-${versions[$i]}" | awk '{ print $2 }' | median)
      ratio=$(join <(runs "$m" "$t" gradtrace | sort) <(runs "$m" "$t" "torch-${versions[$i]}" | sort) |
        awk '{ printf "%.3f\n", $2 / $3 }' | median)
      printf ' %16s ms (%.2f)' "${theirs:--}" "${ratio:-0}"
    done
    echo
  done
done
