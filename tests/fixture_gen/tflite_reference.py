#!/usr/bin/env python3
"""Reference logits from the TF Lite interpreter itself (PyPI ai-edge-litert) for the float MobileNet V1
in ../shared/data, on a deterministic input that tests/nn/test_models.cpp regenerates:

    x[c, h, w] = sin(0.05 * h * (c + 1)) * cos(0.03 * w + c)      (NCHW, values in [-1, 1])

    pip install ai-edge-litert h5py && python3 tests/fixture_gen/tflite_reference.py

Writes tests/fixtures/tflite_mobilenet_v1_025_224.h5 with `logits` [1,1001] (the input of the softmax)
and `probs` [1,1001].
"""
import os

import h5py
import numpy as np
from ai_edge_litert.interpreter import Interpreter

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "..", "shared", "data", "weights", "mobilenet_v1_0.25_224.tflite")
OUT = os.path.join(ROOT, "tests", "fixtures", "tflite_mobilenet_v1_025_224.h5")


def pattern(size):
    c, h, w = np.meshgrid(np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    return (np.sin(0.05 * h * (c + 1)) * np.cos(0.03 * w + c)).astype(np.float32)[None]


def main():
    it = Interpreter(model_path=MODEL, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    x = pattern(224)
    it.set_tensor(it.get_input_details()[0]["index"], np.transpose(x, (0, 2, 3, 1)).copy())
    it.invoke()
    probs = it.get_tensor(it.get_output_details()[0]["index"])
    ops = it._get_ops_details()
    softmax = [o for o in ops if o["op_name"] == "SOFTMAX"][0]
    logits = it.get_tensor(softmax["inputs"][0]).reshape(1, -1)
    with h5py.File(OUT, "w") as f:
        f["logits"], f["probs"] = logits.astype(np.float32), probs.reshape(1, -1).astype(np.float32)
    print(f"wrote {OUT}: top-1 {int(probs.argmax())}, max logit {logits.max():.4f}")


if __name__ == "__main__":
    main()
