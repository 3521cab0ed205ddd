#!/usr/bin/env python3
"""A full-integer (int8, per-channel) TF Lite MobileNet V1 and its dequantized float reference.

    pip install tensorflow-cpu tf-keras h5py && python3 tests/fixture_gen/make_tflite_int8_fixture.py

Builds the original MobileNet V1 graph (SAME convolutions with ReLU6, batch norm that the converter
folds, average pool, 1x1 classifier conv, softmax) at alpha 0.25, 64x64 input and 10 classes, random
weights and batch-norm statistics, and converts it with full-integer quantization: int8 weights
with one scale per output channel (quantized_dimension 0 for conv, 3 for depthwise), int32 biases
with per-channel scales.

The reference is what gradtrace must compute: the dequantized weights, w = (q - zero_point) * scale
as the interpreter reports them, run in float32 through the same graph (not the interpreter's
integer arithmetic, which also quantizes activations). Writes
    tests/fixtures/tflite_mobilenet_v1_int8.tflite
    tests/fixtures/tflite_mobilenet_v1_int8_ref.h5   input [1,3,64,64], logits [1,10]
"""
import os

import h5py
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "tflite_mobilenet_v1_int8")
SIZE, ALPHA, CLASSES = 64, 0.25, 10
L = tf.keras.layers
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def build(bn):
    """MobileNet V1 as TF-slim wrote it; with bn=False, conv biases instead of batch norm."""
    x = inp = L.Input((SIZE, SIZE, 3), batch_size=1)  # static shapes: no SHAPE ops in the graph

    def norm_relu(x):
        return L.ReLU(6.0)(L.BatchNormalization()(x) if bn else x)

    x = norm_relu(L.Conv2D(int(32 * ALPHA), 3, 2, "same", use_bias=not bn)(x))
    for filters, stride in BLOCKS:
        x = norm_relu(L.DepthwiseConv2D(3, stride, "same", use_bias=not bn)(x))
        x = norm_relu(L.Conv2D(int(filters * ALPHA), 1, 1, "same", use_bias=not bn)(x))
    x = L.AveragePooling2D(SIZE // 32)(x)
    x = L.Conv2D(CLASSES, 1, use_bias=True)(x)
    return tf.keras.Model(inp, L.Softmax()(L.Reshape((CLASSES,))(x)))


def main():
    rng = np.random.default_rng(0)
    model = build(bn=True)
    for layer in model.layers:
        w = layer.get_weights()
        if isinstance(layer, L.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w[0].shape), rng.uniform(-0.2, 0.2, w[1].shape),
                               rng.uniform(-0.2, 0.2, w[2].shape), rng.uniform(0.5, 2.0, w[3].shape)])
        elif w:
            layer.set_weights([rng.uniform(-0.5, 0.5, v.shape) for v in w])
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, SIZE, SIZE, 3)).astype(np.float32)]
                                           for _ in range(32))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    blob = conv.convert()
    with open(OUT + ".tflite", "wb") as f:
        f.write(blob)

    # The dequantized constants, in graph order of the convolutions, from the interpreter itself.
    it = Interpreter(model_content=blob)
    it.allocate_tensors()
    details = {d["index"]: d for d in it.get_tensor_details()}
    ops = [op for op in it._get_ops_details() if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]

    def dequant(index):
        d, q = details[index], it.get_tensor(index).astype(np.float64)
        p = d["quantization_parameters"]
        if len(p["scales"]) == 0:
            return q.astype(np.float32)
        shape = [1] * q.ndim
        if len(p["scales"]) > 1:
            shape[p["quantized_dimension"]] = -1
        return ((q - p["zero_points"].reshape(shape)) * p["scales"].reshape(shape)).astype(np.float32)

    per_channel = [len(details[op["inputs"][1]]["quantization_parameters"]["scales"]) > 1 for op in ops]
    assert all(per_channel), "expected per-channel weight scales on every convolution"
    ref = build(bn=False)
    convs = [l for l in ref.layers if isinstance(l, (L.Conv2D, L.DepthwiseConv2D))]
    assert len(convs) == len(ops) == 28
    for layer, op in zip(convs, ops):
        w, b = dequant(op["inputs"][1]), dequant(op["inputs"][2])
        # TF Lite: conv OHWI -> Keras HWIO; depthwise [1, kh, kw, C] -> Keras [kh, kw, C, 1]
        w = w.transpose(1, 2, 3, 0) if op["op_name"] == "CONV_2D" else w[0][..., None]
        layer.set_weights([w, b])
    x = rng.uniform(-1, 1, (1, SIZE, SIZE, 3)).astype(np.float32)
    logits_model = tf.keras.Model(ref.input, ref.layers[-2].output)
    logits = logits_model(x).numpy()
    with h5py.File(OUT + "_ref.h5", "w") as f:
        f["input"] = x.transpose(0, 3, 1, 2)
        f["logits"] = logits.astype(np.float32)
    print("wrote", OUT + ".tflite", "and", OUT + "_ref.h5", "logits", logits.round(3))


if __name__ == "__main__":
    main()
