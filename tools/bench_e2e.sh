#!/usr/bin/env bash
# End to end, as a user waits: process start to PNG written, for saliency, gradcam and ig (50 steps) on
# VGG16 and ResNet50 (random torchvision weights, seed 0), gradtrace against the PyTorch script that
# does the same (tools/e2e_torch.py) under Debian's torch 1.13 and, when GT_TORCH_VENV names a
# virtual environment with a newer torch, under that one too. Median of ROUNDS (default 3) wall times,
# and the peak resident memory, each tool measured by /usr/bin/time on the same machine in turn.
#   tools/bench_e2e.sh [ROUNDS] [MODELS] [METHODS]     defaults: 3 vgg16,resnet50 saliency,gradcam,ig
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} models=${2:-vgg16,resnet50} methods=${3:-saliency,gradcam,ig}
image=../shared/data/images/chelsea.png
[ -f "$image" ] || { echo "bench_e2e: $image not found (../shared/data)" >&2; exit 1; }
cache=${GT_BENCH_CACHE:-build/bench_e2e}
mkdir -p "$cache"
pythons=(/usr/bin/python3)
[ -n "${GT_TORCH_VENV:-}" ] && pythons+=("$GT_TORCH_VENV/bin/python")
for m in ${models//,/ }; do  # the weights once: a torchvision state dict and the same as our .h5
  [ -f "$cache/$m.h5" ] && continue
  /usr/bin/python3 -c "import torch, torchvision; torch.manual_seed(0); \
torch.save(getattr(torchvision.models, '$m')().state_dict(), '$cache/$m.pth')"
  /usr/bin/python3 tools/convert_torchvision.py --arch "$m" --state-dict "$cache/$m.pth" --out "$cache/$m.h5" >/dev/null
done

# median wall seconds and max RSS (MB) of ROUNDS runs of a command
measure() {
  local runs=()
  for ((r = 1; r <= rounds; r++)); do
    /usr/bin/time -f "%e %M" -o "$cache/time" "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
    runs+=("$(cat "$cache/time")")
  done
  printf '%s\n' "${runs[@]}" | sort -n | awk '{ t[NR] = $1; if ($2 > m) m = $2 } END { printf "%.2f s %4.0f MB", t[int((NR + 1) / 2)], m / 1024 }'
}

printf '%-10s %-9s %-20s' model method gradtrace
for py in "${pythons[@]}"; do printf ' %-30s' "torch $("$py" -c 'import torch; print(torch.__version__)')"; done
echo
for m in ${models//,/ }; do
  for method in ${methods//,/ }; do
    steps=$([ "$method" = ig ] && echo "--steps 50" || true)
    printf '%-10s %-9s %-20s' "$m" "$method" \
      "$(measure build/gradtrace "$method" --weights "$cache/$m.h5" --image "$image" --out "$cache/ours.png" --threads 2 $steps)"
    for py in "${pythons[@]}"; do
      printf ' %-30s' "$(measure "$py" tools/e2e_torch.py "$method" "$m" "$cache/$m.pth" "$image" "$cache/torch.png" 2)"
    done
    echo
  done
done
