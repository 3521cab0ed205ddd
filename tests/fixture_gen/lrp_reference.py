#!/usr/bin/python3
"""LRP and DeepLIFT references from the peers themselves on full-size torchvision models (random weights, calibrated
as tests/fixture_gen/torch_reference.py does), in float64: Zennit's composites with its canonizers, and
Captum's LRP with one rule on every conv and dense layer (VGG16 only: Captum refuses torchvision's
ResNet, whose blocks call one ReLU module three times).

    python3 tests/fixture_gen/lrp_reference.py --out DIR [--archs vgg16,resnet50]

Needs torch, torchvision, h5py, zennit and captum (PyPI). Writes per architecture DIR/<arch>_weights.h5
(ours), DIR/<arch>_ref.h5 (`input`) and DIR/<arch>_lrp.h5: one dataset per method, the relevance of
each input element for class TARGET, starting from the logit's value (Zennit's attr_output is the
one-hot row times the logits, Captum's convention):
  zennit/epsilon_plus, zennit/epsilon_plus_flat, zennit/epsilon_gamma_box (bounds -1 and 1, the input's
  range), zennit/epsilon_alpha2_beta1, and for VGG16 captum/epsilon, captum/gamma, captum/alpha1beta0;
and the contributions of Captum's DeepLift against the first of three random baselines (`baselines`
in the _ref file) and its DeepLiftShap over all three: captum/deeplift, captum/deeplift_shap.

torchvision's VGG16 averages its 7x7 map to 7x7 (an identity at 224x224) before the classifier; Keras'
VGG16, our layout, has no such layer, and both peers would give it a rule (x / stab(x), 1e-6 or 1e-9 off
the identity), so it is replaced by an identity here: Dropout(0), which both pass relevance through
(Captum refuses nn.Identity, a module without a rule).
"""
import argparse
import copy
import os
import sys
import types

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


class Copy(torch.nn.Module):
    """x, as a new tensor."""

    def forward(self, x):
        return x.clone()


def separate_tensors(m):
    """Captum's DeepLift takes each module's output gradient with a hook on its output tensor, and hands
    its own gradient back with a hook on its input tensor. Where a ReLU's output is a MaxPool's input
    (every VGG block, ResNet's stem) both hooks sit on one tensor and the ReLU's runs first: it takes
    the gradient before the max-pool rule has replaced it, and the contributions no longer sum to
    f(x) - f(x') (a known Captum failure, its issue #1104). A copy between the two gives each hook a
    tensor of its own; the function is the same."""
    for parent in list(m.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.MaxPool2d):
                setattr(parent, name, torch.nn.Sequential(Copy(), child))


def separate_relus(m):
    """torchvision's Bottleneck calls one ReLU module three times, which Captum's DeepLift refuses (its
    hooks keep one input per module): each call gets a module of its own, the same function."""
    from torchvision.models.resnet import Bottleneck

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        return self.relu3(self.bn3(self.conv3(out)) + identity)
    for mod in m.modules():
        if isinstance(mod, Bottleneck):
            mod.relu1, mod.relu2, mod.relu3 = torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.ReLU()
            mod.forward = types.MethodType(forward, mod)


def summing_unpool(v, indices, kernel_size, stride, padding, output_size):
    """The transpose of max pooling: each window's value added at its argmax."""
    out = torch.zeros(output_size, dtype=v.dtype).flatten(2)
    out.scatter_add_(2, indices.flatten(2), v.flatten(2))
    return out.view(output_size)


def deeplift_references(m, arch, x, baselines):
    """Captum's DeepLift (Rescale) and DeepLiftShap. Its max-pool rule hands the output differences
    back with max_unpool2d, which writes (not adds) each window's value at its argmax: where
    overlapping windows share an argmax (ResNet50's 3x3/2 stem pooling) all but one are lost, and
    the contributions no longer sum to f(x) - f(x'). The reference uses the rule with a summing
    unpool, the transpose of max pooling; the printout shows how far Captum's own is from it."""
    import captum.attr._core.deep_lift as dl
    from captum.attr import DeepLift, DeepLiftShap
    m = copy.deepcopy(m)
    separate_relus(m)
    separate_tensors(m)
    out, unfixed = {}, {}
    captum_rule = dl.SUPPORTED_NON_LINEAR[torch.nn.MaxPool2d]
    for fixed in (False, True):
        if fixed:
            dl.SUPPORTED_NON_LINEAR[torch.nn.MaxPool2d] = (
                lambda module, inputs, outputs, grad_input, grad_output, eps=1e-10: dl.maxpool(
                    module, torch.nn.functional.max_pool2d, summing_unpool, inputs, outputs, grad_input,
                    grad_output, eps=eps))
        for name, method, base in (("deeplift", DeepLift, baselines[:1]), ("deeplift_shap", DeepLiftShap, baselines)):
            rel, delta = method(m).attribute(x.clone(), base.clone(), target=TARGET, return_convergence_delta=True)
            if fixed:
                out["captum/" + name] = rel
                diff = float((rel - unfixed[name]).abs().max() / rel.abs().max())
                print(f"{arch}: captum {name}: sum {float(rel.sum()):.6g}, delta {float(delta.abs().max()):.3g};"
                      f" with Captum's max_unpool2d {diff:.3g} of max off", flush=True)
            else:
                unfixed[name] = rel
    dl.SUPPORTED_NON_LINEAR[torch.nn.MaxPool2d] = captum_rule
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--archs", default="vgg16,resnet50")
    ap.add_argument("--size", type=int, default=224, help="input side (VGG16's classifier needs 224)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    for arch in a.archs.split(","):
        m = getattr(torchvision.models, arch)().double().eval()
        side = 224 if arch.startswith("vgg") else a.size
        x = torch.rand(1, 3, side, side, dtype=torch.float64) * 2 - 1
        calibrate(m, x)
        convert(arch, m.state_dict(), os.path.join(a.out, f"{arch}_weights.h5"))
        for mod in m.modules():  # the peers' hooks need out-of-place ReLUs
            if isinstance(mod, torch.nn.ReLU):
                mod.inplace = False
        for p in m.parameters():
            p.requires_grad_(False)
        if arch.startswith("vgg"):
            m.avgpool = torch.nn.Dropout(0.0)  # an identity both peers pass relevance through
        baselines = (torch.rand(3, 3, side, side, dtype=torch.float64) * 2 - 1) * 0.5
        refs = deeplift_references(m, arch, x, baselines)  # before Zennit's canonizers touch the model
        refs.update(zennit_references(m, arch, x))
        if arch.startswith("vgg"):
            refs.update(captum_references(m, arch, x))
        with h5py.File(os.path.join(a.out, f"{arch}_ref.h5"), "w") as f:
            f["input"] = x.numpy()
            f["baselines"] = baselines.numpy()
            f.attrs["target"] = TARGET
        with h5py.File(os.path.join(a.out, f"{arch}_lrp.h5"), "w") as f:
            for k, v in refs.items():
                f[k] = v.detach().numpy()
            f.attrs["target"] = TARGET


if __name__ == "__main__":
    main()
