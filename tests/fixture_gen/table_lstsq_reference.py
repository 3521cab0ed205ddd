"""numpy's least squares on penguins.csv, encoded as gradtrace encodes a table (data/table.h): the
reference that `gradtrace train --model linear --task regress` must reproduce (tests/cli/test_cli_table.cpp).

Target body_mass_g; every row with a target trains (--val 0 --test 0). Numeric columns: missing ->
median, then (x - mean) / population std; categorical columns: one-hot over the sorted categories,
missing -> the most frequent. The target is standardised the same way; lstsq fits [X 1] (its
minimum-norm solution). Writes tests/fixtures/penguins_lstsq.h5: `pred` (rows,), in grams, float64.

    /usr/bin/python3 tests/fixture_gen/table_lstsq_reference.py ../shared/data/tables/penguins.csv
"""
import csv
import sys

import h5py
import numpy as np

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}


def missing(v):
    return v.strip().lower() in MISSING


rows = list(csv.reader(open(sys.argv[1], newline="")))
header, rows = rows[0], [r for r in rows[1:] if r]
target = header.index("body_mass_g")
rows = [r for r in rows if not missing(r[target])]
cols = []
for j, name in enumerate(header):
    if j == target:
        continue
    v = [r[j].strip() for r in rows]
    present = [x for x in v if not missing(x)]
    try:
        nums = [float(x) for x in present]
    except ValueError:
        nums = None
    if nums is not None:
        med = float(np.median(nums))
        x = np.array([float(s) if not missing(s) else med for s in v])
        cols.append(((x - x.mean()) / x.std())[:, None])
    else:
        cats = sorted(set(present))
        fill = max(cats, key=lambda c: (present.count(c), -cats.index(c)))
        filled = [s if not missing(s) else fill for s in v]
        cols.append(np.array([[1.0 if s == c else 0.0 for c in cats] for s in filled]))
X = np.hstack(cols + [np.ones((len(rows), 1))])
y = np.array([float(r[target]) for r in rows])
w, *_ = np.linalg.lstsq(X, (y - y.mean()) / y.std(), rcond=None)
pred = X @ w * y.std() + y.mean()
with h5py.File("tests/fixtures/penguins_lstsq.h5", "w") as f:
    f["pred"] = pred
print("rows", len(rows), "columns", X.shape[1], "pred[:3]", pred[:3])
