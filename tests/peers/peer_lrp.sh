#!/usr/bin/env bash
# LRP against Zennit and Captum on full-size torchvision VGG16 and ResNet50, float64 (test_lrp_peers.cpp).
# Skips (exit 77) when the Python (GT_LRP_PYTHON, else /usr/bin/python3) lacks torch, zennit or captum.
set -euo pipefail
tests_bin="$1"; root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${GT_LRP_PYTHON:-/usr/bin/python3}"
"$py" -c "import torch, torchvision, h5py, zennit, captum.attr" 2>/dev/null ||
  { echo "skipped: $py lacks torch, torchvision, h5py, zennit or captum"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
# ResNet50 by default (Zennit's four composites through its batch-norm canonizer and residual sums,
# Captum's DeepLIFT through its stem's overlapping max pooling), on a 112x112 input: every layer and
# rule of the 224x224 run, at a quarter of its 5 minutes in float64 on 2 cores. VGG16 adds Captum's
# three rules, by hand: GT_LRP_ARCHS=vgg16,resnet50 GT_LRP_SIZE=224 (10 min with Debian's torch 1.13,
# 1 min with torch 2.15).
"$py" "$root/tests/fixture_gen/lrp_reference.py" --out "$dir" --archs "${GT_LRP_ARCHS:-resnet50}" --size "${GT_LRP_SIZE:-112}"
GT_PEER_DIR="$dir" "$tests_bin" "[.peer][lrp_peers]"
