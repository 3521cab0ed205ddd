#!/usr/bin/python3
"""Small ONNX files from torch.onnx.export (Debian's python3-torch), for the tests that run without
PyTorch:

  tests/fixtures/onnx_small_cnn.onnx      a student-sized CNN on 3x32x32 inputs, 10 classes, exported
                                          in training mode's layout (batch norms kept: conv -> BN ->
                                          ReLU/ReLU6 and add -> ReLU for the fusions), with the
                                          x.view(x.size(0), -1) flatten that exporters wrap in a
                                          Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain
  tests/fixtures/onnx_small_cnn_ref.h5    its input, logits and d logit[3] / d input in float64 (the
                                          float32 weights widened: gradtrace's float64 run sees the same)
  tests/corpus/onnx/two_inputs.onnx       a model with two inputs
  tests/corpus/onnx/dynamic_hw.onnx       a model whose height and width are dynamic axes
  tests/corpus/onnx/unsupported_op.onnx   a model with an Erf node (GELU), which gradtrace does not run
  tests/corpus/onnx/truncated.onnx        the small CNN cut in half
  tests/corpus/onnx/garbage.onnx          4 KB of random bytes

    /usr/bin/python3 tests/fixture_gen/make_onnx_fixtures.py
"""
import os

import h5py
import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures")
CORPUS = os.path.join(ROOT, "tests", "corpus", "onnx")


class SmallCNN(torch.nn.Module):
    def __init__(self, in_channels=3):  # 1: tests/fixture_gen/quantus_reference.py's grayscale model
        super().__init__()
        n = torch.nn
        self.stem = n.Sequential(n.Conv2d(in_channels, 8, 3, padding=1, bias=False), n.BatchNorm2d(8), n.ReLU())
        self.pool = n.MaxPool2d(2)
        self.block = n.Sequential(n.Conv2d(8, 8, 3, padding=1, bias=False), n.BatchNorm2d(8))
        self.dw = n.Sequential(n.Conv2d(8, 8, 3, stride=2, padding=1, groups=8), n.BatchNorm2d(8), n.ReLU6())
        self.head = n.Sequential(n.Conv2d(8, 16, 1), n.LeakyReLU(0.1))
        self.fc = n.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        h = self.pool(self.stem(x))
        h = torch.relu(h + self.block(h))
        h = self.head(self.dw(h))
        return self.fc(h.view(h.size(0), -1))


def randomize_bn(m, gen):
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            c = mod.num_features
            mod.weight.data = torch.rand(c, generator=gen) + 0.5
            mod.bias.data = torch.rand(c, generator=gen) * 0.2 - 0.1
            mod.running_mean = torch.rand(c, generator=gen) * 0.2 - 0.1
            mod.running_var = torch.rand(c, generator=gen) + 0.5


def export(m, x, path, **kw):
    # training=TRAINING keeps the batch norms as nodes (eval-mode export folds them into the convs)
    torch.onnx.export(m, x, path, opset_version=13, input_names=kw.pop("names", ["input"]), output_names=["logits"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, **kw)


def main():
    os.makedirs(CORPUS, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    m = SmallCNN().eval()
    randomize_bn(m, gen)
    x = torch.rand(1, 3, 32, 32, generator=gen)
    export(m, x, os.path.join(FIX, "onnx_small_cnn.onnx"))
    md, xd = m.double(), x.double().requires_grad_(True)
    y = md(xd)
    y[0, 3].backward()
    with h5py.File(os.path.join(FIX, "onnx_small_cnn_ref.h5"), "w") as f:
        f["input"], f["logits"], f["grad"] = x.double().numpy(), y.detach().numpy(), xd.grad.numpy()
        f.attrs["target"] = 3
    m = m.float()

    class TwoInputs(torch.nn.Module):
        def forward(self, a, b):
            return a + b

    export(TwoInputs(), (x, x), os.path.join(CORPUS, "two_inputs.onnx"), names=["a", "b"])
    export(m, x, os.path.join(CORPUS, "dynamic_hw.onnx"), dynamic_axes={"input": {2: "h", 3: "w"}})

    class Gelu(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.gelu(x).mean((2, 3))

    export(Gelu(), x, os.path.join(CORPUS, "unsupported_op.onnx"))
    data = open(os.path.join(FIX, "onnx_small_cnn.onnx"), "rb").read()
    open(os.path.join(CORPUS, "truncated.onnx"), "wb").write(data[: len(data) // 2])
    open(os.path.join(CORPUS, "garbage.onnx"), "wb").write(np.random.default_rng(0).bytes(4096))
    print("wrote", FIX, CORPUS)


if __name__ == "__main__":
    main()
