#!/usr/bin/env bash
# Full-size check against PyTorch/torchvision. Skips (exit 77) when Debian's python3-torch is missing.
set -euo pipefail
tests_bin="$1"; root="$(cd "$(dirname "$0")/.." && pwd)"
/usr/bin/python3 -c "import torch, torchvision, h5py" 2>/dev/null || { echo "skipped: python3-torch is not installed"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$root/tools/torch_reference.py" --out "$dir" --archs "${GT_TORCH_ARCHS:-vgg16,resnet50,inception_v3,mobilenet_v2}"
GT_PEER_DIR="$dir" "$tests_bin" "[torch]"
