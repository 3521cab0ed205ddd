#!/usr/bin/env bash
# The CLI contract: --help everywhere, exit 2 on usage errors, 1 on runtime errors, and no partial
# output file after a failure.
set -u
gt="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect CODE command...
  local want=$1; shift
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: '$*' exited $got, expected $want"; cat "$tmp/out"; fail=1
  fi
}
expect_out() {  # expect_out CODE PATTERN command...: also requires PATTERN in the output
  local pattern=$2
  expect "$1" "${@:3}"
  grep -q -- "$pattern" "$tmp/out" || { echo "FAIL: '${*:3}' did not print '$pattern'"; cat "$tmp/out"; fail=1; }
}
expect 0 "$gt" --help
expect 0 "$gt" edges --help
expect 0 "$gt" bench --help
expect 0 "$gt" classify --help
expect 0 "$gt" layers --help
expect 0 "$gt" convert --help
expect 0 "$gt" layers --model mobilenet_v1 --alpha 0.25 --size 64
expect 2 "$gt" layers
expect_out 1 "x.png" "$gt" classify --image x.png   # no --weights: the embedded fashion_cnn
expect 2 "$gt" layers --model resnet9000
expect 1 "$gt" classify --weights "$tmp/missing.tflite" --image x.png --raw "$tmp/never.h5"
[ -e "$tmp/never.h5" ] && { echo "FAIL: a failed classify left never.h5"; fail=1; }
expect 2 "$gt"
expect 2 "$gt" frobnicate
expect 2 "$gt" edges --no-such-flag
expect 2 "$gt" edges --size
expect 2 "$gt" edges --size abc
expect 2 "$gt" edges --cmap rainbow
expect 2 "$gt" bench
# bench conv --layers: shapes from a file (tools/conv_shapes.py writes them), totals per kernel shape
printf '# C H W O KH KW STRIDE PADH PADW COUNT\n16 12 12 16 3 3 1 1 1 2\n8 9 9 4 1 7 1 0 3 1\n' >"$tmp/shapes.txt"
expect_out 0 "all 1x7/1" "$gt" bench conv --layers "$tmp/shapes.txt" --repeat 1 --threads 1
expect_out 0 "all 3x3/1 " "$gt" bench conv --layers "$tmp/shapes.txt" --repeat 1 --threads 1
printf '16 12 12 16 3 3 0 1 1 2\n' >"$tmp/bad_shapes.txt"  # stride 0
expect_out 1 "bad_shapes.txt:1: expected C H W O KH KW STRIDE PADH PADW COUNT" "$gt" bench conv --layers "$tmp/bad_shapes.txt"
expect_out 1 "cannot read" "$gt" bench conv --layers "$tmp/missing.txt"
expect 2 "$gt" bench nonsense
# --device: a usage error for an unknown one; cuda without a GPU (or a build without CUDA) is a
# one-line runtime error before any work, and leaves no output file
expect_out 2 "must be cpu or cuda" "$gt" classify --device gpu --image x.png
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi >/dev/null 2>&1; then
  expect_out 1 "no CUDA device: " "$gt" saliency --device cuda --image fashion-mnist:test:0 --out "$tmp/never_gpu.png"
  [ -e "$tmp/never_gpu.png" ] && { echo "FAIL: a failed --device cuda run left never_gpu.png"; fail=1; }
  [ "$(wc -l <"$tmp/out")" = 1 ] || { echo "FAIL: --device cuda without a GPU printed more than one line"; cat "$tmp/out"; fail=1; }
fi
expect 1 "$gt" edges --image "$tmp/missing.png" --out "$tmp/never.png"
[ -e "$tmp/never.png" ] && { echo "FAIL: a failed run left $tmp/never.png"; fail=1; }
printf 'not an image' > "$tmp/bad.png"
expect 1 "$gt" edges --image "$tmp/bad.png" --out "$tmp/never2.png"
[ -e "$tmp/never2.png" ] && { echo "FAIL: a failed run left never2.png"; fail=1; }
# Bad inputs as a new user gives them: one line that names the real cause.
head -c 200 "$(dirname "$0")/../../docs/demo.png" >"$tmp/trunc.png"
expect_out 1 "truncated PNG: the file ends inside its" "$gt" classify --image "$tmp/trunc.png"
expect_out 1 "cannot read (it is a folder, not a file)" "$gt" classify --image "$tmp"
expect_out 1 "cannot read (No such file or directory)" "$gt" classify --image "$tmp/none.png"
expect_out 2 "the folder $tmp/nodir does not exist" "$gt" saliency --image "$tmp/trunc.png" --out "$tmp/nodir/x.png"
expect 0 "$gt" edges --size 32 --out "$tmp/ok.png" --raw "$tmp/ok.h5" --threads 1
[ -s "$tmp/ok.png" ] && [ -s "$tmp/ok.h5" ] || { echo "FAIL: demo wrote no output"; fail=1; }

# Attribution methods on the narrow VGG16 fixture (torch layout, 64x64), with the demo's PNG as input.
fix="$(dirname "$0")/../fixtures"
w="$fix/torch_vgg16_narrow.h5" img="$tmp/ok.png"
for m in saliency gradxinput smoothgrad ig gradcam gradcam++ guided-backprop guided-gradcam occlusion lime kernelshap; do
  expect 0 "$gt" "$m" --help
  expect 0 "$gt" "$m" --weights "$w" --image "$img" --out "$tmp/$m.png" --raw "$tmp/$m.h5" --threads 1
  [ -s "$tmp/$m.png" ] && [ -s "$tmp/$m.h5" ] || { echo "FAIL: $m wrote no output"; fail=1; }
done
# Determinism: the same input, flags and thread count give byte-identical maps, PNGs and raw files
# (the noise of SmoothGrad and of IG's noise baseline comes from --seed).
determinism() {  # determinism NAME command... (the command writes $tmp/det.png and $tmp/det.h5)
  local name=$1; shift
  "$@" --out "$tmp/det.png" --raw "$tmp/det.h5" --threads 2 >/dev/null 2>&1 && mv "$tmp/det.png" "$tmp/det1.png" &&
    mv "$tmp/det.h5" "$tmp/det1.h5" && "$@" --out "$tmp/det.png" --raw "$tmp/det.h5" --threads 2 >/dev/null 2>&1 &&
    cmp -s "$tmp/det.png" "$tmp/det1.png" && cmp -s "$tmp/det.h5" "$tmp/det1.h5" ||
    { echo "FAIL: two runs of $name differ"; fail=1; }
  rm -f "$tmp"/det*.png "$tmp"/det*.h5
}
for m in saliency gradxinput smoothgrad gradcam gradcam++ guided-backprop guided-gradcam occlusion; do
  determinism "$m" "$gt" "$m" --weights "$w" --image "$img"
done
determinism "ig --baseline noise" "$gt" ig --weights "$w" --image "$img" --baseline noise --steps 8
for m in lime kernelshap; do determinism "$m" "$gt" "$m" --weights "$w" --image "$img" --samples 100; done
determinism "counterfactual" "$gt" counterfactual --weights "$w" --image "$img" --target 3 --steps 5
for k in 1 2; do "$gt" classify --weights "$w" --image "$img" --raw "$tmp/cls$k.h5" --threads 2 >"$tmp/cls$k.txt"; done
cmp -s "$tmp/cls1.h5" "$tmp/cls2.h5" && cmp -s "$tmp/cls1.txt" "$tmp/cls2.txt" || { echo "FAIL: two runs of classify differ"; fail=1; }
expect_out 0 "completeness error" "$gt" ig --weights "$w" --image "$img" --steps 10 --method riemann_trapezoid \
  --baseline blur --target all --out "$tmp/ig2.png"
expect 0 "$gt" ig --weights "$w" --image "$img" --baseline "$img" --out "$tmp/ig3.png"
expect 0 "$gt" saliency --weights "$w" --image "$img" --signed --reduce mean --cmap viridis --out "$tmp/s2.png"
expect 0 "$gt" gradcam --weights "$w" --image "$img" --layer block4_conv3 --target 2 --out "$tmp/gc2.png"
expect_out 2 "gradtrace layers" "$gt" gradcam --weights "$w" --image "$img" --layer block9_conv1 --out "$tmp/never3.png"
expect_out 2 "classes 0..9" "$gt" saliency --weights "$w" --image "$img" --target 10 --out "$tmp/never3.png"
expect_out 2 "unknown class name" "$gt" saliency --weights "$w" --image "$img" --target "golden retriever" --out "$tmp/never3.png"
expect_out 2 "steps must be an integer in \[1, 100000\], got '0'" "$gt" ig --weights "$w" --image "$img" --steps 0 --out "$tmp/never3.png"
expect_out 2 "alpha must be a number in \[0, 1\], got '-1'" "$gt" saliency --weights "$w" --image "$img" --alpha -1 --out "$tmp/never3.png"
expect_out 0 "the last layer with a spatial map is conv_pw_13_relu" "$gt" gradcam --weights "$fix/torch_mobilenet_v1_narrow.h5" \
  --image "$fix/torch_mobilenet_v1_narrow_ref.h5" --layer global_average_pooling2d --out "$tmp/cam1.png"
expect_out 2 "noise must be a number in \[0, 10\], got 'nan'" "$gt" smoothgrad --weights "$w" --image "$img" --noise nan --out "$tmp/never3.png"
expect_out 2 "known: hot, viridis" "$gt" saliency --weights "$w" --image "$img" --cmap rainbow --out "$tmp/never3.png"
expect_out 2 "gausslegendre" "$gt" ig --weights "$w" --image "$img" --method simpson --out "$tmp/never3.png"
expect_out 2 "--target all" "$gt" gradcam --weights "$w" --image "$img" --target all --out "$tmp/never3.png"
# LIME and KernelSHAP: few superpixels give KernelSHAP every coalition; their own flags are checked.
expect_out 0 "exact Shapley values" "$gt" kernelshap --weights "$w" --image "$img" --segments 4 --samples 100 \
  --fill blur --out "$tmp/ks2.png"
expect_out 0 "R^2" "$gt" lime --weights "$w" --image "$img" --fill 0 --ridge 0 --kernel-width 1 --samples 50 --out "$tmp/l2.png"
expect_out 2 "--fill must be" "$gt" lime --weights "$w" --image "$img" --fill gray --out "$tmp/never3.png"
expect_out 2 "unknown option --signed" "$gt" kernelshap --weights "$w" --image "$img" --signed --out "$tmp/never3.png"
expect_out 2 "unknown option --ridge" "$gt" kernelshap --weights "$w" --image "$img" --ridge 1 --out "$tmp/never3.png"
expect 0 "$gt" counterfactual --help
expect_out 0 "step    1" "$gt" counterfactual --weights "$w" --image "$img" --target 2 --steps 3 --lambda 0.1 \
  --proximity l1 --out "$tmp/cf.png" --raw "$tmp/cf.h5"
[ -s "$tmp/cf.png" ] && [ -s "$tmp/cf_saliency.png" ] && [ -s "$tmp/cf.h5" ] || { echo "FAIL: counterfactual outputs"; fail=1; }
expect_out 2 "--target is required" "$gt" counterfactual --weights "$w" --image "$img" --out "$tmp/never3.png"
expect_out 2 "adam or sgd" "$gt" counterfactual --weights "$w" --image "$img" --target 1 --optimizer lbfgs --out "$tmp/never3.png"
expect 0 "$gt" metrics --help
expect 0 "$gt" report --help
expect_out 0 "deletion AUC" "$gt" metrics --weights "$w" --image "$img" --map "$tmp/saliency.h5" --steps 8 --raw "$tmp/met.h5"
[ -s "$tmp/met.h5" ] || { echo "FAIL: metrics wrote no raw file"; fail=1; }
expect_out 0 "insertion AUC" "$gt" metrics --weights "$w" --image "$img" --method gradcam --steps 4
expect_out 2 "one of --map" "$gt" metrics --weights "$w" --image "$img"
# compare: a map against itself is 1 everywhere; the methods' maps of one image pair up; maps of two
# sizes, a file without a map and a single file are errors that write nothing.
expect 0 "$gt" compare --help
expect_out 0 "1 vs 2  *1.0000  *1.0000  *1.0000" "$gt" compare "$tmp/saliency.h5" "$tmp/saliency.h5"
expect_out 0 "2 vs 3 " "$gt" compare "$tmp/saliency.h5" "$tmp/gradcam.h5" "$tmp/ig.h5" --top 0.05 --raw "$tmp/cmp.h5"
grep -q "(ig, " "$tmp/out" || { echo "FAIL: compare did not name ig.h5's method"; cat "$tmp/out"; fail=1; }
[ -s "$tmp/cmp.h5" ] || { echo "FAIL: compare wrote no raw file"; fail=1; }
expect_out 1 "differ in size" "$gt" compare "$tmp/saliency.h5" "$tmp/ok.h5" --raw "$tmp/never4.h5"
expect_out 1 "no dataset 'map'" "$gt" compare "$tmp/saliency.h5" "$tmp/met.h5" --raw "$tmp/never4.h5"
[ -e "$tmp/never4.h5" ] && { echo "FAIL: a failed compare left never4.h5"; fail=1; }
expect_out 2 "two or more" "$gt" compare "$tmp/saliency.h5"
expect 2 "$gt" compare "$tmp/saliency.h5" "$tmp/gradcam.h5" --top 2
expect_out 0 "index.html" "$gt" report --weights "$w" --image "$img" --out "$tmp/report" --steps 4 --threads 1
grep -q "How alike are the maps" "$tmp/report/index.html" || { echo "FAIL: the report lacks the maps' rank correlations"; fail=1; }
for f in index.html image.png saliency_map.png ig_overlay.png occlusion_map.png; do
  [ -s "$tmp/report/$f" ] || { echo "FAIL: the report lacks $f"; fail=1; }
done
grep -q "<script" "$tmp/report/index.html" && { echo "FAIL: the report page has a script"; fail=1; }
expect_out 2 "unknown method" "$gt" report --weights "$w" --image "$img" --out "$tmp/report2" --methods saliency,shap
expect_out 2 "unknown option --steps" "$gt" saliency --weights "$w" --image "$img" --steps 5 --out "$tmp/never3.png"
expect_out 1 "baseline file" "$gt" ig --weights "$w" --image "$img" --baseline "$fix/torch_mobilenet_v1_narrow_ref.h5" --raw "$tmp/never3.h5" \
  --out "$tmp/never3.png"
[ -e "$tmp/never3.png" ] || [ -e "$tmp/never3.h5" ] && { echo "FAIL: a failed method left output behind"; fail=1; }

# ---- training: gradtrace train / eval, image folders, checkpoints, bad input ----
expect 0 "$gt" train --help
expect 0 "$gt" eval --help
expect_out 1 "apt-get install dataset-fashion-mnist" env GRADTRACE_FASHION_MNIST="$tmp/nofm" "$gt" train --dataset fashion-mnist \
  --out "$tmp/never4.h5"
expect_out 2 "--dataset is required" "$gt" train --out "$tmp/never4.h5"
expect_out 2 "unknown dataset" "$gt" eval --dataset mnist
expect_out 2 "sgd or adam" "$gt" train --dataset folder:"$tmp" --optimizer rmsprop --out "$tmp/never4.h5"
# an image folder of two classes, made of the PNGs written above
mkdir -p "$tmp/imgs/discs" "$tmp/imgs/squares"
for i in 1 2 3 4 5 6; do cp "$tmp/saliency.png" "$tmp/imgs/discs/$i.png"; cp "$tmp/s2.png" "$tmp/imgs/squares/$i.png"; done
echo "not an image" > "$tmp/imgs/squares/broken.jpg"
expect_out 0 "skipped 1 unreadable image" "$gt" train --dataset folder:"$tmp/imgs" --size 16 --batch 4 --epochs 2 --alpha 0.25 \
  --out "$tmp/folder.h5" --threads 1
grep -q "validation acc" "$tmp/out" || { echo "FAIL: train printed no validation accuracy"; cat "$tmp/out"; fail=1; }
[ -s "$tmp/folder.h5" ] && [ -s "$tmp/folder.ckpt.h5" ] || { echo "FAIL: train wrote no model or checkpoint"; fail=1; }
expect_out 0 "confusion matrix" "$gt" eval --weights "$tmp/folder.h5" --dataset folder:"$tmp/imgs"
expect_out 0 "squares" "$gt" classify --weights "$tmp/folder.h5" --image "$tmp/imgs/squares/1.png"
expect_out 1 "broken.jpg" "$gt" train --dataset folder:"$tmp/imgs" --size 16 --batch 4 --epochs 1 --strict --out "$tmp/never4.h5"
expect_out 1 "larger than the dataset" "$gt" train --dataset folder:"$tmp/imgs" --size 16 --batch 64 --out "$tmp/never4.h5"
expect_out 1 "has finished all 2 epochs" "$gt" train --resume "$tmp/folder.ckpt.h5"
expect_out 2 "cannot be changed on --resume" "$gt" train --resume "$tmp/folder.ckpt.h5" --lr 0.1
mkdir -p "$tmp/imgs/empty"
expect_out 1 "empty: no images" "$gt" train --dataset folder:"$tmp/imgs" --size 16 --out "$tmp/never4.h5"
[ -e "$tmp/never4.h5" ] && { echo "FAIL: a failed training run left a model behind"; fail=1; }
if [ -d "${GRADTRACE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" ]; then
  # Ctrl-C during epoch 2 keeps the checkpoint of epoch 1, and --resume finishes the run with the
  # same result as a run that was never interrupted.
  # (GT_CLI_TRAIN_LIMIT: fewer images under the sanitizers, where an epoch is 10x slower anyway)
  run=(--dataset fashion-mnist --limit "${GT_CLI_TRAIN_LIMIT:-4000}" --epochs 3 --batch 50 --alpha 0.25 --threads 1)
  "$gt" train "${run[@]}" --out "$tmp/fm.h5" >"$tmp/train.out" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -s "$tmp/fm.ckpt.h5" ] && break; sleep 0.1; done
  kill -INT $pid; wait $pid; code=$?
  [ $code = 130 ] && grep -q "continue with: gradtrace train --resume" "$tmp/train.out" ||
    { echo "FAIL: Ctrl-C: exit $code"; cat "$tmp/train.out"; fail=1; }
  [ -e "$tmp/fm.h5" ] && { echo "FAIL: an interrupted run wrote its final model"; fail=1; }
  expect_out 0 "\"accuracy\"" "$gt" eval --weights "$tmp/fm.ckpt.h5" --dataset fashion-mnist --json  # a complete checkpoint
  expect_out 0 "resuming after epoch 1" "$gt" train --resume "$tmp/fm.ckpt.h5" --threads 1
  expect 0 "$gt" train "${run[@]}" --out "$tmp/fm_straight.h5"
  a=$("$gt" eval --weights "$tmp/fm.h5" --dataset fashion-mnist --json)
  b=$("$gt" eval --weights "$tmp/fm_straight.h5" --dataset fashion-mnist --json)
  [ -n "$a" ] && [ "$a" = "$b" ] || { echo "FAIL: the resumed run differs from the straight one: $a vs $b"; fail=1; }
  expect_out 2 "out of range" "$gt" classify --image fashion-mnist:test:10000
  expect_out 0 "true class: Ankle boot" "$gt" classify --image fashion-mnist:test:0
  # the embedded fashion_cnn under every command, and the course's counterfactuals
  for m in saliency gradcam ig; do
    expect 0 "$gt" "$m" --image fashion-mnist:test:9 --out "$tmp/fm_$m.png" --raw "$tmp/fm_$m.h5"
  done
  expect_out 0 "reached 'Ankle boot'" "$gt" counterfactual --image fashion-mnist:test:9 --target "Ankle boot" \
    --out "$tmp/fm_cf.png"
  expect_out 0 "reached 'T-shirt/top'" "$gt" counterfactual --image fashion-mnist:test:4 --target "T-shirt/top" \
    --out "$tmp/fm_cf2.png"
  expect_out 0 "index.html" "$gt" report --image fashion-mnist:test:9 --out "$tmp/fm_report" --steps 4
  expect_out 0 "summary.png" "$gt" demo --out "$tmp/demo" --images 9,4 --steps 8
  for f in index.html summary.png fm9_counterfactual.png fm4_gradcam.png; do
    [ -s "$tmp/demo/$f" ] || { echo "FAIL: the demo lacks $f"; fail=1; }
  done
  shared="$(dirname "$0")/../../../shared/data"
  if [ -d "$shared" ]; then  # with ImageNet weights and a photo the demo explains the photo too
    expect_out 0 "chelsea.png with mobilenet_v1" env GRADTRACE_WEIGHTS="$shared/weights/mobilenet_v1_0.25_224.tflite" \
      "$gt" demo --out "$tmp/demo2" --images 9 --steps 8 --photo "$shared/images/chelsea.png"
    grep -q "A photo" "$tmp/demo2/index.html" && [ -s "$tmp/demo2/photo_counterfactual.png" ] ||
      { echo "FAIL: the demo did not explain the photo"; fail=1; }
  else
    echo "skipped: the demo's photo part (../shared/data is absent)"
  fi
else
  echo "skipped: the Fashion-MNIST CLI checks (dataset-fashion-mnist is not installed)"
fi

# ---- inspect: every tape node, as a table, JSON or CSV, and dumps ----
expect 0 "$gt" inspect --help
expect_out 0 "block4_conv2 " "$gt" inspect --weights "$w" --image "$img"
expect_out 0 '"nodes"' "$gt" inspect --weights "$w" --image "$img" --json
expect_out 0 "index,layer,op,shape" "$gt" inspect --weights "$w" --image "$img" --csv --layer 'block1_*'
expect_out 2 "the layers are: " "$gt" inspect --weights "$w" --image "$img" --layer 'no_such_*'
expect_out 1 "over --max-bytes" "$gt" inspect --weights "$w" --image "$img" --dump "$tmp/never5.h5" --max-bytes 1000
[ -e "$tmp/never5.h5" ] && { echo "FAIL: a refused dump was written"; fail=1; }
expect 0 "$gt" inspect --weights "$w" --image "$img" --dump "$tmp/dump.h5" --layer 'block2_*'
[ -s "$tmp/dump.h5" ] || { echo "FAIL: inspect wrote no dump"; fail=1; }
expect 0 "$gt" inspect --weights "$w" --image "$img" --plot "$tmp/flow.png" --json
[ -s "$tmp/flow.png" ] || { echo "FAIL: inspect wrote no plot"; fail=1; }
expect 0 "$gt" gradcheck --help
expect_out 0 "(random weights)" "$gt" classify --weights random:fashion_cnn:3 --image fashion-mnist:test:0
expect_out 2 "unknown model" "$gt" classify --weights random:vgg17 --image "$img"
expect_out 2 "the seed must be" "$gt" classify --weights random:vgg16:x --image "$img"
expect 0 "$gt" graph --help
expect_out 0 "174 nodes" "$gt" graph --model resnet50 --alpha 0.25 --size 64 --out "$tmp/resnet.svg"
grep -q "conv2_block1_add" "$tmp/resnet.svg" || { echo "FAIL: the svg lacks a residual add"; fail=1; }
expect 0 "$gt" graph --model fashion_cnn --saved --out "$tmp/fashion.dot"
grep -q 'n1 -> n2 \[label="1x32x28x28"\]' "$tmp/fashion.dot" && grep -q "saved 32x1x3x3" "$tmp/fashion.dot" ||
  { echo "FAIL: the dot graph lacks an edge or the saved tensors"; cat "$tmp/fashion.dot"; fail=1; }
expect_out 2 "end in .dot or .svg" "$gt" graph --model vgg16 --out "$tmp/never6.png"
expect_out 0 "matches central differences" "$gt" gradcheck --weights "$w" --image "$img" --layer block3_conv2
expect_out 0 "matches central differences" "$gt" gradcheck --weights "$w" --image "$img" --layer fc2
expect_out 2 "closest: block3_conv1, block3_conv2" "$gt" gradcheck --weights "$w" --image "$img" --layer block3_conv9
expect_out 2 "--layer is required" "$gt" gradcheck --weights "$w" --image "$img"
# LRP and DeepLIFT on the narrow VGG16 fixture in float64: completeness printed, exact there; bad rule
# and composite names list the known ones, exit 2 and write nothing.
fix="$(dirname "$0")/../fixtures"
vgg=(--weights "$fix/torch_vgg16_narrow.h5" --image "$fix/vgg16_narrow_ref.h5" --precision float64)
expect 0 "$gt" deeplift "${vgg[@]}" --baseline noise --out "$tmp/dl.png"
grep -Eq "completeness error -?[0-9.]+e-1[0-9]" "$tmp/out" || { echo "FAIL: deeplift in float64 is not complete"; cat "$tmp/out"; fail=1; }
expect_out 0 "3 baselines" "$gt" deeplift-shap "${vgg[@]}" --baselines "black,noise*2" --rule reveal-cancel --out "$tmp/dls.png"
expect_out 0 "conserved" "$gt" lrp "${vgg[@]}" --composite epsilon-gamma-box --out "$tmp/lrp.png"
expect_out 2 "reveal-cancel" "$gt" deeplift "${vgg[@]}" --rule revealcancel --out "$tmp/never.png"
expect_out 0 "fashion_cnn lrp: " "$gt" bench --model fashion_cnn --task lrp --repeat 1
expect_out 0 "fashion_cnn deeplift: " "$gt" bench --model fashion_cnn --task deeplift --repeat 1
expect_out 2 "epsilon-gamma-box" "$gt" lrp "${vgg[@]}" --composite epsilon-plu --out "$tmp/never.png"
expect_out 2 "they are: block1_conv1" "$gt" lrp "${vgg[@]}" --layer-rules 'conv9*=flat' --out "$tmp/never.png"
expect 0 "$gt" lrp "${vgg[@]}" --layer-rules 'block1_conv1=flat,fc*=epsilon' --out "$tmp/lrp.png"
expect_out 2 "must be 1 to 1000" "$gt" deeplift-shap "${vgg[@]}" --baselines "noise*0" --out "$tmp/never.png"
[ -e "$tmp/never.png" ] && { echo "FAIL: a refused lrp or deeplift wrote never.png"; fail=1; }
# The relevance view: every node's relevance, conserved to the input (float64, exact); a bad rule
# exits 2 and dumps nothing.
expect_out 0 "relevance .*, 100.000% of f(x) - f(x')" "$gt" inspect "${vgg[@]}" --rule deeplift --dump "$tmp/rel.h5"
[ -s "$tmp/rel.h5" ] || { echo "FAIL: inspect --rule wrote no dump"; fail=1; }
expect_out 0 "block5_conv3 .* conv2d_affine" "$gt" inspect "${vgg[@]}" --rule lrp-epsilon-plus --layer 'block5*' \
  --plot "$tmp/relevance.png"
[ -s "$tmp/relevance.png" ] || { echo "FAIL: inspect --rule --plot wrote no plot"; fail=1; }
expect_out 2 "epsilon-plus" "$gt" inspect "${vgg[@]}" --rule lrp-foo --dump "$tmp/never.h5"
[ -e "$tmp/never.h5" ] && { echo "FAIL: a refused inspect --rule wrote never.h5"; fail=1; }
ls "$tmp" | grep -q '\.tmp' && { echo "FAIL: temporary files left behind"; fail=1; }

# Atomic writes: a write killed part-way (every activation and gradient of VGG16, ~250 MB) must never
# leave the final name behind, only the temporary file. The kill is deterministic, not timed: a 20 MB
# file-size limit makes the kernel send SIGXFSZ at the write that crosses it (a fast disk once finished
# the whole file before a timed kill -9 arrived).
{ (ulimit -f 20000
   exec "$gt" inspect --weights random:vgg16 --image "$img" --dump "$tmp/big.h5" >/dev/null 2>&1); } 2>/dev/null
rc=$?
[ "$rc" -gt 128 ] || { echo "FAIL: the size-limited dump was not killed by a signal (exit $rc)"; fail=1; }
[ -e "$tmp/big.h5" ] && { echo "FAIL: a killed write left big.h5 under its final name"; fail=1; }
[ -s "$tmp/big.h5.tmp" ] || { echo "FAIL: the killed write left no partial temporary file"; fail=1; }
exit $fail
