#!/usr/bin/python3
"""Writes tests/fixtures/torch_ops.h5: PyTorch reference values for conv, pooling, batch norm and
softmax, forward and backward. Uses Debian's python3-torch and python3-h5py:

    apt-get install python3-torch python3-h5py && /usr/bin/python3 tests/fixture_gen/make_fixtures.py

Each case is a group holding its inputs, the upstream gradient `dy`, the output `y`, the gradient
of every differentiable input (`d<name>`), and `params`, a float vector with the op's settings in
the order the C++ test reads them (see tests/autodiff/test_torch_fixtures.cpp).
"""
import os
import sys

import h5py
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch_ops.h5")


def rand(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape) * (hi - lo) + lo).requires_grad_(True)


def save(f, name, inputs, y, params):
    dy = torch.rand_like(y) * 2 - 1
    names = list(inputs)
    grads = torch.autograd.grad(y, [inputs[n] for n in names if inputs[n].requires_grad], dy)
    g = f.create_group(name)
    for n in names:
        g[n] = inputs[n].detach().numpy()
    g["y"], g["dy"] = y.detach().numpy(), dy.numpy()
    for n, d in zip([n for n in names if inputs[n].requires_grad], grads):
        g["d" + n] = d.numpy()
    g["params"] = torch.tensor(params, dtype=torch.float32).numpy()


def conv(f, name, x, w, b, stride, dilation, pads, groups):
    """pads = (top, bottom, left, right); asymmetric padding is applied with F.pad (TF 'SAME')."""
    xp = F.pad(x, (pads[2], pads[3], pads[0], pads[1]))
    y = F.conv2d(xp, w, b, stride=stride, dilation=dilation, groups=groups)
    save(f, name, {"x": x, "w": w, "b": b}, y, [*stride, *dilation, *pads, groups])


def pool(f, name, kind, x, k, s, pads, include_pad):
    """Max: padding never wins (pad with -inf). Average over the real pixels only (Keras/TF) is
    sum / count, both from average pools over padded tensors; PyTorch's own rule is count_include_pad."""
    pp = (pads[2], pads[3], pads[0], pads[1])
    if kind == "max":
        y = F.max_pool2d(F.pad(x, pp, value=-float("inf")), k, s)
    elif include_pad:
        assert pads[0] == pads[1] and pads[2] == pads[3]
        y = F.avg_pool2d(x, k, s, padding=(pads[0], pads[2]), count_include_pad=True)
    else:
        total = F.avg_pool2d(F.pad(x, pp), k, s) * (k[0] * k[1])
        count = F.avg_pool2d(F.pad(torch.ones_like(x), pp), k, s) * (k[0] * k[1])
        y = total / count
    save(f, name, {"x": x}, y, [*k, *s, *pads, float(include_pad)])


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__).encode()
        conv(f, "conv2d_3x3_s1_p1", rand(2, 3, 9, 8), rand(4, 3, 3, 3), rand(4), (1, 1), (1, 1), (1, 1, 1, 1), 1)
        conv(f, "conv2d_3x3_s2_same", rand(1, 4, 10, 9), rand(6, 4, 3, 3), rand(6), (2, 2), (1, 1), (0, 1, 1, 1), 1)
        conv(f, "conv2d_dilated", rand(1, 3, 11, 11), rand(5, 3, 3, 3), rand(5), (1, 1), (2, 2), (2, 2, 2, 2), 1)
        conv(f, "conv2d_groups", rand(2, 6, 7, 7), rand(9, 2, 3, 3), rand(9), (2, 1), (1, 1), (1, 1, 1, 1), 3)
        conv(f, "conv2d_depthwise_s2", rand(1, 8, 12, 12), rand(8, 1, 3, 3), rand(8), (2, 2), (1, 1), (0, 1, 0, 1), 8)
        conv(f, "conv2d_7x7_s2_p3", rand(1, 3, 20, 20), rand(8, 3, 7, 7), rand(8), (2, 2), (1, 1), (3, 3, 3, 3), 1)
        conv(f, "conv2d_1x1_s2", rand(2, 8, 9, 9), rand(4, 8, 1, 1), rand(4), (2, 2), (1, 1), (0, 0, 0, 0), 1)
        pool(f, "maxpool_3x3_s2_p1", "max", rand(2, 3, 9, 9), (3, 3), (2, 2), (1, 1, 1, 1), False)
        pool(f, "maxpool_2x2_s2", "max", rand(1, 4, 8, 7), (2, 2), (2, 2), (0, 0, 0, 0), False)
        pool(f, "maxpool_3x3_s2_same", "max", rand(1, 2, 10, 10), (3, 3), (2, 2), (0, 1, 0, 1), False)
        pool(f, "avgpool_3x3_s1_p1_torch", "avg", rand(2, 3, 7, 6), (3, 3), (1, 1), (1, 1, 1, 1), True)
        pool(f, "avgpool_3x3_s1_same_keras", "avg", rand(2, 3, 7, 6), (3, 3), (1, 1), (1, 1, 1, 1), False)
        pool(f, "avgpool_3x3_s2_same_keras", "avg", rand(1, 2, 9, 8), (3, 3), (2, 2), (1, 1, 0, 1), False)
        x = rand(4, 5, 3, 3)
        gamma, beta = rand(5), rand(5)
        rm, rv = torch.rand(5) - 0.5, torch.rand(5) + 0.5
        for training in (False, True):
            eps = 1e-3
            y = F.batch_norm(x, rm.clone(), rv.clone(), gamma, beta, training=training, eps=eps)
            save(f, "batchnorm_train" if training else "batchnorm_eval",
                 {"x": x, "gamma": gamma, "beta": beta, "running_mean": rm, "running_var": rv}, y,
                 [eps, float(training)])
        z = rand(3, 10, lo=-4, hi=4)
        save(f, "softmax", {"x": z}, F.softmax(z, dim=1), [])
        save(f, "log_softmax", {"x": z}, F.log_softmax(z, dim=1), [])
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes) with torch {torch.__version__}")


if __name__ == "__main__":
    sys.exit(main())
