#!/usr/bin/python3
"""The peers' relevance methods on torchvision's VGG16 (random weights, batch 1, 224x224, float32),
timed as tools/bench_relevance.sh compares them with `gradtrace bench --task saliency|lrp|deeplift`:
saliency (one input gradient), Zennit's EpsilonPlus (with its VGG canonizer), Captum's LRP (epsilon
everywhere) and Captum's DeepLift (zero baseline). Prints "NAME: MS ms" per method, the median of
--repeat runs after one warm-up, on --threads threads.

    python3 tools/bench_relevance_torch.py [--threads 2] [--repeat 5]
"""
import argparse
import statistics
import time
import warnings

import torch
import torchvision

TARGET = 281


def median_ms(fn, repeat):
    fn()  # warm-up: allocations, hooks
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    m = torchvision.models.vgg16().eval()
    for mod in m.modules():  # the peers' hooks need out-of-place ReLUs
        if isinstance(mod, torch.nn.ReLU):
            mod.inplace = False
    for p in m.parameters():
        p.requires_grad_(False)
    x = torch.rand(1, 3, 224, 224) * 2 - 1

    def saliency():
        xi = x.clone().requires_grad_()
        m(xi)[0, TARGET].backward()

    print(f"saliency: {median_ms(saliency, a.repeat):.2f} ms", flush=True)
    try:
        from zennit.attribution import Gradient
        from zennit.composites import EpsilonPlus
        from zennit.torchvision import VGGCanonizer
        onehot = torch.zeros(1, 1000)
        onehot[0, TARGET] = 1
        with Gradient(model=m, composite=EpsilonPlus(canonizers=[VGGCanonizer()])) as attributor:
            ms = median_ms(lambda: attributor(x.clone(), onehot), a.repeat)
        print(f"zennit_epsilon_plus: {ms:.2f} ms", flush=True)
    except ImportError:
        print("zennit: not installed")
    try:
        from captum.attr import LRP, DeepLift
        print(f"captum_lrp_epsilon: {median_ms(lambda: LRP(m).attribute(x.clone(), target=TARGET), a.repeat):.2f} ms",
              flush=True)
        base = torch.zeros_like(x)
        ms = median_ms(lambda: DeepLift(m).attribute(x.clone(), base, target=TARGET), a.repeat)
        print(f"captum_deeplift: {ms:.2f} ms", flush=True)
    except ImportError:
        print("captum: not installed")


if __name__ == "__main__":
    main()
