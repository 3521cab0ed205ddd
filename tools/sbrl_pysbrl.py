"""Scalable Bayesian Rule Lists: gradtrace rules against pysbrl (the SBRL authors' C code) on the same
discretisation of UCI Adult, on the same machine, by hand.

    python3 tools/sbrl_pysbrl.py [build/gradtrace] [../shared/data/tables/adult.csv] [--min-support 0.15]

Both fit every row (gradtrace: --val 0 --test 0), with quartile bins of the numbers and the categories
as items (missing categories filled with the most frequent, as gradtrace does), at most 2 items per
rule, lambda 5, eta 1, alpha 1, 10 chains of 10,000 proposals. pysbrl mines its candidates with eclat,
frequent within one class (its own rule); gradtrace with FP-growth, frequent among all rows. Prints each
list, its accuracy on the rows and the seconds (gradtrace's whole command; pysbrl's fit, mining
included). pysbrl needs GSL to build (apt-get install libgsl-dev; pip install pysbrl pyfim).
"""
import argparse
import re
import subprocess
import time

import numpy as np
import pandas as pd

p = argparse.ArgumentParser()
p.add_argument("gt", nargs="?", default="build/gradtrace")
p.add_argument("csv", nargs="?", default="../shared/data/tables/adult.csv")
p.add_argument("--min-support", type=float, default=0.15)
a = p.parse_args()

t0 = time.perf_counter()
out = subprocess.run([a.gt, "rules", "--dataset", "csv:" + a.csv, "--target", "income", "--val", "0", "--test", "0",
                      "--min-support", str(a.min_support), "--lambda", "5", "--eta", "1", "--chains", "10",
                      "--iterations", "10000", "--out", "/dev/null"],
                     check=True, capture_output=True, text=True).stdout
ours_s = time.perf_counter() - t0
print("gradtrace (%.2f s):" % ours_s)
print(out)

df = pd.read_csv(a.csv, skipinitialspace=True, na_values="?")
y = (df.pop("income").str.strip() == ">50K").astype(int).to_numpy()
cols, names = [], []
for c in df.columns:
    v = df[c]
    if v.dtype.kind in "if":
        v = v.fillna(v.median())
        q = np.percentile(v, [25, 50, 75])
        cuts = []
        for x in q:  # gradtrace's bins: distinct quartiles below the maximum
            if x < v.max() and (not cuts or x > cuts[-1]):
                cuts.append(x)
        codes = np.searchsorted(cuts, v.to_numpy(), side="left")
        labels = (["<= %g" % cuts[0]] + ["(%g, %g]" % (cuts[i - 1], cuts[i]) for i in range(1, len(cuts))] +
                  ["> %g" % cuts[-1]]) if cuts else ["any"]
    else:
        v = v.fillna(v.mode()[0])
        cats = sorted(v.unique())
        codes = v.map({k: i for i, k in enumerate(cats)}).to_numpy()
        labels = cats
    cols.append(codes)
    names.append((c, labels))
X = np.stack(cols, axis=1).astype(int)

np.int = int  # pysbrl 0.4.1 still spells numpy's removed alias
import pysbrl  # noqa: E402

m = pysbrl.BayesianRuleList(min_rule_len=1, max_rule_len=2, min_support=a.min_support, lambda_=5, eta=1,
                            iters=10000, n_chains=10, alpha=1, seed=0,
                            feature_names=[n for n, _ in names], category_names=[l for _, l in names])
t0 = time.perf_counter()
m.fit(X, y)
peer_s = time.perf_counter() - t0
acc = (m.predict(X) == y).mean()
print("pysbrl (%.2f s): %d rules, accuracy %.4f on the %d rows" % (peer_s, len(m.rule_list) - 1, acc, len(y)))
for j, r in enumerate(m.rule_list):
    cond = " AND ".join("%s %s" % (names[f][0], names[f][1][c] if names[f][1][c][0] in "<>(" else "= " + names[f][1][c])
                        for f, c in r.clauses)
    print("  %s%s p(>50K) = %.2f" % ("ELSE " if j else "", "IF " + cond + " THEN" if cond else "", r.output[1]))
ours_acc = float(re.search(r"accuracy ([0-9.]+)", out).group(1))
print("gradtrace %.2f s, accuracy %.4f; pysbrl %.2f s, accuracy %.4f; pysbrl / gradtrace %.1fx" %
      (ours_s, ours_acc, peer_s, acc, peer_s / ours_s))
