"""scikit-learn's, alibi's, shap's and lime's answers on gradtrace's table models (tests/fixtures/table_mlp_{class,reg}.h5 on
table_mixed.csv, from make_table_fixtures.py), for tests/xai/test_table_methods.cpp:

    python3 tests/fixture_gen/table_sklearn_reference.py

The models run here in numpy float64 from their weights files, behind an estimator that encodes a
row as the file's schema says (data/table.h), so sklearn permutes raw columns, as gradtrace permutes
features. Writes tests/fixtures/table_sklearn_ref.h5, a group per model (class, reg):
  permutation importance (n_repeats 3, random_state 0, every row): perms [F,R,N] (the row order of
  each feature's column in each repeat, read off a probe run with the same random_state),
  importances [F,R]; root attribute NAME_baseline. Partial dependence (kind 'both', method 'brute',
  grid_resolution 20) of age, color and the pair: pdp_<features>/average [K,G], individual [K,N,G] (not the pair's),
  grid_<axis> for a numeric axis. alibi's ALE (ale_num, its defaults) of age and hours:
  ale_<feature>/grid [G], ale [G,K], ale0 [K] (K: every class's probability, or the value). shap's
  KernelExplainer of row 7 against rows 0..19: kernelshap/phi [M], phi0 (of p(class 1), or the value).
  lime_tabular's explanation of row 7 (every row as training data, 300 samples): lime/samples [300,M]
  (the rows it drew, numbers and category codes), phi [M], intercept, score, local_pred.
"""
import csv
import json
import os

import h5py
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.inspection import partial_dependence, permutation_importance

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures")


class TableModel:
    """A gradtrace table model in float64: schema encoding, then dense/ReLU layers."""

    def __init__(self, path):
        f = h5py.File(path, "r")
        self.schema = json.loads(f.attrs["table"])
        names = sorted(k for k in f.keys() if k.startswith("dense_"))
        self.layers = [(f[k]["weight"][()].astype(np.float64), f[k]["bias"][()].astype(np.float64))
                       for k in names + ["output"]]
        self.features = [c["name"] for c in self.schema["features"]]

    def encode(self, frame):
        cols = []
        for c in self.schema["features"]:
            v = frame[c["name"]].astype(str).str.strip()
            miss = v.str.lower().isin(MISSING)
            if c["type"] == "numeric":
                x = np.where(miss, c["fill"], pd.to_numeric(v.where(~miss, "0")))
                cols.append(((x.astype(np.float64) - c["mean"]) / c["scale"])[:, None])
            else:
                v = v.where(~miss, c["categories"][c["fill"]])
                cols.append(np.stack([(v == k).to_numpy(np.float64) for k in c["categories"]], axis=1))
        return np.hstack(cols)

    def forward(self, frame):
        h = self.encode(frame)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0)
        return h


def load_alibi_ale():
    """alibi's ale module alone (alibi's package imports spaCy and more, which its ALE does not use)."""
    import importlib.util
    import site
    import sys
    import types
    root = os.path.join(site.getsitepackages()[0], "alibi")
    for name, path in (("alibi", root), ("alibi.api", root + "/api"), ("alibi.explainers", root + "/explainers"),
                       ("alibi.utils", root + "/utils")):
        m = types.ModuleType(name)
        m.__path__ = [path]
        sys.modules.setdefault(name, m)
    spec = importlib.util.spec_from_file_location("alibi.explainers.ale", root + "/explainers/ale.py")
    ale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ale)

    def get_quantiles(values, num_quantiles=11, interpolation="linear"):
        # alibi 0.9.6's own, with numpy 2's name for the argument (it passes interpolation=, removed)
        return np.percentile(values, np.linspace(0, 100, num=num_quantiles), axis=0, method=interpolation)

    ale.get_quantiles = get_quantiles
    return ale


def numeric_matrix(model, frame):
    """The rows as alibi takes them: numbers (a missing one as the schema's fill), categories as codes."""
    cols = []
    for c in model.schema["features"]:
        v = frame[c["name"]].astype(str).str.strip()
        miss = v.str.lower().isin(MISSING)
        if c["type"] == "numeric":
            cols.append(np.where(miss, c["fill"], pd.to_numeric(v.where(~miss, "0"))).astype(np.float64))
        else:
            cols.append(np.array([c["categories"].index(x) if not m else c["fill"] for x, m in zip(v, miss)], np.float64))
    return np.stack(cols, axis=1)


def numeric_predictor(model, classify):
    """f(X) for alibi: X as numeric_matrix writes it, encoded as the schema says; probabilities or values."""
    s = model.schema

    def predict(X):
        cols = []
        for j, c in enumerate(s["features"]):
            if c["type"] == "numeric":
                cols.append(((X[:, j] - c["mean"]) / c["scale"])[:, None])
            else:
                cols.append(np.stack([(X[:, j] == k).astype(np.float64) for k in range(len(c["categories"]))], 1))
        h = np.hstack(cols)
        for i, (w, b) in enumerate(model.layers):
            h = h @ w.T + b
            if i < len(model.layers) - 1:
                h = np.maximum(h, 0)
        if not classify:
            return h * s["target_scale"] + s["target_mean"]
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return predict


class Classifier(ClassifierMixin, BaseEstimator):
    def __init__(self, model=None):
        self.model = model

    def fit(self, X, y):
        self.classes_ = np.arange(len(self.model.schema["classes"]))
        return self

    def predict(self, X):
        return self.model.forward(X).argmax(axis=1)

    def predict_proba(self, X):
        z = self.model.forward(X)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


class Regressor(RegressorMixin, BaseEstimator):
    def __init__(self, model=None):
        self.model = model

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        s = self.model.schema
        return self.model.forward(X)[:, 0] * s["target_scale"] + s["target_mean"]


class Probe(RegressorMixin, BaseEstimator):
    """Records every X it is asked to predict: its columns hold row indices."""

    def __init__(self, seen=None):
        self.seen = seen

    def fit(self, X, y):
        return self

    def predict(self, X):
        self.seen.append(X.to_numpy().copy())
        return np.zeros(len(X))


def main():
    rows = list(csv.DictReader(open(os.path.join(HERE, "table_mixed.csv"), newline="")))
    out = h5py.File(os.path.join(HERE, "table_sklearn_ref.h5"), "w")
    repeats = 3
    for name, est in (("class", Classifier), ("reg", Regressor)):
        model = TableModel(os.path.join(HERE, "table_mlp_%s.h5" % name))
        s = model.schema
        frame = pd.DataFrame({f: [r[f] for r in rows] for f in model.features})
        target = [r[s["target"]].strip() for r in rows]
        y = (np.array([s["classes"].index(t) for t in target]) if s["task"] == "classify"
             else np.array([float(t) for t in target]))
        e = est(model).fit(frame, y)
        res = permutation_importance(e, frame, y, n_repeats=repeats, random_state=0)
        seen = []
        probe = pd.DataFrame({f: np.arange(len(rows)) for f in model.features})
        permutation_importance(Probe(seen).fit(probe, y), probe, y, n_repeats=repeats, random_state=0)
        F, N = len(model.features), len(rows)
        perms = np.array(seen[1:]).reshape(F, repeats, N, F)  # after the baseline, feature by feature
        perms = np.stack([perms[j, :, :, j] for j in range(F)])
        g = out.create_group(name)
        g["perms"] = perms.astype(np.int64)
        g["importances"] = res.importances
        out.attrs[name + "_baseline"] = e.score(frame, y)
        print(name, "baseline", out.attrs[name + "_baseline"], "mean importances", res.importances_mean)
        # partial dependence on a typed frame (numbers as floats, missing as NaN), 20-point grids
        typed = frame.copy()
        for c in s["features"]:
            if c["type"] == "numeric":
                typed[c["name"]] = pd.to_numeric(typed[c["name"]].where(~typed[c["name"]].str.strip().str.lower()
                                                                          .isin(MISSING)), errors="raise")
        cats = [c["name"] for c in s["features"] if c["type"] == "categorical"]
        for fs in (["age"], ["color"], ["age", "color"]):
            pd_res = partial_dependence(e, typed, fs, kind="both", method="brute", grid_resolution=20,
                                        categorical_features=cats)
            key = "pdp_" + "_".join(fs)
            g[key + "/average"] = pd_res["average"]
            if len(fs) == 1:  # (the pair's ICE curves are the same arithmetic, and 144 kB)
                g[key + "/individual"] = pd_res["individual"]
            for a, values in enumerate(pd_res["grid_values"]):
                if values.dtype.kind == "f":
                    g[key + "/grid_%d" % a] = values
        # alibi's ALE of the numeric features (age, hours), defaults (min_bin_points 4)
        ale = load_alibi_ale()
        X = numeric_matrix(model, frame)
        for j in (0, 1):
            fvals, values, ale0 = ale.ale_num(numeric_predictor(model, s["task"] == "classify"), X, j)
            key = "ale_" + model.features[j]
            g[key + "/grid"] = fvals
            g[key + "/ale"] = values
            g[key + "/ale0"] = ale0
        # shap's KernelExplainer of row 7 against rows 0..19 as background (every coalition: exact),
        # f = p(class 1) or the value
        import shap
        explainer = shap.KernelExplainer(numeric_predictor(model, s["task"] == "classify"), X[:20])
        phi = np.asarray(explainer.shap_values(X[7:8], nsamples=1000, silent=True))
        k = 1 if s["task"] == "classify" else 0
        g["kernelshap/phi"] = phi.reshape(len(model.features), -1)[:, k]
        g["kernelshap/phi0"] = np.atleast_1d(explainer.expected_value)[k]
        # lime_tabular (quartile discretizer, its defaults) of row 7 with every row as training data,
        # 300 samples: the samples it drew (values: numbers and category codes) and its fit
        from lime.lime_tabular import LimeTabularExplainer
        cats_idx = [j for j, c in enumerate(s["features"]) if c["type"] == "categorical"]
        lime_x = LimeTabularExplainer(X, mode="classification" if s["task"] == "classify" else "regression",
                                      categorical_features=cats_idx, random_state=0)
        drawn = []
        predict = numeric_predictor(model, s["task"] == "classify")

        def recorded(a):
            drawn.append(a.copy())
            return predict(a)
        exp = lime_x.explain_instance(X[7], recorded, labels=(k,), num_features=len(model.features), num_samples=300)
        label = k if s["task"] == "classify" else 1  # (lime keeps a regression's weights under 1, negated under 0)
        phi = np.zeros(len(model.features))
        for j, wgt in exp.local_exp[label]:
            phi[j] = wgt
        g["lime/samples"] = drawn[0]
        g["lime/phi"] = phi
        g["lime/intercept"] = np.atleast_1d(exp.intercept[label])[0]
        g["lime/score"] = exp.score if np.isscalar(exp.score) else exp.score[label]
        g["lime/local_pred"] = np.atleast_1d(exp.local_pred)[0]


if __name__ == "__main__":
    main()
