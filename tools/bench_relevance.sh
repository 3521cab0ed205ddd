#!/usr/bin/env bash
# LRP and DeepLIFT against the peers on VGG16 (random weights, batch 1, 2 threads), interleaved on the
# same machine: gradtrace's saliency, lrp (EpsilonPlus, and LRP-epsilon as Captum's) and deeplift
# (`gradtrace bench`), then
# torch's saliency, Zennit's EpsilonPlus, Captum's LRP-epsilon and DeepLift
# (tools/bench_relevance_torch.py), ROUNDS times. Prints each round and the medians, and the ratios
# that issue 29 asks for: each method to its own tool's saliency, and gradtrace to the peer.
#   tools/bench_relevance.sh [ROUNDS] [PYTHON]    defaults: 3, /usr/bin/python3 (GT_TORCH_VENV/bin/python
#                                                 for the newest torch)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} py=${2:-/usr/bin/python3}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for ((r = 1; r <= rounds; r++)); do
  for t in saliency lrp lrp_epsilon deeplift; do
    args=(--task "$t")
    [[ $t == lrp_epsilon ]] && args=(--task lrp --composite captum-epsilon)
    build/gradtrace bench --model vgg16 "${args[@]}" --threads 2 --repeat 5 |
      sed -E "s/^vgg16 ([a-z0-9]+): ([0-9.]+) ms.*/gradtrace_$t \2/" | tee -a "$log"
  done
  "$py" tools/bench_relevance_torch.py --threads 2 --repeat 5 | sed -E 's/^([a-z_]+): ([0-9.]+) ms/torch_\1 \2/' |
    grep -E '^torch_' | tee -a "$log"
done
echo
awk '
  { v[$1] = v[$1] " " $2 }
  function median(s,   a, n, i, j, t) {
    n = split(s, a); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    for (k in v) m[k] = median(v[k])
    printf "%-28s %10s %14s\n", "method (median ms)", "ms", "x own saliency"
    split("gradtrace_saliency gradtrace_lrp gradtrace_lrp_epsilon gradtrace_deeplift torch_saliency torch_zennit_epsilon_plus torch_captum_lrp_epsilon torch_captum_deeplift", order)
    for (i = 1; i <= 8; i++) {
      k = order[i]; if (!(k in m)) continue
      own = k ~ /^gradtrace/ ? m["gradtrace_saliency"] : m["torch_saliency"]
      printf "%-28s %10.1f %14.2f\n", k, m[k], m[k] / own
    }
    if ("torch_zennit_epsilon_plus" in m) printf "\ngradtrace lrp / Zennit EpsilonPlus: %.2f\n", m["gradtrace_lrp"] / m["torch_zennit_epsilon_plus"]
    if ("torch_captum_lrp_epsilon" in m) printf "gradtrace lrp (captum-epsilon) / Captum LRP-epsilon: %.2f\n", m["gradtrace_lrp_epsilon"] / m["torch_captum_lrp_epsilon"]
    if ("torch_captum_deeplift" in m) printf "gradtrace deeplift / Captum DeepLift: %.2f\n", m["gradtrace_deeplift"] / m["torch_captum_deeplift"]
  }' "$log"
