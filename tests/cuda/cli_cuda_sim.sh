#!/usr/bin/env bash
# The CLI on the simulated GPU (tests/cuda_sim): every command that takes --device runs with
# --device cuda, and its raw output matches --device cpu's (h5_close; maps within 2% of their largest
# value, classify's printed top 5 to the digit). Usage: cli_cuda_sim.sh GRADTRACE_CUDASIM H5_CLOSE
set -u
gt="$1" close="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() {  # ok NAME command...: must exit 0
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>&1 || { echo "FAIL: '$*' exited $?"; cat "$tmp/$name.out"; fail=1; }
}
same() {  # same NAME command...: with --device cpu and --device cuda, raw outputs within 2%
  local name=$1; shift
  for d in cpu cuda; do ok "$name.$d" "$@" --device "$d" --raw "$tmp/$name.$d.h5"; done
  "$close" "$tmp/$name.cpu.h5" "$tmp/$name.cuda.h5" 0.02 >"$tmp/$name.cmp" 2>&1 ||
    { echo "FAIL: $name: --device cuda differs from cpu"; cat "$tmp/$name.cmp"; fail=1; }
}

# The narrow VGG16 fixture (64x64; its 3x3 convs with 16+ channels are Winograd's), on the random
# input of its PyTorch fixture. Not a synthetic picture: in its flat regions a third of block1's 2x2
# pooling windows hold near-ties, which rounding (1e-7) breaks differently on each device, sending
# the gradient to another pixel. That is max pooling, not a fault (tools/gpu_check.sh uses a photo).
fix="$(dirname "$0")/../fixtures"
w="$fix/torch_vgg16_narrow.h5" img="$fix/vgg16_narrow_ref.h5"
for m in saliency gradxinput smoothgrad ig gradcam gradcam++ guided-backprop guided-gradcam deconvnet occlusion lrp \
  deeplift; do
  same "$m" "$gt" "$m" --weights "$w" --image "$img" --out "$tmp/$m.png"
done
for m in lime kernelshap; do
  same "$m" "$gt" "$m" --weights "$w" --image "$img" --out "$tmp/$m.png" --segments 8 --samples 40
done
# Three baselines in two passes. Not noise: against a noise baseline the channels' contributions
# often nearly cancel, and the signed map (the channel of largest magnitude, with its sign) then
# flips its sign on rounding; the attributions themselves agree either way.
same deeplift-shap "$gt" deeplift-shap --weights "$w" --image "$img" --out "$tmp/dls.png" --baselines black,white,gray \
  --batch 2
same classify "$gt" classify --weights "$w" --image "$img"
# A method's pass waits for the GPU only at its end: the CLI puts the image where the model is, so
# the logits do not come back to the host mid-pass. saliency = classify's run (loading, one forward)
# + a pass that waits twice (its end, and the tape's NaN check); a host image made it 4.
syncs() { GT_CUDA_SIM_STATS=1 "$@" --device cuda 2>&1 >/dev/null | sed -n 's/.* launches, \([0-9]*\) synchronisations.*/\1/p'; }
base=$(syncs "$gt" classify --weights "$w" --image "$img") sal=$(syncs "$gt" saliency --weights "$w" --image "$img" --out "$tmp/s.png")
[ -n "$base" ] && [ -n "$sal" ] && [ $((sal - base)) -le 2 ] ||
  { echo "FAIL: saliency waits $sal times on the GPU, classify $base: more than 2 in the pass"; fail=1; }
cmp -s "$tmp/classify.cpu.out" "$tmp/classify.cuda.out" ||
  { echo "FAIL: classify prints differently on cuda"; diff "$tmp/classify.cpu.out" "$tmp/classify.cuda.out"; fail=1; }
# Out of GPU memory (GT_CUDA_SIM_MEMORY_MB: a small simulated GPU; 300-360 MB hold the model, its
# 256 MB workspace and a batch of one, not a batch of hundreds): exit 1, and an error that says where
# (WHERE), the size, and that a smaller --batch may help.
oom() {  # oom NAME WHERE MB command...
  local name=$1 where=$2 mb=$3; shift 3
  GT_CUDA_SIM_MEMORY_MB=$mb "$@" --device cuda >"$tmp/$name.out" 2>&1
  local r=$?
  local e; e=$(grep "error: out of GPU memory" "$tmp/$name.out")
  [ "$r" = 1 ] && [[ "$e" == *"MB requested"* && "$e" == *"$where"* && "$e" == *"; try a smaller --batch"* ]] ||
    { echo "FAIL: $name on a GPU of $mb MB: exit $r, not the out-of-memory error ($where) with the --batch hint"; cat "$tmp/$name.out"; fail=1; }
}
# IG's 512 points (25 MB, and as much again for a moment while x' + a (x - x') is formed) fit in
# 330 MB; the conv layers' outputs for them do not.
oom ig_oom "in layer block" 330 "$gt" ig --weights "$w" --image "$img" --out "$tmp/o.png" --steps 512 --batch 512
oom occlusion_oom "copying the input" 300 "$gt" occlusion --weights "$w" --image "$img" --out "$tmp/o.png" --window 4 --stride 2 --batch 961
ok metrics "$gt" metrics --weights "$w" --image "$img" --method saliency --steps 4 --device cuda
ok edges "$gt" edges --size 64 --out "$tmp/in.png"  # counterfactual and report want a picture
ok counterfactual "$gt" counterfactual --weights "$w" --image "$tmp/in.png" --target 1 --steps 3 --out "$tmp/cf.png" --device cuda
ok report "$gt" report --weights "$w" --image "$tmp/in.png" --out "$tmp/report" --steps 4 --device cuda
ok inspect "$gt" inspect --weights "$w" --image "$img" --dump "$tmp/dump.h5" --layer 'block2_*' --device cuda
ok gradcheck "$gt" gradcheck --weights "$w" --image "$img" --layer block3_conv1 --device cuda
ok bench "$gt" bench conv --device cuda --size 32 --repeat 1
ok bench_model "$gt" bench --model fashion_cnn --task all --device cuda --repeat 1
if [ -d "${GRADTRACE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" ]; then
  ok train "$gt" train --dataset fashion-mnist --limit 200 --epochs 1 --batch 50 --alpha 0.25 --out "$tmp/fm.h5" --device cuda
  ok eval "$gt" eval --weights "$tmp/fm.h5" --dataset fashion-mnist --device cuda
  # evaluate: each item's perturbed copies go through the model on the GPU in batches; the scores and
  # curves match the CPU's (7e-7). Grad-CAM's map: saliency's differs where max pooling's windows
  # hold ties, in the pictures' flat black background (see above), and the pixel order with it.
  for d in cpu cuda; do
    ok "evaluate.$d" "$gt" evaluate --dataset fashion-mnist:test --limit 3 --methods gradcam --metrics \
      sparseness,deletion,region-perturbation,pixel-flipping,road --set pixel-flipping.step=98,road.step=33 \
      --device "$d" --threads 1 --out "$tmp/ev.$d.h5"
  done
  "$close" "$tmp/ev.cpu.h5" "$tmp/ev.cuda.h5" 0.02 >"$tmp/ev.cmp" 2>&1 ||
    { echo "FAIL: evaluate: --device cuda differs from cpu"; cat "$tmp/ev.cmp"; fail=1; }
else
  echo "skipped: train, eval and evaluate on the simulated GPU (dataset-fashion-mnist is not installed)"
fi
[ "$fail" = 0 ] && echo "the CLI on the simulated GPU: every command as on the CPU"
exit "$fail"
