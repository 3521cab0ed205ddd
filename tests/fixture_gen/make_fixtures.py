#!/usr/bin/python3
"""Writes tests/fixtures/torch_ops.h5: PyTorch reference values for conv, pooling, batch norm and
softmax, forward and backward. Uses Debian's python3-torch and python3-h5py:

    apt-get install python3-torch python3-h5py && /usr/bin/python3 tests/fixture_gen/make_fixtures.py

The conv and pooling cases are those of tests/op_cases.json (the table the gradchecks and the CUDA
tests run too), but its device_only ones: group conv2d_NN for conv case NN; max_pool2d_NN,
avg_pool2d_NN and avg_pool2d_include_NN for pool case NN; global_avg_pool_00. Each group holds its
inputs, the upstream gradient `dy`, the output `y`, the gradient of every differentiable input
(`d<name>`), and the attribute `name`. Batch norm and softmax groups hold `params` too, a float
vector with the op's settings in the order tests/autodiff/test_torch_fixtures.cpp reads them.
"""
import json
import os
import sys

import h5py
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch_ops.h5")
CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "op_cases.json")


def rand(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape) * (hi - lo) + lo).requires_grad_(True)


def save(f, name, inputs, y, params=None, label=None):
    dy = torch.rand_like(y) * 2 - 1
    names = list(inputs)
    grads = torch.autograd.grad(y, [inputs[n] for n in names if inputs[n].requires_grad], dy)
    g = f.create_group(name)
    for n in names:
        g[n] = inputs[n].detach().numpy()
    g["y"], g["dy"] = y.detach().numpy(), dy.numpy()
    for n, d in zip([n for n in names if inputs[n].requires_grad], grads):
        g["d" + n] = d.numpy()
    if params is not None:
        g["params"] = torch.tensor(params, dtype=torch.float32).numpy()
    if label is not None:
        g.attrs["name"] = label.encode()


def conv(f, name, c):
    """pads = (top, bottom, left, right); asymmetric padding is applied with F.pad (TF 'SAME')."""
    x, w, b = rand(*c["x"]), rand(*c["w"]), rand(c["w"][0])
    p = c["pad"]
    y = F.conv2d(F.pad(x, (p[2], p[3], p[0], p[1])), w, b, stride=tuple(c["stride"]),
                 dilation=tuple(c.get("dilation", [1, 1])), groups=c.get("groups", 1))
    save(f, name, {"x": x, "w": w, "b": b}, y, label=c["name"])


def pool(f, name, kind, c, include_pad):
    """Max: padding never wins (pad with -inf). Average: over a zero-padded tensor, divided by the
    window's size (count_include_pad, PyTorch's rule) or by the count of real pixels in it (Keras/TF)."""
    x, k, s, p = rand(*c["x"]), tuple(c["kernel"]), tuple(c["stride"]), c["pad"]
    pp = (p[2], p[3], p[0], p[1])
    if kind == "max":
        y = F.max_pool2d(F.pad(x, pp, value=-float("inf")), k, s)
    else:
        total = F.avg_pool2d(F.pad(x, pp), k, s)
        count = F.avg_pool2d(F.pad(torch.ones_like(x), pp), k, s)
        y = total if include_pad else total / count
    save(f, name, {"x": x}, y, label=c["name"])


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__).encode()
        cases = json.load(open(CASES))
        for i, c in enumerate(cases["conv2d"]):
            if not c.get("device_only"):
                conv(f, f"conv2d_{i:02d}", c)
        for i, c in enumerate(cases["pool"]):
            pool(f, f"max_pool2d_{i:02d}", "max", c, False)
            pool(f, f"avg_pool2d_{i:02d}", "avg", c, False)
            pool(f, f"avg_pool2d_include_{i:02d}", "avg", c, True)
        for i, c in enumerate(cases["global_avg_pool"]):
            x = rand(*c["x"])
            save(f, f"global_avg_pool_{i:02d}", {"x": x}, F.adaptive_avg_pool2d(x, 1).flatten(1), label=c["name"])
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
