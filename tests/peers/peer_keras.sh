#!/usr/bin/env bash
# Full-size check against Keras itself. Skips (exit 77) when tensorflow + tf-keras are not installed.
set -euo pipefail
tests_bin="$1"; root="$(cd "$(dirname "$0")/../.." && pwd)"
python3 -c "import tf_keras, h5py" 2>/dev/null || { echo "skipped: tf-keras is not installed"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
python3 "$root/tests/fixture_gen/keras_reference.py" --out "$dir" --archs "${GT_KERAS_ARCHS:-vgg16,vgg19,resnet50,inception_v3,mobilenet_v1,mobilenet_v2}"
GT_PEER_DIR="$dir" "$tests_bin" "[keras]"
# Keras model files (model.save): a MobileNetV2 base nested in a Sequential, tf-keras .h5 and Keras 3 .keras
if [ "${GT_KERAS_MODEL-1}" != "" ]; then
  python3 "$root/tests/fixture_gen/keras_model_reference.py" --out "$dir"
  GT_PEER_DIR="$dir" "$tests_bin" "[keras_model]"
fi
# TF Lite graphs from the converter (float against the interpreter, uint8 dequantized): MobileNetV2
# here; by hand also MobileNetV3 and InceptionV3 (1.5 minutes to convert):
# GT_TFLITE_MODELS=mobilenet_v2,mobilenet_v3,inception_v3
if [ "${GT_TFLITE_MODELS-x}" != "" ]; then
  rc=0
  python3 "$root/tests/fixture_gen/tflite_model_reference.py" --out "$dir" --models "${GT_TFLITE_MODELS:-mobilenet_v2}" || rc=$?
  if [ $rc -eq 0 ]; then GT_PEER_DIR="$dir" "$tests_bin" "[tflite_model]"; elif [ $rc -ne 77 ]; then exit $rc; fi
fi
