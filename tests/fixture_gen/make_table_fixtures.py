"""The small mixed table that the table methods' peer fixtures use (tests/fixtures/table_mixed.csv),
and the two models trained on it with gradtrace itself (table_mlp_class.h5, table_mlp_reg.h5):

    python3 tests/fixture_gen/make_table_fixtures.py build/gradtrace

300 rows: two numeric columns (one with missing values), two categorical ones (one with '?'), a class
label and a numeric value that both depend on all four. tests/fixture_gen/table_sklearn_reference.py
then computes the peers' answers on these models (table_sklearn_ref.h5).
"""
import os
import subprocess
import sys

import numpy as np

rng = np.random.default_rng(7)
n = 300
age = rng.normal(40, 12, n).round(1)
hours = rng.normal(38, 9, n).round(0)
color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
size = rng.choice(["S", "L"], n)
score = 0.08 * (age - 40) + 0.05 * (hours - 38) + np.where(color == "blue", 1.2, 0) - np.where(size == "S", 0.8, 0)
label = np.where(score + rng.normal(0, 0.5, n) > 0, "yes", "no")
value = 3 * score + rng.normal(0, 0.3, n) + 10
rows = ["age,hours,color,size,label,value"]
for i in range(n):
    h = "" if i % 17 == 3 else "%g" % hours[i]
    s = "?" if i % 23 == 5 else size[i]
    rows.append("%g,%s,%s,%s,%s,%.4f" % (age[i], h, color[i], s, label[i], value[i]))
fixtures = os.path.join(os.path.dirname(__file__), "..", "fixtures")
csv = os.path.join(fixtures, "table_mixed.csv")
open(csv, "w").write("\n".join(rows) + "\n")
common = ["--dataset", "csv:" + csv, "--hidden", "16,8", "--epochs", "40", "--batch", "32", "--seed", "3",
          "--threads", "1"]
subprocess.run([sys.argv[1], "train", *common, "--target", "label", "--drop", "value",
                "--out", os.path.join(fixtures, "table_mlp_class.h5"), "--checkpoint", "/tmp/table_class.ckpt.h5"],
               check=True)
subprocess.run([sys.argv[1], "train", *common, "--target", "value", "--drop", "label", "--task", "regress",
                "--optimizer", "adam", "--out", os.path.join(fixtures, "table_mlp_reg.h5"),
                "--checkpoint", "/tmp/table_reg.ckpt.h5"], check=True)
