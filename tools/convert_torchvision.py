#!/usr/bin/python3
"""Converts a torchvision state dict to gradtrace's weights format (weights/FORMAT.md).

    /usr/bin/python3 tools/convert_torchvision.py --arch {vgg16,vgg19,resnet50,inception_v3,mobilenet_v2} \\
        --state-dict FILE.pth --out FILE.h5

Uses Debian's python3-torch. Tensors keep their dtype (float32 normally; float64 state dicts, as the
peer tests write, stay float64). Layer names are gradtrace's (Keras') names; layouts are PyTorch's,
which is ours, so only names change.
"""
import argparse
import os
import sys

import h5py
import torch


def vgg_names(sd, depth):
    per_block = [2, 2, 3, 3, 3] if depth == 16 else [2, 2, 4, 4, 4]
    convs = sorted({int(k.split(".")[1]) for k in sd if k.startswith("features.")})
    names = [f"block{b + 1}_conv{i + 1}" for b, n in enumerate(per_block) for i in range(n)]
    if len(convs) != len(names):
        raise SystemExit(f"expected {len(names)} convolutions for vgg{depth}, found {len(convs)}")
    m = {f"features.{idx}": name for idx, name in zip(convs, names)}
    m.update({"classifier.0": "fc1", "classifier.3": "fc2", "classifier.6": "predictions"})
    return m


def resnet50_names(sd):
    m = {"conv1": "conv1_conv", "bn1": "conv1_bn", "fc": "predictions"}
    for stack, blocks in enumerate([3, 4, 6, 3]):
        for b in range(blocks):
            src, dst = f"layer{stack + 1}.{b}", f"conv{stack + 2}_block{b + 1}_"
            for k in (1, 2, 3):
                m[f"{src}.conv{k}"], m[f"{src}.bn{k}"] = f"{dst}{k}_conv", f"{dst}{k}_bn"
            m[f"{src}.downsample.0"], m[f"{src}.downsample.1"] = f"{dst}0_conv", f"{dst}0_bn"
    return m


def mobilenet_v2_names(sd):
    m = {"features.0.0": "Conv1", "features.0.1": "bn_Conv1", "features.18.0": "Conv_1", "features.18.1": "Conv_1_bn",
         "classifier.1": "predictions"}
    for i in range(1, 18):
        p = "expanded_conv_" if i == 1 else f"block_{i - 1}_"
        if i == 1:  # no expansion: [depthwise conv-bn-relu6, project conv, bn]
            seq = [("conv.0.0", "depthwise"), ("conv.0.1", "depthwise_BN"), ("conv.1", "project"), ("conv.2", "project_BN")]
        else:
            seq = [("conv.0.0", "expand"), ("conv.0.1", "expand_BN"), ("conv.1.0", "depthwise"),
                   ("conv.1.1", "depthwise_BN"), ("conv.2", "project"), ("conv.3", "project_BN")]
        for src, dst in seq:
            m[f"features.{i}.{src}"] = p + dst
    return m


def inception_v3_names(sd):
    """Our convs are named by Keras' creation order (conv2d_N, batch_normalization_N), which is also
    the order torchvision registers its BasicConv2d modules in."""
    m, n = {"fc": "predictions"}, 0
    for key in sd:
        module = key.rsplit(".", 1)[0]
        if module.endswith(".conv") and not module.startswith("AuxLogits") and module not in m:
            n += 1
            m[module], m[module[:-5] + ".bn"] = f"conv2d_{n}", f"batch_normalization_{n}"
    return m


ARCHS = {"inception_v3": inception_v3_names, "mobilenet_v2": mobilenet_v2_names, "vgg16": lambda sd: vgg_names(sd, 16), "vgg19": lambda sd: vgg_names(sd, 19), "resnet50": resnet50_names}
INPUT = {"inception_v3": 299}


def convert(arch, sd, out, alpha=1.0, input_size=None):
    """alpha and input_size describe narrow test networks (tests/fixture_gen/make_model_fixtures.py)."""
    names = ARCHS[arch](sd)
    with h5py.File(out + ".tmp", "w", libver="latest") as f:  # compact groups: smaller files
        for key, t in sd.items():
            module, param = key.rsplit(".", 1)
            if param == "num_batches_tracked" or module.startswith("AuxLogits"):
                continue
            if module not in names:
                raise SystemExit(f"{out}: no gradtrace layer for torchvision parameter {key}")
            f[f"{names[module]}/{param}"] = t.detach().cpu().numpy()
        classes = sd[[k for k in sd if names.get(k.rsplit('.', 1)[0]) == "predictions"][0]].shape[0]
        for k, v in {"arch": arch, "variant": "torch", "preprocessing": "torch", "resize": "crop",
                     "labels": "imagenet1000" if classes == 1000 else "none"}.items():
            f.attrs[k] = v.encode()
        f.attrs["gradtrace_format"], f.attrs["alpha"] = 1.0, float(alpha)
        f.attrs["input_size"], f.attrs["classes"] = float(input_size or INPUT.get(arch, 224)), float(classes)
    os.replace(out + ".tmp", out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=sorted(ARCHS))
    ap.add_argument("--state-dict", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sd = torch.load(a.state_dict, map_location="cpu")
    if not isinstance(sd, dict):
        sd = sd.state_dict()
    convert(a.arch, sd, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
