#!/work/venv-quantus/bin/python
"""Reference scores from Quantus 0.6.0 itself for `gradtrace evaluate`, on the small CNN of
make_onnx_fixtures.py (tests/fixtures/onnx_small_cnn.onnx): tests/fixtures/quantus_ref.h5. Also writes
tests/fixtures/onnx_gray_cnn.onnx, a 1-channel variant of that CNN, and the group `gray` of scores on it
(on one channel Quantus's pixel flipping, which perturbs single channel entries, is gradtrace's, which
perturbs whole pixels).

Needs a venv with Quantus beside Debian's python3 packages (torch 1.13, numpy 1.24, h5py):

    /usr/bin/python3 -m venv --system-site-packages /work/venv-quantus
    /work/venv-quantus/bin/pip install --no-deps quantus==0.6.0
    /work/venv-quantus/bin/pip install -c constraints.txt pandas opencv-python scikit-image scikit-learn \
        tqdm cachetools "scipy==1.14.1"          # constraints.txt: numpy==1.24.2, matplotlib==3.6.3
    /work/venv-quantus/bin/python tests/fixture_gen/quantus_reference.py [--out PATH] [--seed 15] \
        [--gray-seed 21] [--gray-onnx PATH]

(scipy >= 1.14 only for FaithfulnessCorrelation, whose scipy.stats.pearsonr(..., axis=1) older scipys
lack; nothing written here depends on scipy.) The model is re-created from make_onnx_fixtures's seeds
and checked against onnx_small_cnn_ref.h5's logits. Quantus runs it on the CPU in float32
(PyTorchModel feeds torch.Tensor(x), always float32); the float64 runs below set
torch.set_default_tensor_type(torch.DoubleTensor), which makes that torch.Tensor(x) float64, and use
model.double().

Layout of quantus_ref.h5 (N = 8 items):
  x  [N,3,32,32] float32   inputs, torch.rand(generator seeded --seed) * 4 - 2 (raw model input, no
                           preprocessing; on [0,1) this random-weight CNN says class 0 for ~98% of inputs)
  y  [N] int64             targets: the model's argmax class for each x (float32 and float64 agree)
  a  [N,32,32] float32     attribution maps, standard normal (numpy default_rng(seed)), signed, no ties;
                           given to Quantus as a_batch (N,1,32,32)
  s  [N,32,32] uint8       masks: one axis-aligned rectangle per item (12..20 x 12..20 pixels); s_batch (N,1,32,32)
  logits [N,10] float64    the model's float32 logits on x (widened)
  <metric>/score           float64, [N] for a scalar (bools as 0/1) or [N,L] for a curve: ONE Quantus call on
                           all N items (batch_size 64), as Quantus is normally used. normalise_by_max then
                           divides by max|a| over the whole a_batch of that call, not per item.
  <metric>/score_per_item  the same metric called N times, on one item each (so normalise is per item, as a
                           per-item evaluator does it); written only where it differs from score by more than
                           1e-6 (attr per_item_max_abs_diff: the difference, always; below 1e-6 it is float32 noise
                           of the batch size in torch's convolutions, or of the normalisation's rounding)
  PixelFlipping{,_abs}/score_model_f64, RegionPerturbation{,_p5}/score_model_f64
                           the same call as score, model and x in float64 (see above); PixelFlipping_raw's
                           curve is PixelFlipping's (normalise only rescales a; abs is off in both)
  PixelFlipping/order [N,3*32*32] int16
                           Quantus's np.argsort(-a_batch, axis=1) for PixelFlipping/score: a broadcast to
                           (N,3,32,32) and flattened, numpy 1.24's introsort (unstable): the order of each
                           pixel's three tied channel entries is the quicksort's, not index order
  Completeness/attr_sum, Completeness/output_diff
                           the two sides Quantus compares with == (sum of the preprocessed map; logit of y on x
                           minus logit of y on x with its first H*W flattened values, i.e. channel 0 only, set
                           to min(x))
Group attributes: `quantus_class`, every constructor argument as get_params holds it (bools as 0/1, callables by
name, the perturb_func's bound keywords as perturb_baseline etc.), the __call__ arguments (softmax, channel_first,
device, batch_size), `changed_from_default` (what was changed and why) and `output` (what a score is).

gray/  the grayscale model: SmallCNN(in_channels=1) (Conv2d(1, 8, 3, padding=1, bias=False) as its first
       conv), torch.manual_seed(1) right before construction, randomize_bn with torch.Generator()
       .manual_seed(1), eval mode; exported by make_onnx_fixtures.export (opset 13, training PRESERVE, no
       constant folding, "input" [1,1,32,32] -> "logits") to tests/fixtures/onnx_gray_cnn.onnx (~48 KB).
       Group attributes: model, model_seed (1), seed (--gray-seed, 21), x, a.
  gray/x [N,1,32,32] float32   torch.rand(generator seeded --gray-seed) * 4 - 2 (seed 21: 4 classes)
  gray/y [N] int64             targets: the argmax (float32 and float64 models agree)
  gray/logits [N,10] float64   the float64 model (float32 weights widened) on x widened; attribute
                               max_abs_diff_float32_model
  a_batch is the top-level a as (N,1,32,32). Checked: no ties in any order Quantus forms from it (its
  float32 maps normalised over the batch or per item, plain and abs, and the patch sums of both
  RegionPerturbations), and each equals the stable argsort of the float64 values; every curve is also
  reproduced exactly by a direct per-pixel implementation (replay below).
  gray/PixelFlipping           features_in_step 1 (1024 points); score only, deflated (gzip 9 + shuffle, one
                               chunk): score_per_item and score_model_f64 (64 KB each, the latter ~50 KB
                               deflated) would take the file past 420 KB; their max |difference| from score
                               is kept as per_item_max_abs_diff and model_f64_max_abs_diff (attribute omitted)
  gray/PixelFlipping_s16       features_in_step 16 (64 points)
  gray/PixelFlipping_abs       features_in_step 16, abs True
  gray/RegionPerturbation      defaults (patch_size 8: 16 patches)
  gray/RegionPerturbation_p5   patch_size 5, regions_evaluation 20
  each with score, score_per_item (written where it differs from score by more than 1e-9: all four, by
  float32 batch-size noise ~2e-8), score_model_f64, and the attributes above plus per_item_max_abs_diff and
  model_f64_max_abs_diff.
"""
import argparse
import contextlib
import functools
import io
import os
import sys
import warnings

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures")
sys.path.insert(0, HERE)
from make_onnx_fixtures import SmallCNN, export, randomize_bn  # noqa: E402

warnings.filterwarnings("ignore")
import quantus  # noqa: E402
from quantus.functions.normalise_func import normalise_by_max  # noqa: E402

N, H, W = 8, 32, 32
CALL = dict(channel_first=True, device="cpu", batch_size=64)


def small_cnn():
    """make_onnx_fixtures.main()'s model, checked against onnx_small_cnn_ref.h5."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    m = SmallCNN().eval()
    randomize_bn(m, gen)
    with h5py.File(os.path.join(FIX, "onnx_small_cnn_ref.h5"), "r") as f:
        inp, ref = f["input"][()], f["logits"][()]
    with torch.no_grad():
        got = m(torch.from_numpy(inp).float()).double().numpy()
    err = np.abs(got - ref).max()
    assert err < 1e-5, f"not make_onnx_fixtures's SmallCNN: logits differ by {err}"
    return m


def seeded_inputs(m, channels, seed):
    """N inputs uniform in [-2, 2) from seed (on [0, 1) these random models answer one class), the model's
    float32 logits, its float64 twin's (the float32 weights widened) and the targets: the argmax, the same in
    both."""
    m64 = SmallCNN(in_channels=channels)
    m64.load_state_dict(m.state_dict())
    m64 = m64.double().eval()
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(N, channels, H, W, generator=g) * 4 - 2).numpy()
    with torch.no_grad():
        logits = m(torch.from_numpy(x)).numpy()
        logits64 = m64(torch.from_numpy(x).double()).numpy()
    y = logits.argmax(1).astype(np.int64)
    assert (logits64.argmax(1) == y).all()
    return x, logits, logits64, y, m64


GRAY_MODEL_SEED = 1


def gray_cnn():
    """The grayscale model: torch.manual_seed(1) right before construction, batch norms from randomize_bn
    with torch.Generator().manual_seed(1), eval mode."""
    torch.manual_seed(GRAY_MODEL_SEED)
    m = SmallCNN(in_channels=1).eval()
    randomize_bn(m, torch.Generator().manual_seed(GRAY_MODEL_SEED))
    return m


def as_attr(v):
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if v is None:
        return "None"
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return v
    if isinstance(v, functools.partial):
        return v.func.__name__
    if callable(v):
        return getattr(v, "__name__", repr(v))
    if isinstance(v, (list, tuple)):
        return str(list(v))
    return repr(v)


def params(metric):
    out = {"quantus_class": type(metric).__name__}
    for k, v in metric.get_params.items():
        if k in ("a_axes", "explain_func", "explain_func_kwargs", "aggregate_func", "_display_progressbar",
                 "normalise_func_kwargs"):
            continue
        out[k.lstrip("_")] = as_attr(v)
        if isinstance(v, functools.partial):  # the perturb_func's bound keywords (perturb_baseline, ...)
            for kk, vv in v.keywords.items():
                out[kk] = as_attr(vv)
    return out


def run(cls, init, x, y, a, s, call, model):
    """One Quantus call on copies (Sparseness and Complexity change a_batch in place when abs and normalise
    are off: expand_dims returns a view of the caller's array)."""
    np.random.seed(0)
    with contextlib.redirect_stdout(io.StringIO()):  # warn.warn_absolute_operation prints despite disable_warnings
        metric = cls(**init, return_aggregate=False, disable_warnings=True, display_progressbar=False)
        r = metric(model=model, x_batch=x.copy(), y_batch=y.copy(), a_batch=a[:, None].copy(),
                   s_batch=None if s is None else s[:, None].copy(), **call, **CALL)
    return np.array([np.asarray(v, dtype=np.float64) for v in r], dtype=np.float64), metric


def order_checks(a):
    """With one channel nothing is broadcast, so Quantus's perturbation orders are orders of distinct values:
    check that every order Quantus forms from the gray maps (its float32 normalised maps, over the whole
    batch or per item; plain or abs; RegionPerturbation's patch sums) has no ties and equals the stable
    argsort of the float64 values. Returns the smallest relative gap between neighbours in each order."""
    gaps = {}
    for use_abs in (False, True):
        v = np.abs(a) if use_abs else a
        v64 = v.astype(np.float64).reshape(N, -1)
        want = np.argsort(-v64, axis=1, kind="stable")
        for how, an in (("batch", normalise_by_max(a[:, None].copy())),
                        ("per_item", np.concatenate([normalise_by_max(a[i:i + 1, None].copy()) for i in range(N)]))):
            an = (np.abs(an) if use_abs else an).reshape(N, -1)  # Quantus: normalise, then abs
            for i in range(N):
                assert len(np.unique(an[i])) == an.shape[1], f"tie in the {'|a|' if use_abs else 'a'} of item {i}"
            assert np.array_equal(np.argsort(-an, axis=1), want)  # numpy's default (quicksort), as Quantus
        srt = -np.sort(-v64, axis=1)
        gaps["abs" if use_abs else "a"] = float((np.diff(-srt, axis=1) / np.abs(srt[:, :-1]).max()).min())
    for ps in (8, 5):
        t = 0 if H % ps == 0 else ps - H % ps
        ap = np.pad(a, ((0, 0), (t // 2, t - t // 2), (t // 2, t - t // 2)))  # a padded with 0, as Quantus
        nb = ap.shape[1] // ps
        blocks = ap.reshape(N, nb, ps, nb, ps).transpose(0, 1, 3, 2, 4).reshape(N, nb * nb, ps * ps)
        s64 = blocks.astype(np.float64).sum(-1)
        s32 = normalise_by_max(ap[:, None].copy())[:, 0].reshape(N, nb, ps, nb, ps).sum((2, 4)).reshape(N, -1)
        assert np.array_equal(np.argsort(-s32, axis=1), np.argsort(-s64, axis=1, kind="stable")), ps
        srt = -np.sort(-s64, axis=1)
        gaps[f"patch{ps}"] = float((np.diff(-srt, axis=1) / np.abs(srt).max(1, keepdims=True)).min())
    return gaps


def replay(m, x, y, a, name, init):
    """The gray curves again, by a direct numpy/torch implementation of pixel flipping / region perturbation
    on pixels, ordered by the float64 stable argsort of a (or |a|): the check that on one channel Quantus's
    definition is the per-pixel one."""
    def prob(xb):
        with torch.no_grad():
            return torch.softmax(m(torch.from_numpy(xb.reshape(x.shape))), -1).numpy()[np.arange(N), y]

    v = (np.abs(a) if init.get("abs") else a).astype(np.float64).reshape(N, -1)
    xmin = x.reshape(N, -1).min(1, keepdims=True)
    curve = []
    if name.startswith("PixelFlipping"):
        fis = init.get("features_in_step", 1)
        order, xp = np.argsort(-v, axis=1, kind="stable"), x.reshape(N, -1).copy()
        for k in range(H * W // fis):
            xp[np.arange(N)[:, None], order[:, k * fis:(k + 1) * fis]] = xmin
            curve.append(prob(xp))
    else:
        ps, nreg = init.get("patch_size", 8), init.get("regions_evaluation", 100)
        t = 0 if H % ps == 0 else ps - H % ps
        lo, nb = t // 2, (H + t) // ps
        sums = np.pad(v.reshape(N, H, W), ((0, 0), (lo, t - lo), (lo, t - lo))).reshape(N, nb, ps, nb, ps).sum((2, 4))
        order, p0, xp = np.argsort(-sums.reshape(N, -1), axis=1, kind="stable"), prob(x), x[:, 0].copy()
        for k in range(min(nreg, nb * nb)):
            for i in range(N):
                r, c = divmod(order[i, k], nb)
                xp[i, max(r * ps - lo, 0):r * ps - lo + ps, max(c * ps - lo, 0):c * ps - lo + ps] = xmin[i]
            curve.append(p0 - prob(xp))
    return np.stack(curve, 1)


def gray_reference(f, a, seed, onnx_path):
    """The `gray` group: a 1-channel SmallCNN, where Quantus's channel-entry perturbations are pixel ones."""
    m = gray_cnn()
    x, logits, logits64, y, m64 = seeded_inputs(m, 1, seed)
    assert len(np.unique(y)) >= 3, f"--gray-seed {seed}: only classes {np.unique(y)}"

    export(m, torch.from_numpy(x[:1]), onnx_path)
    onnx_bytes = os.path.getsize(onnx_path)
    assert onnx_bytes < 60 * 1024, onnx_bytes
    with torch.no_grad():
        assert np.array_equal(m(torch.from_numpy(x)).numpy(), logits)  # the export left the model as it was
    gaps = order_checks(a)

    pf_out = ("curve [N, 1024/features_in_step]: softmax probability of class y after each step; each step sets "
              "the next features_in_step pixels of argsort(-a) (1 channel: a pixel is one feature, no ties) "
              "to min(x)")
    rp_out = ("curve [N, min(regions_evaluation, patches)]: p(y|x) - p(y|x with the next patch set to min(x)), "
              "cumulative, patches ordered by argsort(-sum of a over the patch)")
    black = "perturb_baseline 'black' is already the default (min of the item's x)"
    specs = {
        "PixelFlipping": (quantus.PixelFlipping, {}, dict(softmax=True),
                          "none (features_in_step 1: curve of 1024 points); " + black, pf_out),
        "PixelFlipping_s16": (quantus.PixelFlipping, dict(features_in_step=16), dict(softmax=True),
                              "features_in_step 1 -> 16 (64 points)", pf_out),
        "PixelFlipping_abs": (quantus.PixelFlipping, dict(features_in_step=16, abs=True), dict(softmax=True),
                              "features_in_step 16; abs True (order by |a|)", pf_out),
        "RegionPerturbation": (quantus.RegionPerturbation, {}, dict(softmax=True),
                               "none (patch_size 8: 16 patches, regions_evaluation 100 -> all 16); " + black, rp_out),
        "RegionPerturbation_p5": (quantus.RegionPerturbation, dict(patch_size=5, regions_evaluation=20),
                                  dict(softmax=True),
                                  "patch_size 5 (32 -> padded to 35: 1 row/col before, 2 after, edge mode for x, "
                                  "0 for a; 49 patches), regions_evaluation 20", rp_out),
    }
    grp0 = f.create_group("gray")
    grp0["x"], grp0["y"], grp0["logits"] = x, y, logits64
    grp0["logits"].attrs["model"] = "float64 (the float32 weights widened), on x widened"
    grp0["logits"].attrs["max_abs_diff_float32_model"] = float(np.abs(logits64 - logits).max())
    grp0.attrs["model"] = ("tests/fixtures/onnx_gray_cnn.onnx: SmallCNN(in_channels=1) (Conv2d(1, 8, 3, padding=1, "
                           "bias=False) first), torch.manual_seed(1) before construction, randomize_bn with "
                           "torch.Generator().manual_seed(1), eval mode")
    grp0.attrs["model_seed"] = GRAY_MODEL_SEED
    grp0.attrs["seed"] = seed
    grp0.attrs["x"] = "torch.rand(N,1,32,32, generator seeded seed) * 4 - 2"
    grp0.attrs["a"] = "the top-level a [N,32,32], given as a_batch (N,1,32,32)"
    diffs = {}
    for name, (cls, init, call, changed, output) in specs.items():
        score, metric = run(cls, init, x, y, a, None, call, m)
        per_item = np.concatenate([run(cls, init, x[i:i + 1], y[i:i + 1], a[i:i + 1], None, call, m)[0]
                                   for i in range(N)])
        torch.set_default_tensor_type(torch.DoubleTensor)  # PyTorchModel's torch.Tensor(x) is float64 now
        try:
            s64, _ = run(cls, init, x.astype(np.float64), y, a, None, call, m64)
        finally:
            torch.set_default_tensor_type(torch.FloatTensor)
        err = np.abs(replay(m, x, y, a, name, init) - score).max()
        assert err < 1e-6, (name, err)
        grp = grp0.create_group(name)
        gap = float(np.abs(per_item - score).max())
        diffs[name] = float(np.abs(s64 - score).max())
        grp.attrs["per_item_max_abs_diff"] = gap
        grp.attrs["model_f64_max_abs_diff"] = diffs[name]
        if score.shape[1] == H * W:
            # 1024-point curves: 64 KB each in float64. score is stored deflated (its values are float32 ones,
            # half their bytes zeros); score_per_item and score_model_f64 (~50 KB deflated: full float64
            # mantissas) would take the file past 420 KB, so only their differences from score are kept
            grp.create_dataset("score", data=score, chunks=score.shape, compression="gzip", compression_opts=9,
                               shuffle=True)
            grp.attrs["omitted"] = ("score_per_item and score_model_f64 (size); their max |difference| from score: "
                                    "per_item_max_abs_diff, model_f64_max_abs_diff; the 64-point groups hold both")
        else:
            grp["score"] = score
            if gap > 1e-9:
                grp["score_per_item"] = per_item
            grp["score_model_f64"] = s64
        for k, v in params(metric).items():
            grp.attrs[k] = v
        for k, v in {**call, **CALL}.items():
            grp.attrs[k] = as_attr(v)
        grp.attrs["return_aggregate"] = 0
        grp.attrs["changed_from_default"] = changed
        grp.attrs["output"] = output
        with np.printoptions(precision=5, linewidth=200):
            print(f"gray/{name:22s} score {score.shape} per_item-score max {gap:.3g}"
                  f"{' (stored)' if gap > 1e-9 and 'score_per_item' in grp else ''} | f32-f64 max {diffs[name]:.3g} | replay {err:.3g} "
                  f"{score[:, :4]}")
    print("gray: y", y, "| smallest relative gap in the orders", {k: float(f"{v:.3g}") for k, v in gaps.items()})
    print("gray: float32 vs float64 model, max |diff| over the curves:", {k: float(f"{v:.3g}") for k, v in diffs.items()})
    print("wrote", os.path.abspath(onnx_path), onnx_bytes, "bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(FIX, "quantus_ref.h5"))
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--gray-seed", type=int, default=21, help="seed of the gray group's x")
    ap.add_argument("--gray-onnx", default=os.path.join(FIX, "onnx_gray_cnn.onnx"))
    args = ap.parse_args()

    m = small_cnn()
    x, logits, logits64, y, m64 = seeded_inputs(m, 3, args.seed)
    rng = np.random.default_rng(args.seed)
    a = rng.standard_normal((N, H, W)).astype(np.float32)
    assert len(np.unique(a)) == a.size and len(np.unique(np.abs(a))) == a.size
    s = np.zeros((N, H, W), np.uint8)
    for i in range(N):
        h, w = rng.integers(12, 21, 2)
        r0, c0 = rng.integers(0, H - h + 1), rng.integers(0, W - w + 1)
        s[i, r0:r0 + h, c0:c0 + w] = 1

    # name -> (class, constructor args, __call__ args, needs s, changed_from_default, output)
    black = "perturb_baseline 'black' is already the default (min of the item's x over all channels and pixels)"
    pf_out = ("curve [N, 3072/features_in_step]: softmax probability of class y after each step; each step sets "
              "the next features_in_step entries of a broadcast to (3,32,32), flattened, argsort(-a), to min(x)")
    rp_out = ("curve [N, min(regions_evaluation, patches)]: p(y|x) - p(y|x with the next patch set to min(x)), "
              "cumulative, patches ordered by argsort(-sum of a over patch x 3 channels)")
    suf_out = ("fraction of the other items whose map (|a| / max|a| over the batch, flattened) lies within "
               "threshold x the largest distance in the batch (cdist, normalise_by_max) that share the item's "
               "predicted class (argmax of the model); 0 when none is that close")
    specs = {
        "Sparseness": (quantus.Sparseness, {}, {}, False, "none", "Gini index of a+1e-7 (float32), per item"),
        "Sparseness_raw": (quantus.Sparseness, dict(abs=False, normalise=False), {}, False,
                           "abs False, normalise False (the raw signed map)", "Gini index of a+1e-7 (float32)"),
        "Complexity": (quantus.Complexity, {}, {}, False, "none", "entropy of |a|/sum|a| (float32, +1e-12 in the log)"),
        "Complexity_raw": (quantus.Complexity, dict(abs=False, normalise=False), {}, False,
                           "abs False, normalise False: NaN wherever some a/sum|a| + 1e-12 < 0 (log of a negative)",
                           "-(p * log(p + 1e-12)).sum(), p = a / sum|a| (float32)"),
        "EffectiveComplexity": (quantus.EffectiveComplexity, {}, {}, False, "none", "count of a > eps (1e-5)"),
        "EffectiveComplexity_eps": (quantus.EffectiveComplexity, dict(eps=0.1), {}, False,
                                    "eps 1e-5 -> 0.1 (with 1e-5 every pixel of these maps counts: 1024)",
                                    "count of a > eps"),
        "EffectiveComplexity_raw": (quantus.EffectiveComplexity, dict(abs=False, normalise=False), {}, False,
                                    "abs False, normalise False", "count of a > eps (1e-5)"),
        "PixelFlipping": (quantus.PixelFlipping, dict(features_in_step=32), dict(softmax=True), False,
                          "features_in_step 1 -> 32 (curve of 96 points instead of 3072; must divide 32*32); "
                          + black, pf_out),
        "PixelFlipping_raw": (quantus.PixelFlipping, dict(features_in_step=32, abs=False, normalise=False),
                              dict(softmax=True), False, "features_in_step 32; abs False, normalise False", pf_out),
        "PixelFlipping_abs": (quantus.PixelFlipping, dict(features_in_step=32, abs=True), dict(softmax=True), False,
                              "features_in_step 32; abs True (order by |a|)", pf_out),
        "RegionPerturbation": (quantus.RegionPerturbation, {}, dict(softmax=True), False,
                               "none (patch_size 8: 16 patches, regions_evaluation 100 -> all 16); " + black, rp_out),
        "RegionPerturbation_p5": (quantus.RegionPerturbation, dict(patch_size=5, regions_evaluation=20),
                                  dict(softmax=True), False,
                                  "patch_size 5 (32 -> padded to 35: 1 row/col before, 2 after, edge mode for x, "
                                  "0 for a; 49 patches), regions_evaluation 20", rp_out),
        "Completeness": (quantus.Completeness, {}, dict(softmax=False), False, "none; " + black,
                         "bool (0/1): sum(a) == logit_y(x) - logit_y(x_baseline), exact float32 equality"),
        "PointingGame": (quantus.PointingGame, {}, {}, True, "none", "bool (0/1): some pixel with a == max(a) is in s"),
        "RelevanceMassAccuracy": (quantus.RelevanceMassAccuracy, {}, {}, True, "none", "sum(a*s) / sum(a)"),
        "RelevanceRankAccuracy": (quantus.RelevanceRankAccuracy, {}, {}, True, "none",
                                  "|top-|s| pixels by a (argsort(-a))  in s| / |s|"),
        "TopKIntersection": (quantus.TopKIntersection, {}, {}, True,
                             "none (k 1000 < 32*32 passes Quantus's check)", "|top-k pixels by a in s| / k"),
        "TopKIntersection_k100": (quantus.TopKIntersection, dict(k=100), {}, True, "k 1000 -> 100",
                                  "|top-k pixels by a in s| / k"),
        "AUC": (quantus.AUC, {}, {}, True, "none", "sklearn roc_auc of (y_true=s, y_score=a) over the 1024 pixels"),
        "Sufficiency": (quantus.Sufficiency, {}, dict(softmax=True), False,
                        "none (with these i.i.d. maps no pair is within 0.6 of the largest distance: all 0)", suf_out),
        "Sufficiency_t96": (quantus.Sufficiency, dict(threshold=0.96), dict(softmax=True), False,
                            "threshold 0.6 -> 0.96 (normalised distances here are 0.91..1)", suf_out),
        "Sufficiency_t98": (quantus.Sufficiency, dict(threshold=0.98), dict(softmax=True), False,
                            "threshold 0.6 -> 0.98 (distance_func euclidean fails in Quantus 0.6: cdist(V=None))",
                            suf_out),
    }
    set_metrics = ("Sufficiency", "Sufficiency_t96", "Sufficiency_t98")  # no per-item call: a set's metric

    diffs = {}
    with h5py.File(args.out, "w") as f:
        f["x"], f["y"], f["a"], f["s"] = x, y, a, s
        f["logits"] = logits.astype(np.float64)
        f.attrs["quantus_version"] = str(quantus.__version__)
        f.attrs["numpy_version"] = np.__version__
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["seed"] = args.seed
        f.attrs["model"] = "tests/fixtures/onnx_small_cnn.onnx (make_onnx_fixtures.py SmallCNN)"
        for name, (cls, init, call, needs_s, changed, output) in specs.items():
            score, metric = run(cls, init, x, y, a, s if needs_s else None, call, m)
            per_item = score if name in set_metrics else np.concatenate(
                [run(cls, init, x[i:i + 1], y[i:i + 1], a[i:i + 1], s[i:i + 1] if needs_s else None, call, m)[0]
                 for i in range(N)])
            grp = f.create_group(name)
            grp["score"] = score
            same = np.array_equal(score, per_item, equal_nan=True)
            gap = 0.0 if same else float(np.nanmax(np.abs(per_item - score)))
            grp.attrs["per_item_max_abs_diff"] = gap
            if gap > 1e-6:  # a real per-item effect, not float32 noise of the batch size
                grp["score_per_item"] = per_item
            for k, v in params(metric).items():
                grp.attrs[k] = v
            for k, v in {**call, **CALL}.items():
                grp.attrs[k] = as_attr(v)
            if "softmax" not in call:
                grp.attrs["softmax"] = "unused (no model output)"
            grp.attrs["return_aggregate"] = 0
            grp.attrs["changed_from_default"] = changed
            grp.attrs["output"] = output
            line = f"{name:24s} score {score.shape} "
            line += f"per_item-score max {gap:.3g}{' (stored)' if gap > 1e-6 else ''} "
            if name in ("PixelFlipping", "PixelFlipping_abs", "RegionPerturbation", "RegionPerturbation_p5"):
                torch.set_default_tensor_type(torch.DoubleTensor)  # PyTorchModel's torch.Tensor(x) is float64 now
                try:
                    s64, _ = run(cls, init, x.astype(np.float64), y, a, None, call, m64)
                finally:
                    torch.set_default_tensor_type(torch.FloatTensor)
                grp["score_model_f64"] = s64
                diffs[name] = np.abs(s64 - score).max()
                line += f"| f32-f64 max {diffs[name]:.3g} "
            with np.printoptions(precision=5, linewidth=200):
                line += str(score[:, :4] if score.ndim == 2 else score)
            print(line)

        # Quantus's PixelFlipping order, and the curve again from it (a check of what the order means)
        an = normalise_by_max(a[:, None].copy())  # float32, over the whole batch
        order = np.argsort(-np.broadcast_to(an, x.shape).reshape(N, -1), axis=1)
        f["PixelFlipping/order"] = order.astype(np.int16)
        xp, curve = x.reshape(N, -1).copy(), []
        for step in range(order.shape[1] // 32):
            xp[np.arange(N)[:, None], order[:, step * 32:(step + 1) * 32]] = xp.min(axis=1, keepdims=True)
            with torch.no_grad():
                curve.append(torch.softmax(m(torch.from_numpy(xp.reshape(x.shape))), -1).numpy()[np.arange(N), y])
        err = np.abs(np.stack(curve, 1) - f["PixelFlipping/score"][()]).max()
        assert err < 1e-6, err
        print(f"PixelFlipping/order reproduces the curve (max diff {err:.3g})")

        # Completeness's two sides
        an = an.reshape(N, -1)
        xb = x.reshape(N, -1).copy()
        xb[:, : H * W] = xb.min(axis=1, keepdims=True)
        with torch.no_grad():
            lb = m(torch.from_numpy(xb.reshape(x.shape))).numpy()
        attr_sum, out_diff = an.sum(-1), logits[np.arange(N), y] - lb[np.arange(N), y]
        assert np.array_equal((attr_sum == out_diff).astype(np.float64), f["Completeness/score"][()])
        seen = []  # Quantus's own right-hand side, through output_func
        quantus.Completeness(output_func=lambda d: seen.append(d.copy()) or d, disable_warnings=True)(
            model=m, x_batch=x.copy(), y_batch=y, a_batch=a[:, None].copy(), s_batch=None, softmax=False, **CALL)
        assert np.array_equal(seen[0], out_diff), (seen[0], out_diff)
        f["Completeness/attr_sum"] = attr_sum.astype(np.float64)
        f["Completeness/output_diff"] = out_diff.astype(np.float64)

        gray_reference(f, a, args.gray_seed, args.gray_onnx)
    print("y", y, "| mask pixels", s.reshape(N, -1).sum(1))
    print("float32 vs float64 model, max |diff| over the curves:", {k: float(f"{v:.3g}") for k, v in diffs.items()})
    size = os.path.getsize(args.out)
    print("wrote", os.path.abspath(args.out), size, "bytes")
    assert size < 420 * 1000, f"{args.out}: {size} bytes, over the 420 KB budget"


if __name__ == "__main__":
    main()
