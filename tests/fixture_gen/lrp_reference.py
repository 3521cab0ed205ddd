#!/usr/bin/python3
"""LRP references from the peers themselves on full-size torchvision models (random weights, calibrated
as tests/fixture_gen/torch_reference.py does), in float64: Zennit's composites with its canonizers, and
Captum's LRP with one rule on every conv and dense layer (VGG16 only: Captum refuses torchvision's
ResNet, whose blocks call one ReLU module three times).

    python3 tests/fixture_gen/lrp_reference.py --out DIR [--archs vgg16,resnet50]

Needs torch, torchvision, h5py, zennit and captum (PyPI). Writes per architecture DIR/<arch>_weights.h5
(ours), DIR/<arch>_ref.h5 (`input`) and DIR/<arch>_lrp.h5: one dataset per method, the relevance of
each input element for class TARGET, starting from the logit's value (Zennit's attr_output is the
one-hot row times the logits, Captum's convention):
  zennit/epsilon_plus, zennit/epsilon_plus_flat, zennit/epsilon_gamma_box (bounds -1 and 1, the input's
  range), zennit/epsilon_alpha2_beta1, and for VGG16 captum/epsilon, captum/gamma, captum/alpha1beta0.

torchvision's VGG16 averages its 7x7 map to 7x7 (an identity at 224x224) before the classifier; Keras'
VGG16, our layout, has no such layer, and both peers would give it a rule (x / stab(x), 1e-6 or 1e-9 off
the identity), so it is replaced by an identity here: Dropout(0), which both pass relevance through
(Captum refuses nn.Identity, a module without a rule).
"""
import argparse
import os
import sys

import h5py
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from convert_torchvision import convert  # noqa: E402
from torch_reference import TARGET, calibrate  # noqa: E402


def zennit_references(m, arch, x):
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonAlpha2Beta1, EpsilonGammaBox, EpsilonPlus, EpsilonPlusFlat
    from zennit.torchvision import ResNetCanonizer, VGGCanonizer
    # Zennit's canonizer merges each batch norm into its conv and leaves the batch norm as the identity,
    # but with its eps: y = x / sqrt(1 + eps), a factor 1 - 5e-6 per batch norm, which moves ResNet50's
    # logit by 7e-4 relative here. The canonizers are applied once, each eps is then set to 0 (the
    # merge has used it), and the composites run on that exact canonical model.
    canonizer = VGGCanonizer() if arch.startswith("vgg") else ResNetCanonizer()
    handles = canonizer.apply(m)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.eps = 0.0
    low, high = -torch.ones_like(x), torch.ones_like(x)
    composites = {"epsilon_plus": EpsilonPlus(), "epsilon_plus_flat": EpsilonPlusFlat(),
                  "epsilon_gamma_box": EpsilonGammaBox(low=low, high=high),
                  "epsilon_alpha2_beta1": EpsilonAlpha2Beta1()}
    out = {}
    onehot = torch.zeros(1, 1000, dtype=x.dtype)
    onehot[0, TARGET] = 1
    for name, composite in composites.items():
        with Gradient(model=m, composite=composite) as attributor:
            _, rel = attributor(x.clone(), lambda y: y * onehot)
        out["zennit/" + name] = rel
        print(f"{arch}: zennit {name}: sum {float(rel.sum()):.6g}", flush=True)
    for h in handles:
        h.remove()
    return out


def captum_references(m, arch, x):
    from captum.attr import LRP
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule, GammaRule
    out = {}
    for name, rule in {"epsilon": EpsilonRule, "gamma": GammaRule, "alpha1beta0": Alpha1_Beta0_Rule}.items():
        for mod in m.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                mod.rule = rule()
            elif hasattr(mod, "rule"):
                del mod.rule  # the other layers: Captum's defaults (epsilon)
        rel = LRP(m).attribute(x.clone(), target=TARGET)
        out["captum/" + name] = rel
        print(f"{arch}: captum {name}: sum {float(rel.sum()):.6g}", flush=True)
    for mod in m.modules():
        if hasattr(mod, "rule"):
            del mod.rule
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--archs", default="vgg16,resnet50")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    for arch in a.archs.split(","):
        m = getattr(torchvision.models, arch)().double().eval()
        x = torch.rand(1, 3, 224, 224, dtype=torch.float64) * 2 - 1
        calibrate(m, x)
        convert(arch, m.state_dict(), os.path.join(a.out, f"{arch}_weights.h5"))
        for mod in m.modules():  # the peers' hooks need out-of-place ReLUs
            if isinstance(mod, torch.nn.ReLU):
                mod.inplace = False
        for p in m.parameters():
            p.requires_grad_(False)
        if arch.startswith("vgg"):
            m.avgpool = torch.nn.Dropout(0.0)  # an identity both peers pass relevance through
        refs = zennit_references(m, arch, x)
        if arch.startswith("vgg"):
            refs.update(captum_references(m, arch, x))
        with h5py.File(os.path.join(a.out, f"{arch}_ref.h5"), "w") as f:
            f["input"] = x.numpy()
            f.attrs["target"] = TARGET
        with h5py.File(os.path.join(a.out, f"{arch}_lrp.h5"), "w") as f:
            for k, v in refs.items():
                f[k] = v.detach().numpy()
            f.attrs["target"] = TARGET


if __name__ == "__main__":
    main()
