#!/usr/bin/python3
"""Reference values from PyTorch itself (Debian python3-torch, python3-torchvision) for the torchvision
path: random-weight torchvision models at full size, calibrated as tests/fixture_gen/keras_reference.py does (each
conv/linear rescaled to unit-variance outputs on the input, BN statistics near the real ones), saved
as a float64 state dict, converted with tools/convert_torchvision.py, and run in float64:
OUT/<arch>_weights.h5 (our format) and OUT/<arch>_ref.h5 with `input`, `logits`, `grad`, attr `target`.

With --captum ARCHS (Captum on PyPI: pip install --break-system-packages --no-deps captum==0.7.0, with
Debian's python3-matplotlib), OUT/<arch>_captum.h5 adds Captum's attributions on the same model and
input, for the target class: gradcam (LayerGradCam at the last conv block, relu_attributions),
guided_backprop, deconvnet (Captum's Deconvolution), guided_gradcam (bilinear), inputxgradient,
occlusion (windows 3x112x112, stride 56, baseline 0) and ig (IntegratedGradients, gausslegendre, 4 steps, from `baseline`), attr `layer`.

With --onnx ARCHS, those of the models also go through torch.onnx.export (opset 13, constant folding
on, as users export) to OUT/<arch>.onnx; architectures outside gradtrace's zoo (mobilenet_v3_large,
efficientnet_b0, densenet121) are written as ONNX and references only.

    /usr/bin/python3 tests/fixture_gen/torch_reference.py --out DIR [--archs vgg16,resnet50] [--captum vgg16,resnet50]
                     [--onnx resnet50,densenet121]
"""
import argparse
import os
import sys

import h5py
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))  # convert_torchvision
from convert_torchvision import ARCHS, INPUT, convert  # noqa: E402

TARGET = 281
# The Grad-CAM layer in torchvision's modules and its gradtrace name (the model's default layer).
CAM_LAYERS = {"vgg16": ("features.29", "block5_conv3"), "resnet50": ("layer4", "conv5_block3_out"),
              "inception_v3": ("Mixed_7c", "mixed10"), "mobilenet_v2": ("features.18", "out_relu")}


def captum_reference(m, arch, x, path):
    from captum.attr import (Deconvolution, GuidedBackprop, GuidedGradCam, InputXGradient, IntegratedGradients, LayerGradCam,
                             Occlusion)
    for mod in m.modules():  # Captum's hooks need out-of-place ReLUs
        if isinstance(mod, torch.nn.ReLU):
            mod.inplace = False
    for p in m.parameters():
        p.requires_grad_(False)
    module, name = CAM_LAYERS[arch]
    layer = m.get_submodule(module)
    base = torch.rand_like(x) * 0.5 - 0.25
    out = {"baseline": base,
           "gradcam": LayerGradCam(m, layer).attribute(x, target=TARGET, relu_attributions=True)[0, 0],
           "guided_backprop": GuidedBackprop(m).attribute(x, target=TARGET),
           "deconvnet": Deconvolution(m).attribute(x, target=TARGET),
           "guided_gradcam": GuidedGradCam(m, layer).attribute(x, target=TARGET, interpolate_mode="bilinear"),
           "inputxgradient": InputXGradient(m).attribute(x, target=TARGET),
           "occlusion": Occlusion(m).attribute(x, target=TARGET, sliding_window_shapes=(3, 112, 112),
                                               strides=(3, 56, 56), baselines=0.0),
           "ig": IntegratedGradients(m).attribute(x, baselines=base, target=TARGET, n_steps=4,
                                                  method="gausslegendre", internal_batch_size=4)}
    with h5py.File(path, "w") as f:
        for k, v in out.items():
            f[k] = v.detach().numpy()
        f.attrs["target"], f.attrs["layer"] = TARGET, name


def calibrate(m, x):
    """One forward pass whose hooks calibrate each module as the signal reaches it, and return the
    output the calibrated module would have produced, so that later modules see calibrated inputs."""
    gen = torch.Generator().manual_seed(1)
    u = lambda shape, lo, hi: torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo  # noqa: E731

    def hook(mod, inputs, out):
        x = inputs[0]
        if isinstance(mod, torch.nn.BatchNorm2d):
            # (the floor matters on 1x1 maps, where a single value has no variance)
            mu, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False).clamp(min=1e-2)
            c = mu.shape
            mod.weight.copy_(u(c, 0.5, 1.5)), mod.bias.copy_(u(c, -0.2, 0.2))
            mod.running_mean.copy_(mu + u(c, -0.1, 0.1) * var.sqrt()), mod.running_var.copy_(var * u(c, 0.8, 1.25))
            return torch.nn.functional.batch_norm(x, mod.running_mean, mod.running_var, mod.weight, mod.bias,
                                                  False, 0.0, mod.eps)
        shape = (1, -1, 1, 1) if out.dim() == 4 else (1, -1)
        s = max(float(out.std()), 1e-2)
        mod.weight /= s
        if mod.bias is None:
            return out / s
        old = mod.bias.clone()
        mod.bias.copy_(u(mod.bias.shape, -0.1, 0.1))
        return (out - old.view(shape)) / s + mod.bias.view(shape)

    kinds = (torch.nn.Conv2d, torch.nn.Linear, torch.nn.BatchNorm2d)
    handles = [mod.register_forward_hook(hook) for mod in m.modules() if isinstance(mod, kinds)]
    with torch.no_grad():
        m(x)
    for h in handles:
        h.remove()


class ExactHardsigmoid(torch.nn.Module):
    """PyTorch's hardsigmoid backward multiplies by float(1/6) even in float64 (3e-8 relative); the same
    function, (x + 3).clamp(0, 6) / 6, as its forward computes it, with autograd's exact derivative."""

    def forward(self, x):
        return torch.clamp(x + 3, 0, 6) / 6


def exact_hardsigmoid(m):
    for name, child in m.named_children():
        if isinstance(child, torch.nn.Hardsigmoid):
            setattr(m, name, ExactHardsigmoid())
        else:
            exact_hardsigmoid(child)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--archs", default="vgg16,resnet50,inception_v3,mobilenet_v2")
    ap.add_argument("--captum", default="", help="comma-separated archs to also write Captum's attributions for")
    ap.add_argument("--onnx", default="", help="comma-separated archs to also export to OUT/<arch>.onnx")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    for arch in a.archs.split(","):
        kw = {"aux_logits": False, "init_weights": False} if arch == "inception_v3" else {}
        m = getattr(torchvision.models, arch)(**kw).double().eval()
        size = INPUT.get(arch, 224)
        x = torch.rand(1, 3, size, size, dtype=torch.float64) * 2 - 1
        calibrate(m, x)
        if arch in ARCHS:  # the zoo's architectures
            convert(arch, m.state_dict(), os.path.join(a.out, f"{arch}_weights.h5"))
        if arch in a.onnx.split(","):
            torch.onnx.export(m, x, os.path.join(a.out, f"{arch}.onnx"), opset_version=13, input_names=["input"],
                              output_names=["logits"])
        exact_hardsigmoid(m)  # (MobileNetV3's squeeze-excitation) after the export, which keeps HardSigmoid
        xi = x.clone().requires_grad_(True)
        y = m(xi)
        y[0, TARGET].backward()
        with h5py.File(os.path.join(a.out, f"{arch}_ref.h5"), "w") as f:
            f["input"], f["logits"], f["grad"] = x.numpy(), y.detach().numpy(), xi.grad.numpy()
            f.attrs["target"] = TARGET
        print(f"{arch}: {size}x{size}, logits[0:3] {y.detach().numpy()[0, :3]}", flush=True)
        if arch in a.captum.split(","):
            captum_reference(m, arch, x, os.path.join(a.out, f"{arch}_captum.h5"))
            print(f"{arch}: captum attributions written", flush=True)


if __name__ == "__main__":
    main()
