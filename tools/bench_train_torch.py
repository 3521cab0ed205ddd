#!/usr/bin/python3
"""PyTorch's training speed on fashion_cnn, the peer of `gradtrace train` (same network, batch,
optimizer and augmentation; Fashion-MNIST from Debian's dataset-fashion-mnist):

    /usr/bin/python3 tools/bench_train_torch.py [--threads 2] [--steps 100] [--batch 128] [--optimizer sgd|adam]

Prints samples/s over the timed steps (after 5 warm-up steps), as train prints it per epoch.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=100)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--optimizer", default="sgd")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


d = os.environ.get("GRADTRACE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
x_all = torch.tensor(idx(d + "/train-images-idx3-ubyte.gz"), dtype=torch.uint8)[:, None]
y_all = torch.tensor(idx(d + "/train-labels-idx1-ubyte.gz").astype(np.int64))


def block(i, o):
    return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]


net = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128), nn.Flatten(), nn.Dropout(0.3), nn.Linear(1152, 10))
net.train()
if a.optimizer == "adam":
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=5e-4)
else:
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
g = torch.Generator().manual_seed(0)
perm = torch.randperm(len(y_all), generator=g)


def step(s):
    i = perm[(s * a.batch) % (len(perm) - a.batch):][:a.batch]
    x = x_all[i].float() / 255  # the batch is made from bytes each step, as gradtrace does
    flip = torch.rand(a.batch, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    loss = F.cross_entropy(net(x), y_all[i])
    opt.zero_grad()
    loss.backward()
    opt.step()


for s in range(5):
    step(s)
t = time.perf_counter()
for s in range(a.steps):
    step(s)
dt = time.perf_counter() - t
print(f"torch {torch.__version__}, {a.threads} threads: fashion_cnn batch {a.batch} {a.optimizer}: "
      f"{a.steps * a.batch / dt:.0f} samples/s")
