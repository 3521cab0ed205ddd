#!/usr/bin/env bash
# The GPU check, in one go on a machine with an NVIDIA GPU (CUDA 13, sm_90: H100/H200):
#   1. builds gradtrace with CUDA (build-gpu/), unless --prebuilt DIR says where a bundle is;
#   2. runs the CUDA tests (every op, forward and backward, and every XAI method, against the CPU);
#   3. times the four models' forward, saliency, Grad-CAM and IG-50 beside PyTorch + cuDNN (fp32,
#      TF32 off) on the same GPU, and prints one table of ratios;
#   4. times the conv kernels at IG's batch of 50 (the implicit GEMM's fraction of the GPU's fp32
#      peak, then Winograd's time for the same layers, with and without 64-row tiles, and in chunks
#      small enough for L2) and at batch 1;
#   5. runs the CLI's methods on the real MobileNet with --device cuda against --device cpu.
# Each step has a time limit; one that fails is listed at the end (exit 1), and the rest still run.
# Aims to finish in under 4 minutes.
#
#   tools/gpu_check.sh                 build here, then check (needs the packages tools/deps.sh names)
#   tools/gpu_check.sh --bundle DIR    build here (portable), and put the binaries, the shared libraries
#                                      they need, and the ../shared files the check reads into DIR
#   tools/gpu_check.sh --prebuilt DIR  check with DIR's bundle (a GPU machine that has no packages, as the
#                                      device tool's: name DIR in its carry; DIR must stay out of git)
# ../shared (or DIR/shared) gives the real MobileNet and photo, and bench/torch_xai_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build} dir=${2:-}
if [ "$mode" != build ] && [ -z "$dir" ]; then echo "usage: tools/gpu_check.sh [--bundle DIR | --prebuilt DIR]" >&2; exit 2; fi

build() {  # $1: build folder; portable (no -march=native): the bundle runs on another processor
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DGRADTRACE_CUDA=ON -DGRADTRACE_PORTABLE=ON -DBUILD_TESTING=ON >/dev/null
  cmake --build "$1" -j"$(nproc)" --target gradtrace gradtrace_cuda_tests h5_close
}

if [ "$mode" = --bundle ]; then
  build build-gpu
  rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/shared/data/weights" "$dir/shared/data/images" "$dir/shared/bench"
  # Not the kernel library, for the SASS table: 8 MB of the device tool's 64 MB carry, and
  # tools/sass_mainloop.py gives the same table on this machine.
  cp build-gpu/gradtrace build-gpu/tests/gradtrace_cuda_tests build-gpu/tests/h5_close "$dir/"
  # Every library the binaries load, but the C runtime's own (the GPU machine has newer ones).
  ldd build-gpu/gradtrace build-gpu/tests/gradtrace_cuda_tests build-gpu/tests/h5_close | awk '/=> \// {print $3}' | sort -u |
    grep -Ev '/(libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s)\.so' | xargs -I{} cp -L {} "$dir/lib/"
  if [ -d ../shared/data ]; then
    cp ../shared/data/weights/mobilenet_v1_0.25_224.tflite "$dir/shared/data/weights/"
    cp ../shared/data/images/chelsea.png "$dir/shared/data/images/"
    cp ../shared/bench/torch_xai_bench.py "$dir/shared/bench/"
  fi
  du -sh "$dir"
  exit 0
fi

if [ "$mode" = --prebuilt ]; then
  dir=$(cd "$dir" && pwd)
  bin=$dir tests=$dir/gradtrace_cuda_tests close=$dir/h5_close shared=$dir/shared kernels=
  export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  build build-gpu
  bin=build-gpu tests=build-gpu/tests/gradtrace_cuda_tests close=build-gpu/tests/h5_close shared=$PWD/../shared
  kernels=build-gpu/libgradtrace_cuda_kernels.a
fi
export GT_SHARED_DIR=$shared
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true

# Every step has a time limit, and a failed one is reported and counted, not fatal: a GPU session is
# short, and one crash must not cost the table. The table comes first, the kernels' A/B runs after.
set +e
failed=/tmp/gt_failed_steps
: >"$failed"
section() { echo "== $* ($SECONDS s)"; }
step() {  # step SECONDS command...: runs it; a failure or a timeout is reported (stderr) and listed
  timeout "$1" "${@:2}"
  local r=$?
  if [ "$r" != 0 ]; then
    local why="exit $r"
    [ "$r" = 124 ] && why="timed out after $1 s"
    echo "FAILED ($why): ${*:2}" | tee -a "$failed" >&2
  fi
  return "$r"
}

section "CUDA against CPU"
timeout 150 "$tests" >/tmp/gt_cuda_tests.log 2>&1
r=$?
grep -E "max \|cuda - cpu\||FAILED|passed|failed|skipped" /tmp/gt_cuda_tests.log | tail -n 80
[ "$r" = 77 ] && { echo "no GPU here: the CUDA tests skipped, and there is nothing to time"; exit 77; }
[ "$r" = 0 ] || { echo "FAILED (exit $r): the CUDA tests" | tee -a "$failed"; tail -n 20 /tmp/gt_cuda_tests.log; }

section "gradtrace and PyTorch, batch 1 (IG-50: one batch of 50)"
: >/tmp/gt_models.log
for m in vgg16 resnet50 inception_v3 mobilenet_v2; do
  step 60 "$bin/gradtrace" bench --model "$m" --task all --device cuda --repeat 10 | tee -a /tmp/gt_models.log
done
if [ -f "$shared/bench/torch_xai_bench.py" ]; then
  step 150 python3 "$shared/bench/torch_xai_bench.py" 16 cuda | tee /tmp/gt_torch.log
  # one row per model and task: ours, PyTorch's, the ratio, and the issue's bound for it
  python3 - <<'PY'
import re
ours = {}
for line in open('/tmp/gt_models.log'):
    m = re.match(r'(\S+) (\S+): ([\d.]+) ms', line)
    if m: ours[(m[1], m[2])] = float(m[3])
torch = {}
for line in open('/tmp/gt_torch.log'):
    name = line.split()[0] if line.split() else ''
    for k, v in re.findall(r'(\w+)=([\d.]+)ms', line):
        torch[(name, {'fwd': 'forward'}.get(k, k))] = float(v)
bound = {'ig50': 1.5, 'saliency': 2.0}
print('%-13s %-9s %10s %10s %7s %7s' % ('model', 'task', 'ours ms', 'torch ms', 'ratio', 'bound'))
for (name, task), t in sorted(torch.items()):
    o = ours.get((name, task))
    if o is None: continue
    b = bound.get(task, 0)
    ok = '' if not b else ('ok' if o / t <= b else 'OVER')
    print('%-13s %-9s %10.2f %10.2f %6.2fx %7s %s' % (name, task, o, t, o / t, ('%.1fx' % b) if b else '-', ok))
PY
fi

section "conv kernels, VGG16's 13 layers at batch 50 (IG's): the implicit GEMM"
step 60 env GRADTRACE_CUDA_WINOGRAD=0 "$bin/gradtrace" bench conv --device cuda --batch 50 --repeat 5 --wgrad | tee /tmp/gt_conv.log
# fp32 peak = SMs x 128 lanes x 2 (an FMA) x the SM clock
peak=$(python3 -c "import torch, subprocess
p = torch.cuda.get_device_properties(0)
mhz = float(subprocess.check_output(['nvidia-smi', '--query-gpu=clocks.max.sm', '--format=csv,noheader,nounits']).split()[0])
print('%.0f' % (p.multi_processor_count * 128 * 2 * mhz / 1e3))" 2>/dev/null || echo 0)
awk -v peak="$peak" '$1 == "total" && peak > 0 {
  printf "fp32 peak %.1f TFLOP/s: conv forward %.1f%%, data gradient %.1f%%, weight gradient %.1f%% of it\n",
         peak / 1e3, 100 * $5 / peak, 100 * $8 / peak, 100 * $12 / peak }' /tmp/gt_conv.log
if [ -n "$kernels" ] && command -v cuobjdump >/dev/null && command -v nvdisasm >/dev/null; then
  section "the tile kernels' main loops in SASS: FFMA / all instructions bounds the fraction of peak"
  python3 tools/sass_mainloop.py "$kernels" | { read -r header; echo "$header"; sort -u -k4; }
fi
section "the same with Winograd F(2x2, 3x3), the default for these layers (GFLOP/s: the direct convolution's FLOPs)"
step 60 "$bin/gradtrace" bench conv --device cuda --batch 50 --repeat 5
section "again on 128x128 tiles only: above, the products with 64 rows (block1's, and block2_conv1's data gradient) took 64x128 ones"
step 60 env GRADTRACE_CUDA_SHORT_TILES=0 "$bin/gradtrace" bench conv --device cuda --batch 50 --repeat 5
section "again with Winograd chunks of at most 24 MB of transforms (to stay in L2), not as many tiles as 256 MB hold"
step 60 env GRADTRACE_CUDA_WINOGRAD_CHUNK_MB=24 "$bin/gradtrace" bench conv --device cuda --batch 50 --repeat 5
section "batch 1 (saliency's): the implicit GEMM, then Winograd"
step 30 env GRADTRACE_CUDA_WINOGRAD=0 "$bin/gradtrace" bench conv --device cuda --batch 1 --repeat 20
step 30 "$bin/gradtrace" bench conv --device cuda --batch 1 --repeat 20
section "IG-50 with Winograd chunks of at most 24 MB (the default above: as many tiles as 256 MB hold)"
for m in vgg16 resnet50; do
  step 60 env GRADTRACE_CUDA_WINOGRAD_CHUNK_MB=24 "$bin/gradtrace" bench --model "$m" --task ig50 --device cuda --repeat 10
done

section "the CLI on the real MobileNet: --device cuda against --device cpu (raw .h5 outputs)"
w=$shared/data/weights/mobilenet_v1_0.25_224.tflite img=$shared/data/images/chelsea.png
if [ -f "$w" ]; then
  cli=$(mktemp -d)
  for m in classify saliency smoothgrad ig gradcam occlusion kernelshap; do
    for d in cpu cuda; do
      args=(--weights "$w" --image "$img" --raw "$cli/$m.$d.h5" --device "$d")
      [ "$m" = classify ] || args+=(--out "$cli/$m.$d.png")
      step 60 "$bin/gradtrace" "$m" "${args[@]}" >/dev/null 2>"$cli/$m.$d.err" || cat "$cli/$m.$d.err"
    done
    [ -f "$cli/$m.cpu.h5" ] && [ -f "$cli/$m.cuda.h5" ] || continue
    echo "$m:"  # each dataset: max |cuda - cpu| / max |cpu| <= 1e-2
    step 10 "$close" "$cli/$m.cpu.h5" "$cli/$m.cuda.h5" 1e-2 | sed 's/^/  /'
  done
fi
if [ -s "$failed" ]; then
  section "done; these steps FAILED:"
  cat "$failed"
  exit 1
fi
section "done: every step passed"
