#!/usr/bin/env python3
"""LIME's surrogate fit by the lime package itself (the peer), on fixed samples.

    pip install lime h5py && python3 tests/fixture_gen/make_lime_fixture.py

lime_image draws coalitions z in {0,1}^S (the first all ones), measures their cosine distance to the
image's z = 1, weights them with its kernel (width 0.25) and fits Ridge(alpha=1) with an intercept.
This script takes 300 coalitions of S = 12 superpixels and a made-up, non-additive score y(z), and
asks lime_image's own LimeBase for that fit. Writes tests/fixtures/lime_fit.h5: `z` [300,12], `y`
[300], `phi` [12], attributes `intercept` and `r2` (lime's prediction_score), all float64.
gradtrace's xai::lime_fit must give the same from z and y.
"""
import os

import h5py
import numpy as np
import sklearn.metrics
from lime.lime_image import LimeImageExplainer

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def main():
    rng = np.random.default_rng(0)
    n, S = 300, 12
    z = rng.integers(0, 2, (n, S))
    z[0] = 1
    w = rng.normal(size=S)
    y = z @ w + 0.8 * z[:, 0] * z[:, 1] - 0.5 * np.sin(z[:, 2:6].sum(1)) + 0.1 * rng.normal(size=n)
    base = LimeImageExplainer(kernel_width=0.25).base  # lime_image's kernel, as explain_instance uses it
    distances = sklearn.metrics.pairwise_distances(z, z[0].reshape(1, -1), metric="cosine").ravel()
    intercept, exp, score, _ = base.explain_instance_with_data(z, y[:, None], distances, 0, S, feature_selection="none")
    phi = np.zeros(S)
    for k, v in exp:
        phi[k] = v
    with h5py.File(os.path.join(FIX, "lime_fit.h5"), "w") as f:
        f["z"] = z.astype(np.float64)
        f["y"] = y
        f["phi"] = phi
        f.attrs["intercept"] = float(intercept)
        f.attrs["r2"] = float(score)
    print("intercept", intercept, "R^2", score, "phi", phi.round(4))


if __name__ == "__main__":
    main()
