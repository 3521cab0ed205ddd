#!/usr/bin/python3
"""PyTorch timing of VGG16's 13 conv layers, the peer of `gradtrace bench conv`: forward, and the input
gradient as autograd computes it for a frozen weight (what a saliency map runs), median ms and GFLOP/s.

    /usr/bin/python3 tools/bench_conv_torch.py [--threads 2] [--repeat 5] [--size 224]
"""
import argparse
import time

import torch
import torch.nn.functional as F

LAYERS = [("block1_conv1", 3, 64, 1), ("block1_conv2", 64, 64, 1), ("block2_conv1", 64, 128, 2),
          ("block2_conv2", 128, 128, 2), ("block3_conv1", 128, 256, 4), ("block3_conv2", 256, 256, 4),
          ("block3_conv3", 256, 256, 4), ("block4_conv1", 256, 512, 8), ("block4_conv2", 512, 512, 8),
          ("block4_conv3", 512, 512, 8), ("block5_conv1", 512, 512, 16), ("block5_conv2", 512, 512, 16),
          ("block5_conv3", 512, 512, 16)]


def median_ms(fn, repeat):
    fn()
    t = []
    for _ in range(repeat):
        a = time.perf_counter()
        fn()
        t.append((time.perf_counter() - a) * 1e3)
    return sorted(t)[len(t) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads, batch 1, {a.size}x{a.size}, median of {a.repeat}")
    print(f"{'layer':13s} {'GFLOP':>7s} | {'fwd ms':>9s} {'GFLOP/s':>8s} | {'dx ms':>9s} {'GFLOP/s':>8s} {'dx/fwd':>6s}")
    tf = tb = fl_all = 0.0
    for name, c, o, div in LAYERS:
        s = a.size // div
        x = (torch.rand(1, c, s, s) * 2 - 1).requires_grad_(True)
        w = (torch.rand(o, c, 3, 3) * 2 - 1) * 0.1
        dy = torch.rand(1, o, s, s) * 2 - 1
        fl = 2.0 * o * s * s * c * 9 * 1e-9
        with torch.no_grad():
            f = median_ms(lambda: F.conv2d(x, w, padding=1), a.repeat)
        y = F.conv2d(x, w, padding=1)
        b = median_ms(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), a.repeat)
        print(f"{name:13s} {fl:7.2f} | {f:9.2f} {fl / f * 1e3:8.1f} | {b:9.2f} {fl / b * 1e3:8.1f} {b / f:6.2f}")
        tf, tb, fl_all = tf + f, tb + b, fl_all + fl
    print(f"{'total':13s} {fl_all:7.2f} | {tf:9.2f} {fl_all / tf * 1e3:8.1f} | {tb:9.2f} {fl_all / tb * 1e3:8.1f} {tb / tf:6.2f}")


if __name__ == "__main__":
    main()
