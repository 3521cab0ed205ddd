#!/usr/bin/env python3
"""Attribution fixtures from Captum (the peer), on small torchvision-layout networks, in float64.

    pip install torch captum h5py && python3 tests/fixture_gen/make_captum_fixtures.py

Networks (weights in gradtrace's format, converted by tools/convert_torchvision.py):
  tests/fixtures/torch_vgg16_narrow.h5      torchvision's VGG16 layout (features / classifier
                                            Sequentials, ReLU modules) with widths / 16, 64x64 input
  tests/fixtures/torch_resnet50_narrow.h5   already made by tests/fixture_gen/make_model_fixtures.py; read back here
Writes tests/fixtures/captum_<arch>.h5 (float32) with the input [1,3,64,64], the target (attribute
`target`: the top-1 class, whose Grad-CAM is not all zero) and:
  saliency            Saliency(abs=False): d y_t / d x
  inputxgradient      InputXGradient
  gradcam             LayerGradCam(layer, relu_attributions=True): the cam at the layer's resolution
  guided_backprop     GuidedBackprop
  guided_gradcam      GuidedGradCam(layer, interpolate_mode="bilinear")
  occlusion           Occlusion(window (3,8,8), strides (3,4,4), baseline 0)
  ig_<method>_<n>     IntegratedGradients(method, n_steps=n) from `baseline`: every method with
                      n = 4 and 17 on VGG16; gausslegendre and riemann_trapezoid with n = 17 on ResNet50
The Grad-CAM layer is VGG16's last conv ReLU (block5_conv3) and ResNet50's layer4 (conv5_block3_out).

Also tests/fixtures/captum_shapley.h5: on the ResNet50 network and input above (VGG16's logits hardly
move between its input and a zero image), Captum's ShapleyValues (exact: every ordering of the
features) of six irregular regions (`feature_mask` [64,64]: the nearest of six seed points), baseline 0,
the same target: `shapley` [6], one value per region. KernelSHAP with every coalition must give these.
`--shapley-only` makes this file alone, from the committed network and input.
"""
import os
import sys

import h5py
import numpy as np
import torch
from captum.attr import (GuidedBackprop, GuidedGradCam, InputXGradient, IntegratedGradients, LayerGradCam,
                         Occlusion, Saliency, ShapleyValues)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))  # convert_torchvision
from convert_torchvision import ARCHS, convert  # noqa: E402
from make_model_fixtures import NarrowResNet50  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
SIZE, CLASSES = 64, 10
IG_METHODS = ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"]


def narrow_vgg16():
    """torchvision.models.vgg16's module layout with every width / 16 (a 2x2 map before the classifier)."""
    layers, c = [], 3
    for v in [4, 4, "M", 8, 8, "M", 16, 16, 16, "M", 32, 32, 32, "M", 32, 32, 32, "M"]:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2, 2))
        else:
            layers += [torch.nn.Conv2d(c, v, 3, padding=1), torch.nn.ReLU(inplace=False)]
            c = v
    m = torch.nn.Module()
    m.features = torch.nn.Sequential(*layers)
    m.classifier = torch.nn.Sequential(torch.nn.Linear(32 * 2 * 2, 256), torch.nn.ReLU(), torch.nn.Dropout(),
                                       torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Dropout(),
                                       torch.nn.Linear(256, CLASSES))
    m.forward = lambda x: m.classifier(torch.flatten(m.features(x), 1))
    return m


def load_ours(model, arch, path):
    """Fills a torch model from a gradtrace file (PyTorch layouts, so names are all that differ)."""
    sd, names = model.state_dict(), ARCHS[arch](model.state_dict())
    with h5py.File(path, "r") as f:
        for key in sd:
            module, param = key.rsplit(".", 1)
            if param != "num_batches_tracked":
                sd[key] = torch.from_numpy(f[f"{names[module]}/{param}"][()].astype(np.float64))
    model.load_state_dict(sd)


def no_inplace_relu(model):
    """Captum's hooks need out-of-place ReLUs; torchvision's blocks use inplace=True."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.ReLU):
            mod.inplace = False


def shapley_fixture():
    """Exact Shapley values of six regions, by Captum, on the committed ResNet50 network and input."""
    net = NarrowResNet50().double().eval()
    load_ours(net, "resnet50", os.path.join(FIX, "torch_resnet50_narrow.h5"))
    with h5py.File(os.path.join(FIX, "captum_resnet50.h5"), "r") as f:
        x = torch.from_numpy(f["input"][()].astype(np.float64))
        target = int(f.attrs["target"])
    seeds = np.array([[5, 7], [12, 50], [30, 30], [40, 8], [55, 45], [60, 20]], dtype=np.float64)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    d = (yy[None] - seeds[:, 0, None, None]) ** 2 + 1.7 * (xx[None] - seeds[:, 1, None, None]) ** 2
    mask = d.argmin(0)
    phi = ShapleyValues(net).attribute(x, baselines=0.0, target=target,
                                       feature_mask=torch.from_numpy(mask)[None, None].expand(1, 3, SIZE, SIZE))
    per_region = np.array([float(phi[0, 0][torch.from_numpy(mask) == k][0]) for k in range(6)])
    with h5py.File(os.path.join(FIX, "captum_shapley.h5"), "w") as f:
        f["feature_mask"] = mask.astype(np.float32)
        f["shapley"] = per_region
        f.attrs["target"] = target
    print("shapley: target", target, "per region", per_region)


def main():
    if "--shapley-only" in sys.argv:
        return shapley_fixture()
    torch.manual_seed(0)
    vgg = narrow_vgg16().double().eval()
    with torch.no_grad():  # weights scaled so that activations stay O(1) through 13 convs
        for mod in vgg.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                mod.weight.mul_(1.6)
                mod.weight.copy_(mod.weight.half().double())  # stored as float16: the reference uses the same values
                mod.bias.copy_((torch.rand_like(mod.bias) * 0.2 - 0.1).half().double())
    convert("vgg16", {k: v.half() for k, v in vgg.state_dict().items()}, os.path.join(FIX, "torch_vgg16_narrow.h5"),
            alpha=1 / 16, input_size=SIZE)
    resnet = NarrowResNet50().double().eval()
    load_ours(resnet, "resnet50", os.path.join(FIX, "torch_resnet50_narrow.h5"))
    no_inplace_relu(resnet)
    nets = {"vgg16": (vgg, vgg.features[29]), "resnet50": (resnet, resnet.layer4)}
    for arch, (m, layer) in nets.items():
        for p in m.parameters():
            p.requires_grad_(False)
        x = (torch.rand(1, 3, SIZE, SIZE, dtype=torch.float64) * 2 - 1).float().double()  # exact in float32
        base = (torch.rand_like(x) * 0.5 - 0.25).float().double()
        with torch.no_grad():
            TARGET = int(m(x).argmax())
        out = {"input": x, "baseline": base,
               "saliency": Saliency(m).attribute(x, target=TARGET, abs=False),
               "inputxgradient": InputXGradient(m).attribute(x, target=TARGET),
               "gradcam": LayerGradCam(m, layer).attribute(x, target=TARGET, relu_attributions=True)[0, 0],
               "guided_backprop": GuidedBackprop(m).attribute(x, target=TARGET),
               "guided_gradcam": GuidedGradCam(m, layer).attribute(x, target=TARGET, interpolate_mode="bilinear"),
               "occlusion": Occlusion(m).attribute(x, target=TARGET, sliding_window_shapes=(3, 8, 8),
                                                  strides=(3, 4, 4), baselines=0.0)}
        for method in IG_METHODS if arch == "vgg16" else ["riemann_trapezoid", "gausslegendre"]:
            for n in (4, 17) if arch == "vgg16" else (17,):
                out[f"ig_{method}_{n}"] = IntegratedGradients(m).attribute(x, baselines=base, target=TARGET,
                                                                           n_steps=n, method=method)
        with torch.no_grad():
            out["logits"] = m(x)
        with h5py.File(os.path.join(FIX, f"captum_{arch}.h5"), "w") as f:
            for k, v in out.items():
                f[k] = v.detach().numpy().astype(np.float32)
            f.attrs["target"] = TARGET
        print(arch, "target", TARGET, "logits", out["logits"].numpy().round(3), "gradcam max", float(out["gradcam"].max()))
    shapley_fixture()


if __name__ == "__main__":
    main()
