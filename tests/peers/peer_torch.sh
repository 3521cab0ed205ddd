#!/usr/bin/env bash
# Full-size check against PyTorch/torchvision (and Captum's attributions on those models). Skips (exit 77) when Debian's python3-torch is missing.
set -euo pipefail
tests_bin="$1"; root="$(cd "$(dirname "$0")/../.." && pwd)"
/usr/bin/python3 -c "import torch, torchvision, h5py" 2>/dev/null || { echo "skipped: python3-torch is not installed"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
# Captum's attributions too when it is installed (.ci/run installs it; the torch check runs without),
# on ResNet50 by default: in float64 on both sides each model takes minutes (VGG16: 6 min on 2 cores;
# its attributions are checked at 64x64 in every run, tests/fixtures/captum_vgg16.h5)
# (GT_CAPTUM_ARCHS=vgg16,resnet50,inception_v3,mobilenet_v2 checks them all).
captum=()
if /usr/bin/python3 -c "import captum.attr" 2>/dev/null; then captum=(--captum "${GT_CAPTUM_ARCHS:-resnet50}")
else echo "note: captum is not installed; its check is skipped"; fi
# Models through torch.onnx.export too ([onnx]): GT_ONNX_ARCHS, by default ResNet50 and, outside the
# zoo, MobileNetV3-Large (its HardSwish and squeeze-excitation); by hand all seven:
# GT_ONNX_ARCHS=vgg16,resnet50,inception_v3,mobilenet_v2,mobilenet_v3_large,efficientnet_b0,densenet121
archs="${GT_TORCH_ARCHS:-vgg16,resnet50,inception_v3,mobilenet_v2}"
onnx="${GT_ONNX_ARCHS-resnet50,mobilenet_v3_large}"
onnx_only=""
for a in $(echo "$onnx" | tr , ' '); do [[ ",$archs," == *",$a,"* ]] || onnx_only+=",$a"; done
/usr/bin/python3 "$root/tests/fixture_gen/torch_reference.py" --out "$dir" --archs "$archs$onnx_only" \
  "${captum[@]}" --onnx "$onnx"
GT_PEER_DIR="$dir" "$tests_bin" "[torch]"
if [ -n "$onnx" ]; then GT_PEER_DIR="$dir" "$tests_bin" "[onnx]"; fi
# Every command (the sampling methods with few samples), and train --from, on the exported ResNet50.
if [[ ",$onnx," == *",resnet50,"* ]]; then
  GT_ONNX_RESNET50="$dir/resnet50.onnx" "$(dirname "$tests_bin")/gradtrace_cli_tests" \
    "onnx: every command runs on an imported ONNX ResNet50 (GT_ONNX_RESNET50)"
fi
# The CLI in float64 (--precision float64): saliency of the reference's target on its input, against
# PyTorch's float64 gradient, to 1e-10 of its largest value.
bin="$(dirname "$tests_bin")"
for arch in $(echo "$archs" | tr , ' '); do
  "$bin/../gradtrace" saliency --precision float64 --weights "$dir/${arch}_weights.h5" --image "$dir/${arch}_ref.h5" \
    --target 281 --raw "$dir/${arch}_cli.h5" --out "$dir/${arch}_cli.png" >/dev/null
  echo "$arch: gradtrace saliency --precision float64 against PyTorch float64"
  "$bin/h5_close" "$dir/${arch}_ref.h5" "$dir/${arch}_cli.h5" 1e-10 grad:attribution
done
if [ ${#captum[@]} -gt 0 ]; then GT_PEER_DIR="$dir" "$tests_bin" "[captum]"; fi
