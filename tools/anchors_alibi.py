"""Anchors: gradtrace against alibi's AnchorTabular on the same model and the same rows, by hand.

    python3 tools/anchors_alibi.py MODEL.h5 [../shared/data/tables/adult.csv] [--rows 0-19] [--gt build/gradtrace]

MODEL.h5 is a gradtrace table MLP (gradtrace train --dataset csv:adult.csv --target income). alibi gets
the same network, evaluated here in numpy from the weights file, on the same encoding (the schema in
the file: medians and most frequent categories for missing values, standardised numbers, one-hot
categories), and the same search settings: threshold 0.95, delta 0.1, tau (our epsilon) 0.15, batches of
100, beam 2, quartile bins. alibi's sampler draws from every row of the file, gradtrace's from the
training rows. For each row: both rules, their precision and coverage, and the seconds (gradtrace's
whole command, alibi's explain() alone). alibi 0.9 imports spaCy at import time, which AnchorTabular
does not use: it is stubbed here (tests/fixture_gen/alibi_stub.py).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fixture_gen"))
import alibi_stub  # noqa: E402,F401

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("csv", nargs="?", default="../shared/data/tables/adult.csv")
p.add_argument("--rows", default="0-19")
p.add_argument("--gt", default="build/gradtrace")
a = p.parse_args()
lo, hi = (int(v) for v in a.rows.split("-"))

f = h5py.File(a.model, "r")
schema = json.loads(f.attrs["table"])
layers = sorted(k for k in f.keys() if "weight" in f[k])  # dense_1, dense_2, ..., output
W = [(f[k]["weight"][()].astype(np.float64), f[k]["bias"][()].astype(np.float64)) for k in layers]
feats = schema["features"]
classes = schema["classes"]

df = pd.read_csv(a.csv, skipinitialspace=True, dtype=str, keep_default_na=False)
df = df[df[schema["target"]].str.strip() != ""]


def ordinal(frame):
    """Each feature as a number: its value (missing: the fill) or its category index (missing: the fill)."""
    out = np.zeros((len(frame), len(feats)))
    for j, c in enumerate(feats):
        col = frame[c["name"]].str.strip()
        missing = col.str.upper().isin(["", "NA", "N/A", "NAN", "NULL", "NONE", "?"])
        if c["type"] == "numeric":
            out[:, j] = np.where(missing, c["fill"], pd.to_numeric(col.where(~missing, "0"), errors="coerce"))
        else:
            idx = {v: i for i, v in enumerate(c["categories"])}
            out[:, j] = [c["fill"] if m else idx.get(v, -1) for v, m in zip(col, missing)]
    return out


def predict(x):
    """The MLP on ordinal rows: encoded as gradtrace encodes them, ReLU between the dense layers."""
    cols = []
    for j, c in enumerate(feats):
        if c["type"] == "numeric":
            cols.append(((x[:, j] - c["mean"]) / c["scale"])[:, None])
        else:
            cols.append(np.eye(len(c["categories"]) + 1)[np.where(x[:, j] < 0, len(c["categories"]), x[:, j]).astype(int)][:, :-1])
    h = np.concatenate(cols, axis=1)
    for i, (w, b) in enumerate(W):
        h = h @ w.T + b
        if i + 1 < len(W):
            h = np.maximum(h, 0)
    return h.argmax(1)


X = ordinal(df)
from alibi.explainers import AnchorTabular  # noqa: E402

names = [c["name"] for c in feats]
categorical = {j: c["categories"] for j, c in enumerate(feats) if c["type"] != "numeric"}
explainer = AnchorTabular(predict, names, categorical_names=categorical, seed=0)
explainer.fit(X, disc_perc=(25, 50, 75))

print("%4s  %-62s %6s %6s %6s | %-62s %6s %6s %6s" % ("row", "gradtrace", "prec", "cov", "s", "alibi", "prec", "cov", "s"))
totals = [0.0, 0.0, 0.0, 0.0]
for k in range(lo, hi + 1):
    t0 = time.perf_counter()
    out = subprocess.run([a.gt, "anchors", "--weights", a.model, "--dataset", "csv:" + a.csv, "--row", str(k)],
                         check=True, capture_output=True, text=True).stdout
    ours_s = time.perf_counter() - t0
    rule = re.search(r"IF (.*?)( THEN|$)", out, re.M).group(1)
    prec, cov = (float(v) for v in re.search(r"precision ([0-9.]+).*coverage ([0-9.]+)", out).groups())
    t0 = time.perf_counter()
    e = explainer.explain(X[k], threshold=0.95, delta=0.1, tau=0.15, batch_size=100, beam_size=2,
                          coverage_samples=10000)
    peer_s = time.perf_counter() - t0
    theirs = " AND ".join(e.anchor)
    print("%4d  %-62s %6.3f %6.3f %6.2f | %-62s %6.3f %6.3f %6.2f" %
          (k, rule[:62], prec, cov, ours_s, theirs[:62], e.precision, e.coverage, peer_s))
    totals = [totals[0] + cov, totals[1] + e.coverage, totals[2] + ours_s, totals[3] + peer_s]
n = hi - lo + 1
print("mean coverage: gradtrace %.4f, alibi %.4f; mean seconds: gradtrace %.2f, alibi %.2f (%.1fx)" %
      (totals[0] / n, totals[1] / n, totals[2] / n, totals[3] / n, totals[3] / totals[2]))
