#!/usr/bin/python3
"""Always-run topology fixtures from PyTorch (Debian python3-torch, python3-torchvision, python3-h5py):
narrow versions of torchvision's own ResNet50, InceptionV3 and MobileNetV2, converted with
tools/convert_torchvision.py, with the logits and the gradient of logit 3 w.r.t. the input.

  tests/fixtures/torch_resnet50_narrow.h5      ResNet50 with widths / 16, torchvision Bottleneck blocks
  tests/fixtures/torch_inception_v3_narrow.h5  torchvision's Inception3 with every conv / 16 (107x107 input)
  tests/fixtures/torch_mobilenet_v2_narrow.h5  torchvision mobilenet_v2(width_mult=0.25)
  tests/fixtures/torch_mobilenet_v1_narrow.h5  MobileNet V1 as TF Lite runs it (alpha 0.25, 'SAME' padding,
                                               folded BN), written here in PyTorch, on 72x72 so that odd
                                               sizes (9 -> 5 -> 3) need the symmetric SAME padding too
  tests/fixtures/torch_<arch>_narrow_ref.h5    input [1,3,S,S] (S = 64, or 107), logits [1,10], grad

Weights and input are stored as float16 to keep the files small; the reference is computed in float64
from those rounded values, so the rounding costs nothing in accuracy: gradtrace run in float64 must
agree to ~1e-12 (the gradient is stored as float32, 6e-8 relative).

    /usr/bin/python3 tests/fixture_gen/make_model_fixtures.py
"""
import os
import sys

import h5py
import torch
import torchvision
from torchvision.models.inception import BasicConv2d, Inception3
from torchvision.models.resnet import Bottleneck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))  # convert_torchvision
from convert_torchvision import convert  # noqa: E402
from torch_reference import calibrate  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
SIZE, CLASSES, TARGET = 64, 10, 3


class NarrowResNet50(torch.nn.Module):
    """torchvision's ResNet50 layout (names, Bottleneck blocks, stride on the 3x3) with widths / 16."""

    def __init__(self, w=4):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(w)
        self.relu = torch.nn.ReLU(inplace=True)
        self.maxpool = torch.nn.MaxPool2d(3, 2, 1)
        inplanes, layers = w, []
        for i, (blocks, stride) in enumerate(zip([3, 4, 6, 3], [1, 2, 2, 2])):
            planes = w << i
            down = torch.nn.Sequential(torch.nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                       torch.nn.BatchNorm2d(planes * 4))
            seq = [Bottleneck(inplanes, planes, stride, down)] + [Bottleneck(planes * 4, planes) for _ in range(blocks - 1)]
            layers.append(torch.nn.Sequential(*seq))
            inplanes = planes * 4
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(inplanes, CLASSES)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def narrow_inception():
    """Inception3 builds every conv through `conv_block(in, out)`; a block that divides both by 16
    narrows the whole network consistently (every width in Inception V3 is a multiple of 16)."""
    from torchvision.models import inception as inc
    narrow = lambda cin, cout, **kw: BasicConv2d(max(1, cin // 16) if cin > 3 else cin, cout // 16, **kw)  # noqa: E731
    blocks = [narrow] + [lambda *a, cls=c, **kw: cls(*a, conv_block=narrow, **kw)
                         for c in (inc.InceptionA, inc.InceptionB, inc.InceptionC, inc.InceptionD, inc.InceptionE,
                                   inc.InceptionAux)]
    m = Inception3(num_classes=CLASSES, aux_logits=False, init_weights=False, inception_blocks=blocks)
    m.fc = torch.nn.Linear(2048 // 16, CLASSES)
    return m


class MobileNetV1Tflite(torch.nn.Module):
    """MobileNet V1 with TF 'SAME' padding (asymmetric at stride 2 on even sizes), conv biases (BN
    folded, as in TF Lite files) and ReLU6; gradtrace's layer names."""

    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

    def __init__(self, alpha=0.25):
        super().__init__()
        c = int(32 * alpha)
        self.convs = torch.nn.ModuleDict({"conv1": torch.nn.Conv2d(3, c, 3, 2)})
        self.strides = {"conv1": 2}
        for i, (out, stride) in enumerate(self.BLOCKS, 1):
            out = int(out * alpha)
            self.convs[f"conv_dw_{i}"], self.strides[f"conv_dw_{i}"] = torch.nn.Conv2d(c, c, 3, stride, groups=c), stride
            self.convs[f"conv_pw_{i}"], self.strides[f"conv_pw_{i}"] = torch.nn.Conv2d(c, out, 1), 1
            c = out
        self.convs["conv_preds"], self.strides["conv_preds"] = torch.nn.Conv2d(c, CLASSES, 1), 1

    def forward(self, x):
        for name, conv in self.convs.items():
            if name == "conv_preds":
                x = conv(x.mean((2, 3), keepdim=True)).flatten(1)
                break
            k, s = conv.kernel_size[0], self.strides[name]
            total = max((-(-x.shape[2] // s) - 1) * s + k - x.shape[2], 0)  # TF 'SAME', odd pixel last
            x = torch.nn.functional.relu6(conv(torch.nn.functional.pad(x, (total // 2, total - total // 2) * 2)))
        return x


def write_ours(path, arch, sd, attrs):
    with h5py.File(path, "w", libver="latest") as f:
        for k, v in sd.items():
            f[k.replace("convs.", "").replace(".", "/")] = v.numpy()
        for k, v in attrs.items():
            f.attrs[k] = v.encode() if isinstance(v, str) else float(v)


def main():
    torch.manual_seed(0)
    nets = {"resnet50": (NarrowResNet50(), 1 / 16),
            "inception_v3": (narrow_inception(), 1 / 16),
            "mobilenet_v2": (torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=CLASSES), 0.25),
            "mobilenet_v1": (MobileNetV1Tflite(0.25), 0.25)}
    for arch, (m, alpha) in nets.items():
        m = m.double().eval()
        size = {"inception_v3": 107, "mobilenet_v1": 72}.get(arch, SIZE)  # Inception's last maps are then 2x2
        x = (torch.rand(1, 3, size, size, dtype=torch.float64) * 2 - 1).half().double()  # stored as float16
        calibrate(m, x)
        with torch.no_grad():  # round to float16 once, so that the file and the reference agree exactly
            for p in list(m.parameters()) + [b for b in m.buffers() if b.dtype.is_floating_point]:
                p.copy_(p.half().double())
        sd = {k: (v.half() if v.dtype.is_floating_point else v) for k, v in m.state_dict().items()}
        path = os.path.join(FIX, f"torch_{arch}_narrow.h5")
        if arch == "mobilenet_v1":  # no torchvision model: written in our format directly
            write_ours(path, arch, sd, {"gradtrace_format": 1, "arch": arch, "variant": "tflite", "preprocessing": "tf",
                                        "resize": "squash", "labels": "imagenet1000", "input_size": size,
                                        "classes": CLASSES, "alpha": alpha, "include_top": 1})
        else:
            convert(arch, sd, path, alpha=alpha, input_size=size)
        xi = x.clone().requires_grad_(True)
        y = m(xi)
        y[0, TARGET].backward()
        with h5py.File(os.path.join(FIX, f"torch_{arch}_narrow_ref.h5"), "w") as f:
            # input: float16 (exact, it was rounded before use); logits float64; grad float32
            f["input"], f["logits"], f["grad"] = x.half().numpy(), y.detach().numpy(), xi.grad.float().numpy()
            f.attrs["target"] = TARGET
        print(f"{arch}: wrote {path} ({os.path.getsize(path)} bytes), logits[0:3] {y.detach().numpy()[0, :3]}")


if __name__ == "__main__":
    main()
