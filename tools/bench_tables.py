"""Table explainers: gradtrace against its Python peers on UCI Adult, on the same machine in one run.

    python3 tools/bench_tables.py [build/gradtrace] [../shared/data/tables/adult.csv]

gradtrace's times are whole commands (process start, CSV read, encoding, the method), as a user waits
for them; the peers' are the library call alone, on data already in a DataFrame, with the same model
shape (an sklearn Pipeline: imputation, scaling, one-hot encoding, MLPClassifier(64, 32)). Both use
the machine's cores as they do by default. Prints seconds and the ratio peer / gradtrace.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

gt = sys.argv[1] if len(sys.argv) > 1 else "build/gradtrace"
csv = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/tables/adult.csv"
tmp = tempfile.mkdtemp()
model = os.path.join(tmp, "adult.h5")


def run(args):
    t0 = time.perf_counter()
    subprocess.run([gt] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


run(["train", "--dataset", "csv:" + csv, "--target", "income", "--epochs", "2", "--out", model])
data = ["--weights", model, "--dataset", "csv:" + csv]

from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.inspection import partial_dependence, permutation_importance  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

df = pd.read_csv(csv, skipinitialspace=True, na_values="?")
X, y = df.drop(columns="income"), df["income"]
num = [c for c in X.columns if X[c].dtype.kind in "if"]
cat = [c for c in X.columns if c not in num]
X[num] = X[num].astype(float)  # (sklearn's partial_dependence refuses integer columns,
X[cat] = X[cat].fillna("?")  # and NaN among strings: '?' stays a category of its own here)
pipe = make_pipeline(
    ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
                       ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                             OneHotEncoder(handle_unknown="ignore")), cat)]),
    MLPClassifier((64, 32), max_iter=3, random_state=0))
import warnings  # noqa: E402
warnings.filterwarnings("ignore")
pipe.fit(X, y)
rows = X.iloc[:10000]

results = []
ours = run(["permutation-importance"] + data + ["--split", "all", "--rows", "10000", "--repeats", "10"])
peer = timed(lambda: permutation_importance(pipe, rows, y.iloc[:10000], n_repeats=10, random_state=0))
results.append(("permutation importance, 10 repeats, 14 features, 10,000 rows", ours, peer, "sklearn"))

ours = sum(run(["pdp"] + data + ["--split", "all", "--rows", "10000", "--feature", f]) for f in X.columns)
peer = timed(lambda: [partial_dependence(pipe, rows, [f], kind="average", categorical_features=cat) for f in X.columns])
results.append(("PDP of every feature (14), 10,000 rows, grid 100", ours, peer, "sklearn"))

import shap  # noqa: E402
background = X.iloc[:100]
ours = run(["kernelshap"] + data + ["--row", "12", "--samples", "2048", "--background", "100"])


def shap_row():
    f = lambda a: pipe.predict_proba(pd.DataFrame(a, columns=X.columns))[:, 1]  # noqa: E731
    e = shap.KernelExplainer(f, background.to_numpy(object))
    e.shap_values(X.iloc[12:13].to_numpy(object), nsamples=2048, silent=True)


peer = timed(shap_row)
results.append(("KernelSHAP of one row, 2048 samples, 100 background rows", ours, peer, "shap"))

print("%-62s %10s %10s  %s" % ("", "gradtrace", "peer", "peer / gradtrace"))
for name, o, p, who in results:
    print("%-62s %9.2fs %9.2fs  %.1fx (%s)" % (name, o, p, p / o, who))
