#!/work/venv-quantus/bin/python
"""Pixel flipping on 100 images of 224x224 (issue 30's speed check): Quantus 0.6 against
`gradtrace evaluate`, on the same model and machine, in one run.

The model: torchvision's MobileNetV2 with random weights (seed 0; the timing does not depend on them),
exported to ONNX for gradtrace. The images: 100 random pictures (seed 0) written as PNGs for gradtrace
and preprocessed as torchvision's for Quantus. The maps: each image's saliency map (Quantus: given as
a_batch, computed beforehand and not timed; gradtrace: computed by `evaluate --methods saliency`, whose
time it prints apart from the metric's). Steps: the same number of forward passes per image, 147.
Quantus flips features_in_step = 1024 of the 3 x 224 x 224 values at a time (it must divide 224 x 224);
gradtrace `--set pixel-flipping.step=342` pixels with all their channels (ceil(50176 / 342) = 147). Both run 2 threads; Quantus its default batch of 64 images, gradtrace
--batch 32 copies of one image per pass.

    /work/venv-quantus/bin/python tools/bench_pixel_flipping.py [--images 100] [--threads 2]
"""
import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gradtrace", default=os.path.join(ROOT, "build", "gradtrace"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2().eval()
    tmp = tempfile.mkdtemp(prefix="bench_pf_")
    onnx = os.path.join(tmp, "mobilenet_v2.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), onnx, input_names=["input"], output_names=["logits"],
                      opset_version=13)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(args.images, 224, 224, 3), dtype=np.uint8)
    os.makedirs(os.path.join(tmp, "images"))
    for i, im in enumerate(pixels):
        Image.fromarray(im).save(os.path.join(tmp, "images", f"{i:03d}.png"))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    x = ((pixels / 255.0 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    xt = torch.from_numpy(x).requires_grad_(True)
    model(xt)[torch.arange(len(x)), torch.from_numpy(y)].sum().backward()
    a = xt.grad.abs().amax(1).numpy()  # gradtrace's saliency map: max |grad| over the channels

    import quantus
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        quantus.PixelFlipping(features_in_step=1024, disable_warnings=True, display_progressbar=False)(
            model=model, x_batch=x, y_batch=y, a_batch=a[:, None], channel_first=True, device="cpu")
    quantus_s = time.perf_counter() - t0
    print(f"Quantus {quantus.__version__} (torch {torch.__version__}): {quantus_s:.1f} s", flush=True)

    cmd = [args.gradtrace, "evaluate", "--weights", onnx, "--preprocess", "torch", "--dataset",
           "folder:" + os.path.join(tmp, "images"), "--methods", "saliency", "--metrics", "pixel-flipping",
           "--set", "pixel-flipping.step=342", "--batch", "32", "--threads", str(args.threads), "--out",
           os.path.join(tmp, "r.h5")]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t0
    metric_s = float(re.search(r"pixel-flipping ([0-9.]+)", out.split("time (s")[1]).group(1))
    print(f"gradtrace evaluate: {wall:.1f} s in all, pixel-flipping {metric_s:.1f} s "
          f"({metric_s / quantus_s:.2f}x Quantus's time; the whole command {wall / quantus_s:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
