#!/usr/bin/python3
"""Small fixtures in the exact layout of Keras applications weight files, with a reference computed by
PyTorch (Debian python3-torch, python3-h5py), independent of gradtrace:

  tests/fixtures/keras_vgg16_narrow_nested.h5  Keras 2 save_weights layout: variable-length layer_names,
                                               weights at <layer>/<layer>/kernel:0
  tests/fixtures/keras_vgg16_narrow_flat.h5    the old ImageNet files' layout: fixed-length names,
                                               weights at <layer>/<layer>_W_1:0 and _b_1:0
  tests/fixtures/keras_vgg16_narrow_notop.h5   the same without fc1, fc2, predictions (a _notop file)
  tests/fixtures/keras_vgg16_missing_layer.h5  names a VGG16 but holds block1_conv1 only (error test)
  tests/fixtures/vgg16_narrow_ref.h5           input [1,3,64,64], logits [1,10], grad = d logits[0,3] / d input
  tests/fixtures/keras_vgg19_narrow_nested.h5  VGG19 the same way (nested naming), with vgg19_narrow_ref.h5

The network is VGG16 with every width divided by 32 (conv 2..16 channels, fc 128) on a 64x64 input,
so that fc1 reads a 16x2x2 map and Keras' H,W,C flattening order matters. Kernels are stored as Keras
keeps them: conv (kh, kw, in, out), dense (in, out) with fc1's rows in H,W,C order.

    /usr/bin/python3 tests/fixture_gen/make_keras_fixtures.py
"""
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
WIDTHS = [2, 4, 8, 16, 16]
FC, CLASSES, SIZE, TARGET = 128, 10, 64, 3


def main():
    for depth, styles in ((16, ("nested", "flat", "notop")), (19, ("nested",))):
        make(depth, styles)


def make(depth, styles):
    BLOCKS = [2, 2, 3, 3, 3] if depth == 16 else [2, 2, 4, 4, 4]  # noqa: N806
    g = torch.Generator().manual_seed(3 if depth == 16 else 19)
    r = lambda *s: (torch.rand(*s, generator=g, dtype=torch.float64) * 2 - 1)  # noqa: E731
    convs, c = [], 3
    for b, (n, w) in enumerate(zip(BLOCKS, WIDTHS)):
        for i in range(n):
            convs.append((f"block{b + 1}_conv{i + 1}", r(w, c, 3, 3) * (2.0 / (9 * c)) ** 0.5, r(w) * 0.1))
            c = w
    s = SIZE // 32
    fcs = [("fc1", r(FC, c * s * s) * (2.0 / (c * s * s)) ** 0.5, r(FC) * 0.1),
           ("fc2", r(FC, FC) * (2.0 / FC) ** 0.5, r(FC) * 0.1),
           ("predictions", r(CLASSES, FC) * (1.0 / FC) ** 0.5, r(CLASSES) * 0.1)]

    x = (torch.rand(1, 3, SIZE, SIZE, generator=g, dtype=torch.float64) * 255 - 120).requires_grad_(True)
    h, k = x, 0
    for n in BLOCKS:
        for _ in range(n):
            h = F.relu(F.conv2d(h, convs[k][1], convs[k][2], padding=1))
            k += 1
        h = F.max_pool2d(h, 2)
    h = h.flatten(1)  # C,H,W order, as PyTorch and gradtrace
    h = F.relu(F.linear(h, fcs[0][1], fcs[0][2]))
    h = F.relu(F.linear(h, fcs[1][1], fcs[1][2]))
    y = F.linear(h, fcs[2][1], fcs[2][2])
    y[0, TARGET].backward()
    with h5py.File(os.path.join(FIX, f"vgg{depth}_narrow_ref.h5"), "w") as f:
        f["input"], f["logits"], f["grad"] = (x.detach().float().numpy(), y.detach().float().numpy(),
                                               x.grad.float().numpy())
        f.attrs["target"] = TARGET

    def keras_kernel(name, w):
        w = w.numpy().astype(np.float32)
        if w.ndim == 4:
            return w.transpose(2, 3, 1, 0)  # (O, I, kh, kw) -> (kh, kw, I, O)
        if name == "fc1":  # inputs from C,H,W order to Keras' H,W,C order
            w = w.reshape(FC, c, s, s).transpose(0, 2, 3, 1).reshape(FC, -1)
        return w.T  # (O, I) -> (I, O)

    layers = ["input_1"] + [f"block{b + 1}_{kind}" for b, n in enumerate(BLOCKS)
                            for kind in [f"conv{i + 1}" for i in range(n)] + ["pool"]] + ["flatten", "fc1", "fc2",
                                                                                          "predictions"]
    weights = {name: (w, b) for name, w, b in convs + fcs}
    for style in styles:
        path = os.path.join(FIX, f"keras_vgg{depth}_narrow_{style}.h5")
        kept = layers if style != "notop" else layers[:layers.index("flatten")]
        with h5py.File(path, "w") as f:
            if style != "flat":
                f.attrs["layer_names"] = np.array(kept, dtype=h5py.string_dtype())
                f.attrs["keras_version"], f.attrs["backend"] = "2.15.0", "tensorflow"
            else:
                f.attrs["layer_names"] = np.array([n.encode() for n in kept])
                f.attrs["keras_version"], f.attrs["backend"] = b"2.0.8", b"tensorflow"
            for name in kept:
                grp = f.create_group(name)
                if name not in weights:
                    grp.attrs["weight_names"] = np.zeros((0,), dtype=np.float32)  # what Keras writes
                    continue
                w, b = weights[name]
                names = [f"{name}/kernel:0", f"{name}/bias:0"] if style != "flat" else [f"{name}_W_1:0",
                                                                                        f"{name}_b_1:0"]
                grp.attrs["weight_names"] = (np.array(names, dtype=h5py.string_dtype()) if style != "flat"
                                             else np.array([n.encode() for n in names]))
                grp[names[0]] = keras_kernel(name, w)
                grp[names[1]] = b.numpy().astype(np.float32)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    if depth != 16:
        return
    with h5py.File(os.path.join(FIX, "keras_vgg16_missing_layer.h5"), "w") as f:
        f.attrs["layer_names"] = np.array([b"input_1", b"block1_conv1", b"block5_conv3"])
        f.create_group("input_1").attrs["weight_names"] = np.zeros((0,), dtype=np.float32)
        f.create_group("block5_conv3").attrs["weight_names"] = np.zeros((0,), dtype=np.float32)
        grp = f.create_group("block1_conv1")
        grp.attrs["weight_names"] = np.array([b"block1_conv1_W_1:0", b"block1_conv1_b_1:0"])
        grp["block1_conv1_W_1:0"] = keras_kernel("block1_conv1", weights["block1_conv1"][0])
        grp["block1_conv1_b_1:0"] = weights["block1_conv1"][1].numpy().astype(np.float32)


if __name__ == "__main__":
    main()
