#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install what is missing, build, run ctest.
#   tools/test.sh              Release build in build/
#   tools/test.sh --sanitize   the same under -fsanitize=address,undefined, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh --test
tools/check_layers.sh  # no include from a lower layer into a higher one
tools/check_sizes.sh   # files at most 600 lines, functions at most 100
tools/check_format.sh  # clang-format --dry-run --Werror
# BUILD_TESTING=ON explicitly: tools/demo.sh configures the same build/ with it off.
dir=build flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON)
if [ "${1:-}" = "--sanitize" ]; then
  # Without nvcc's backend: no GPU runs under the sanitizers, and the Release build compiles it. The
  # CUDA code still runs here, on the simulated GPU (tests/cuda_sim), which the sanitizers watch.
  # Line tables only (-g1): the sanitizers' reports keep their file:line, and the build, the longest
  # step of CI, takes 30% less (kernels/cpu/conv.cpp: 90 s -> 60 s). GRADTRACE_SANITIZE compiles at
  # -O1 but for the kernels (CMakeLists.txt).
  # Without MPI too: OpenMPI's own allocations at exit are not ours to report, and evaluate_test.sh
  # checks here that a build without it refuses a run that mpirun or srun started.
  dir=build-asan flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRADTRACE_SANITIZE=ON -DGRADTRACE_CUDA=OFF -DGRADTRACE_MPI=OFF -DBUILD_TESTING=ON
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-g1 -DNDEBUG")
  # Every test but two (below) runs; the full-size peer comparisons (float64, minutes each under the sanitizers) on
  # one architecture each unless these are set: the other architectures share all their layer code.
  export GT_TORCH_ARCHS=${GT_TORCH_ARCHS:-mobilenet_v2} GT_CAPTUM_ARCHS=${GT_CAPTUM_ARCHS:-mobilenet_v2} GT_ONNX_ARCHS=${GT_ONNX_ARCHS-} GT_TFLITE_MODELS=${GT_TFLITE_MODELS-}
  # The imported graphs' full-size checks (ONNX exports, Keras model files, TF Lite graphs) run in the
  # Release pass; here the small ONNX and Keras models, the conformance suite and the CLI cover their code.
  export GT_KERAS_MODEL=${GT_KERAS_MODEL-}
  export GT_KERAS_ARCHS=${GT_KERAS_ARCHS:-mobilenet_v1} GT_CLI_TRAIN_LIMIT=${GT_CLI_TRAIN_LIMIT:-1000}
  export GT_ANCHOR_ROWS=${GT_ANCHOR_ROWS:-3}  # anchors on held-out Adult rows (10 in the Release pass)
  export GT_EVALUATE_MPI=${GT_EVALUATE_MPI:-0}  # evaluate's MPI runs in the Release pass (above)
  export GT_EVALUATE_ITEMS=${GT_EVALUATE_ITEMS:-40}  # the resumed run's items (120 in the Release pass)
  # Numerics on full-size inputs, minutes under the sanitizers for code that the smaller tests run
  # there too: the Release pass runs them (LRP and DeepLIFT against Zennit and Captum on ResNet50
  # included; tests/xai/test_lrp.cpp and test_deeplift.cpp run their code here).
  # The agreement with Quantus's stochastic metrics draws 200 times (minutes under the sanitizers):
  # evaluate_test.sh runs every metric's code here. Captum's occlusion and IG in all their variants,
  # and the table models trained to the course's accuracy, are numerics too (40 s each here): the CLI
  # tests run occlusion, IG and table training under the sanitizers.
  skip=(-E "^(IG completeness on the real MobileNet|Fashion-MNIST: a slice trains above chance|peer_lrp|Quantus 0.6: the stochastic|xai vs Captum: (Occlusion|IntegratedGradients)|table: an MLP reaches the course)")
else
  # The full-size zoo checks on one architecture each in CI: torchvision's ResNet50 against PyTorch
  # (and exported to ONNX with MobileNetV3-Large, and Captum on it), Keras' InceptionV3 against TF;
  # the sanitizer pass adds torchvision's MobileNetV2 and Keras' MobileNet V1, and peer_lrp checks
  # ResNet50 (on a 112x112 input) against Zennit and Captum's DeepLIFT in float64, its forward pass
  # included. Every architecture by hand (the note of each stop that touches layers gives the results):
  #   GT_TORCH_ARCHS=vgg16,resnet50,inception_v3,mobilenet_v2 GT_CAPTUM_ARCHS=vgg16,resnet50,inception_v3,mobilenet_v2
  #   GT_KERAS_ARCHS=vgg16,vgg19,resnet50,inception_v3,mobilenet_v1,mobilenet_v2
  #   GT_LRP_ARCHS=vgg16,resnet50 GT_LRP_SIZE=224
  export GT_KERAS_ARCHS=${GT_KERAS_ARCHS:-inception_v3}
  export GT_TORCH_ARCHS=${GT_TORCH_ARCHS:-resnet50}
  skip=()
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir" && ctest --output-on-failure --no-tests=error -j"$(nproc)" "${skip[@]}"
