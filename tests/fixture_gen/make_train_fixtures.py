#!/usr/bin/python3
"""Writes tests/fixtures/torch_train.h5: PyTorch reference values for training.

    apt-get install python3-torch python3-h5py && /usr/bin/python3 tests/fixture_gen/make_train_fixtures.py

- optim/<case>: a parameter p0, five gradients g (5, ...) and the parameter after each step, for
  SGD (momentum, weight decay), plain SGD and Adam (weight decay), all in float64;
- A narrow fashion_cnn (alpha 0.25: widths 8, 16, 32) in training mode (batch norm on batch
  statistics, dropout off so that the masks need not match): its parameters at the root, named as in
  gradtrace's weights format; ref/x, ref/labels, ref/logits, ref/loss, ref/grad/<param> and the
  running statistics after the step, ref/after/<bn>/running_mean|running_var.
"""
import os

import h5py
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch_train.h5")

with h5py.File(OUT, "w") as f:
    # ---- optimisers ----
    cases = {
        "sgd_momentum": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01),
        "sgd_plain": lambda p: torch.optim.SGD([p], lr=0.1),
        "adam": lambda p: torch.optim.Adam([p], lr=0.01, weight_decay=0.01),
    }
    p0 = torch.rand(3, 4) * 2 - 1
    g = torch.rand(5, 3, 4) * 2 - 1
    for name, make in cases.items():
        p = p0.clone().requires_grad_(True)
        opt = make(p)
        after = []
        for t in range(5):
            p.grad = g[t].clone()
            opt.step()
            after.append(p.detach().clone())
        grp = f.create_group("optim/" + name)
        grp["p0"], grp["g"], grp["after"] = p0.numpy(), g.numpy(), torch.stack(after).numpy()

    # ---- a training step of a narrow fashion_cnn ----
    widths, c, layers, names = [8, 16, 32], 1, [], []
    for b, w in enumerate(widths, 1):
        conv, bn = nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w, eps=1e-5)
        nn.init.uniform_(bn.weight, 0.5, 1.5)
        nn.init.uniform_(bn.bias, -0.5, 0.5)
        bn.running_mean.uniform_(-0.1, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
        layers += [conv, bn, nn.ReLU(), nn.MaxPool2d(2)]
        names += [(f"conv{b}", conv), (f"conv{b}_bn", bn)]
        c = w
    fc = nn.Linear(c * 9, 10)
    net = nn.Sequential(*layers, nn.Flatten(), fc)
    names.append(("fc", fc))
    for lname, mod in names:
        for pname in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(mod, pname, None)
            if t is not None:
                f[f"{lname}/{pname}"] = t.detach().numpy()
    net.train()
    x = torch.rand(6, 1, 28, 28)
    labels = torch.tensor([0, 3, 9, 1, 3, 7])
    logits = net(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    f["ref/x"], f["ref/labels"] = x.numpy(), labels.double().numpy()
    f["ref/logits"], f["ref/loss"] = logits.detach().numpy(), loss.detach().reshape(1).numpy()
    for lname, mod in names:
        for pname in ("weight", "bias"):
            t = getattr(mod, pname, None)
            if t is not None:
                f[f"ref/grad/{lname}/{pname}"] = t.grad.numpy()
        if isinstance(mod, nn.BatchNorm2d):
            f[f"ref/after/{lname}/running_mean"] = mod.running_mean.numpy()
            f[f"ref/after/{lname}/running_var"] = mod.running_var.numpy()
print("wrote", OUT)
