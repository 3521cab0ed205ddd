#!/usr/bin/env bash
# Every command's raw output, from two gradtrace binaries on the same machine, compared dataset by
# dataset: a refactoring must leave them byte-identical, or (where a rewrite changes rounding) within
# 1e-6 of the dataset's largest value. Runs on the embedded fashion_cnn (Fashion-MNIST test image 0)
# and, when ../shared/data is there, the course's MobileNet on chelsea.png.
#   tools/before_after.sh capture GRADTRACE DIR      run every command, raw outputs and stdout into DIR
#   tools/before_after.sh compare DIR_A DIR_B H5_CLOSE
#                                                    compare two captures (H5_CLOSE: build/tests/h5_close)
#   tools/before_after.sh COMMIT [BUILD]             build COMMIT in a scratch worktree, capture both it and
#                                                    BUILD/gradtrace (default build/), and compare
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

capture() {  # capture GRADTRACE DIR
  local gt out=$2 fail=0
  gt=$(realpath "$1"); mkdir -p "$out"; cd "$out" || return 1; out=.
  run() {  # run NAME args...: stdout (timings removed) to NAME.txt
    local name=$1; shift
    if ! "$gt" "$@" >"$out/$name.raw.txt" 2>"$out/$name.err"; then echo "FAIL: $name: $*"; cat "$out/$name.err"; fail=1; fi
    grep -v -e ' took ' -e ' ms' -e '^wrote ' "$out/$name.raw.txt" >"$out/$name.txt"; rm -f "$out/$name.raw.txt"
  }
  local subjects=("fm|--image fashion-mnist:test:0")
  local data="$root/../shared/data"
  [ -d "$data" ] && subjects+=("mn|--weights $data/weights/mobilenet_v1_0.25_224.tflite --image $data/images/chelsea.png")
  for s in "${subjects[@]}"; do
    local tag=${s%%|*} args; read -r -a args <<<"${s#*|}"
    run "$tag.classify" classify "${args[@]}" --raw "$out/$tag.classify.h5"
    for m in saliency gradxinput smoothgrad ig gradcam gradcam++ guided-backprop guided-gradcam occlusion; do
      run "$tag.$m" "$m" "${args[@]}" --raw "$out/$tag.$m.h5" --out "$out/$tag.$m.png"
    done
    for m in lime kernelshap; do
      run "$tag.$m" "$m" "${args[@]}" --samples 200 --raw "$out/$tag.$m.h5" --out "$out/$tag.$m.png"
    done
    run "$tag.ig_all" ig "${args[@]}" --target all --baseline noise --method riemann_trapezoid --steps 20 \
      --raw "$out/$tag.ig_all.h5" --out "$out/$tag.ig_all.png"
    run "$tag.saliency_signed" saliency "${args[@]}" --signed --reduce mean --raw "$out/$tag.saliency_signed.h5" \
      --out "$out/$tag.saliency_signed.png"
    run "$tag.counterfactual" counterfactual "${args[@]}" --target 1 --steps 20 --raw "$out/$tag.counterfactual.h5" \
      --out "$out/$tag.counterfactual.png"
    run "$tag.metrics" metrics "${args[@]}" --method saliency --steps 8
    run "$tag.compare" compare "$out/$tag.saliency.h5" "$out/$tag.gradcam.h5" "$out/$tag.kernelshap.h5" \
      --raw "$out/$tag.compare.h5"
    run "$tag.inspect" inspect "${args[@]}" --no-times --dump "$out/$tag.inspect.h5"
  done
  run edges edges --size 48 --raw "$out/edges.h5" --out "$out/edges.png"
  return $fail
}

compare() {  # compare DIR_A DIR_B H5_CLOSE
  local a=$1 b=$2 close=$3 fail=0 same=0 near=0
  for f in "$a"/*.h5; do
    local n; n=$(basename "$f")
    if [ ! -e "$b/$n" ]; then echo "MISSING $n"; fail=1; continue; fi
    local r; r=$("$close" "$f" "$b/$n" 1e-6 2>&1); local rc=$?
    if [ $rc != 0 ]; then echo "DIFFERS $n"; echo "$r" | grep -v ' = 0.00e+00' | sed 's/^/  /'; fail=1
    elif echo "$r" | grep -qv ' = 0.00e+00'; then echo "within 1e-6: $n"; echo "$r" | grep -v ' = 0.00e+00' | sed 's/^/  /'; near=$((near + 1))
    else same=$((same + 1)); fi
  done
  for f in "$a"/*.png "$a"/*.txt; do
    local n; n=$(basename "$f")
    cmp -s "$f" "$b/$n" || { echo "not byte-identical: $n"; [[ $n == *.txt ]] && diff "$f" "$b/$n" | head -5; }
  done
  echo "raw files: $same with every dataset identical, $near within 1e-6 of max, fail=$fail"
  return $fail
}

case "${1:-}" in
  capture) capture "$2" "$3" ;;
  compare) compare "$2" "$3" "$4" ;;
  ""|-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  *)
    commit=$1 build="${2:-$root/build}" work=$(mktemp -d)
    trap 'git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1; rm -rf "$work"' EXIT
    git -C "$root" worktree add --detach "$work/src" "$commit" >/dev/null || exit 1
    cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DGRADTRACE_CUDA=OFF >/dev/null &&
      cmake --build "$work/build" -j"$(nproc)" --target gradtrace >/dev/null || exit 1
    capture "$work/build/gradtrace" "$work/before" && capture "$build/gradtrace" "$work/after" &&
      compare "$work/before" "$work/after" "$build/tests/h5_close"
    ;;
esac
