#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing (build tools, libraries and
# Debian's Fashion-MNIST), build, and run the demo: a few Fashion-MNIST test images explained by the
# embedded fashion_cnn (classify, saliency, Grad-CAM, IG, counterfactual), written to out/ with
# out/index.html as the report. With ImageNet weights (--weights FILE, GRADTRACE_WEIGHTS, or a Keras
# .h5 in ~/.keras/models) and a photo (--photo FILE or GRADTRACE_PHOTO) it explains the photo too.
#   tools/demo.sh [gradtrace demo options]      e.g. tools/demo.sh --weights vgg16.h5 --photo cat.jpg
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target gradtrace
build/gradtrace demo --out out "$@"
