#!/work/venv-quantus/bin/python
"""Quantus 0.6.0's stochastic metrics, drawn many times, for the agreement test of `gradtrace evaluate`
(tests/xai/test_quality_stochastic.cpp): tests/fixtures/quantus_stochastic.h5.

A stochastic metric cannot equal Quantus value for value (its random numbers come from numpy's global
generator); what must agree is the distribution. For each metric and item this calls Quantus DRAWS = 1000
times with numpy seeded 0, 1, ... (RandomLogit and MPRT: their own seed argument), one item per call (so
normalise is per item, as gradtrace's), and stores the draws' mean and standard deviation. The C++ test
draws 200 times from gradtrace's seeded streams and checks that the two means agree within the 95%
confidence interval of their difference. (With 200 draws on both sides MPRT's first 200 Quantus draws
happened to sit 2.6 standard errors above the mean of 1000 after the fourth layer; its layers are
cascaded, so one lucky set moves every later point. 1000 keep Quantus's side close to its true mean,
and the test compares each item's score, not every point of a curve.)

The model is quantus_reference.py's grayscale SmallCNN (tests/fixtures/onnx_gray_cnn.onnx): on one channel
Quantus's features (single values of the C*H*W input) are gradtrace's (pixels, all channels), and Quantus's
ROAD works only there (0.6.0 fails on three channels: see quantus_spec). Items: quantus_ref.h5's gray/x
rows 0..ITEMS-1 with its gray/y targets; the maps given as a_batch are quantus_ref.h5's `a` rows (signed
random normal); the robustness and random-logit metrics explain themselves with `saliency` below, the
gradient's absolute value (gradtrace's saliency map on one channel), and pass a_batch=None.

Parameters are smaller than Quantus's defaults where the defaults cost thousands of passes per draw; each
group's attributes say which (and the C++ test passes the same through --set names).

Layout: <metric>/value_mean, value_sd [ITEMS] float64 over the DRAWS draws (sd with ddof 0) of each item's
score (a curve's mean for ROAD and MPRT, as gradtrace's value); for those two also curve_mean, curve_sd
[ITEMS, L]: ROAD's 0/1 curve per percentage (L = 10), MPRT's Spearman correlation after each of the 8 layers
from the top (seed d: torch.manual_seed(d + 1) before each layer's reset_parameters);
attributes quantus_class and the changed parameters; root attributes items, draws and <metric>.set (the
same parameters as gradtrace's settings, KEY=V,...) and <metric>.explains (1: a_batch=None, Quantus explained x
with `saliency`; 0: the a rows were given).
imputation/removed [K] int64, imputation/imputed [1,32,32] float64: Quantus's noisy_linear_imputation of gray
item 0 (float64) with noise 0 at those pixels.

    /work/venv-quantus/bin/python tests/fixture_gen/quantus_stochastic.py   # about 1 minute
"""
import argparse
import contextlib
import io
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quantus  # noqa: E402
import quantus_reference as ref  # noqa: E402

FIX = ref.FIX
ITEMS, DRAWS, H, W = 2, 1000, 32, 32
ROAD_PERCENTAGES = list(range(1, 100, 10))

# name in gradtrace, Quantus class, constructor arguments, whether it explains itself, gradtrace's --set
METRICS = [
    ("faithfulness-correlation", quantus.FaithfulnessCorrelation, dict(nr_runs=20, subset_size=224), False,
     "runs=20"),
    ("monotonicity-correlation", quantus.MonotonicityCorrelation, dict(nr_samples=5, features_in_step=64), False,
     "samples=5,step=64"),
    ("road", quantus.ROAD, dict(percentages=ROAD_PERCENTAGES), False, "step=10"),
    ("max-sensitivity", quantus.MaxSensitivity, dict(nr_samples=5), True, "samples=5"),
    ("avg-sensitivity", quantus.AvgSensitivity, dict(nr_samples=5), True, "samples=5"),
    ("local-lipschitz", quantus.LocalLipschitzEstimate, dict(nr_samples=5), True, "samples=5"),
    ("random-logit", quantus.RandomLogit, dict(num_classes=10), True, ""),
    ("mprt", quantus.MPRT, dict(), True, ""),
]


def saliency(model, inputs, targets, **kwargs):
    """|d logit_y / d x|, (B,1,H,W): gradtrace's saliency map on a one-channel model."""
    x = torch.tensor(np.asarray(inputs), dtype=torch.float32, requires_grad=True)
    out = model(x)
    out[torch.arange(len(x)), torch.as_tensor(np.asarray(targets)).long()].sum().backward()
    return x.grad.abs().numpy()


def draw(cls, init, explains, model, x, y, a, d):
    """One Quantus call on one item with numpy (RandomLogit: the metric) seeded d."""
    np.random.seed(d)
    kw = dict(init)
    if cls in (quantus.RandomLogit, quantus.MPRT):
        kw["seed"] = d
    with contextlib.redirect_stdout(io.StringIO()):
        metric = cls(**kw, return_aggregate=False, disable_warnings=True, display_progressbar=False)
        r = metric(model=model, x_batch=x.copy(), y_batch=y.copy(), a_batch=None if explains else a[:, None].copy(),
                   explain_func=saliency if explains else None, **ref.CALL)
    if cls is quantus.ROAD:  # {percentage: accuracy over the batch}: here one item's 0/1
        return np.array([float(r[p]) for p in ROAD_PERCENTAGES])
    if cls is quantus.MPRT:  # {"original": [1], layer: [1], ...} top-down: the layers' curve
        return np.array([float(v[0]) for k, v in r.items() if k != "original"])
    return float(np.asarray(r, dtype=np.float64).ravel()[0])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(FIX, "quantus_stochastic.h5"))
    args = p.parse_args()
    model = ref.gray_cnn()
    with h5py.File(os.path.join(FIX, "quantus_ref.h5"), "r") as f:
        x, y, a = f["gray/x"][:ITEMS], f["gray/y"][:ITEMS], f["a"][:ITEMS]
    with h5py.File(args.out, "w") as out:
        out.attrs["items"], out.attrs["draws"] = ITEMS, DRAWS
        for name, cls, init, explains, settings in METRICS:
            draws = np.array([[draw(cls, init, explains, model, x[i:i + 1], y[i:i + 1], a[i:i + 1], d)
                               for d in range(DRAWS)] for i in range(ITEMS)])
            g = out.create_group(name)
            flat = draws.reshape(ITEMS, DRAWS, -1)
            value = flat.mean(2)  # a curve metric's value is its curve's mean, as gradtrace's
            g.create_dataset("value_mean", data=value.mean(1))
            g.create_dataset("value_sd", data=value.std(1))
            if flat.shape[2] > 1:
                g.create_dataset("curve_mean", data=flat.mean(1))
                g.create_dataset("curve_sd", data=flat.std(1))
            g.attrs["quantus_class"] = cls.__name__
            out.attrs[name + ".set"] = settings  # root attributes: what gradtrace's test reads
            out.attrs[name + ".explains"] = int(explains)
            for k, v in init.items():
                g.attrs[k] = ref.as_attr(v)
            m = draws.mean(1)
            print(f"{name:26s} mean per item {np.array2string(m.reshape(ITEMS, -1).mean(1), precision=4)}"
                  f"  sd {np.array2string(draws.reshape(ITEMS, DRAWS, -1).mean(2).std(1), precision=4)}")
        # ROAD's imputation without its noise, deterministic: item 0 with 300 scattered pixels and a 12x12
        # block (unknown neighbours of unknowns) removed
        rng = np.random.default_rng(5)
        removed = np.unique(np.concatenate([rng.choice(H * W, 300, replace=False),
                                            [r * W + c for r in range(3, 15) for c in range(10, 22)]]))
        from quantus.functions.perturb_func import noisy_linear_imputation
        g = out.create_group("imputation")
        g.create_dataset("removed", data=removed.astype(np.int64))
        g.create_dataset("imputed", data=noisy_linear_imputation(x[0].astype(np.float64), removed, noise=0.0))
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
