#!/usr/bin/env python3
"""Reference values from Keras itself (PyPI: tensorflow-cpu + tf-keras) for the Keras .h5 importer.

For each architecture: build keras.applications.<Model>(weights=None) with random weights, calibrated
on the input so that every layer carries a signal (see calibrate()), write its weights with save_weights() (the legacy .h5 layout of the real
ImageNet files), and record, for one random input: `input` [1,3,H,W] (already preprocessed),
`logits` [1,K] (the classifier before its softmax) and `grad` [1,3,H,W] = d logits[0, target] / d input
(tf.GradientTape). Everything is float64 (keras floatx), so that the comparison is exact: in float32,
deep ReLU networks amplify last-bit differences into flipped ReLU masks, and TF and PyTorch then disagree
with each other by percents on the input gradient. Files: OUT/<arch>_weights.h5 and OUT/<arch>_ref.h5 (a name ending in .weights.h5 would select Keras 3's new layout).

    python3 tests/fixture_gen/keras_reference.py --out DIR [--archs vgg16,mobilenet_v1] [--size N]
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

BUILD = {
    "vgg16": lambda s: keras.applications.VGG16(weights=None, input_shape=(s, s, 3)),
    "vgg19": lambda s: keras.applications.VGG19(weights=None, input_shape=(s, s, 3)),
    "mobilenet_v1": lambda s: keras.applications.MobileNet(weights=None, input_shape=(s, s, 3)),
    "resnet50": lambda s: keras.applications.ResNet50(weights=None, input_shape=(s, s, 3)),
    "inception_v3": lambda s: keras.applications.InceptionV3(weights=None, input_shape=(s, s, 3)),
    "mobilenet_v2": lambda s: keras.applications.MobileNetV2(weights=None, input_shape=(s, s, 3)),
}
SIZE = {"inception_v3": 299}
TARGET = 281


def calibrate(m, x, rng):
    """Random weights as Keras initialises them make the signal vanish or saturate ReLU6 within a few
    layers, and a comparison of near-zero gradients proves nothing. So, layer by layer in order, each
    kernel is rescaled to give unit-variance outputs on x (biases random), and each batch norm gets
    random statistics close to its real input's (mean, variance) and random gamma, beta. One forward
    pass: each layer runs eagerly on its inputs' values (kept by the symbolic tensor that carries them),
    so that it is calibrated on what the calibrated layers before it produce."""
    values = {}
    for layer in m.layers:
        if isinstance(layer, keras.layers.InputLayer):
            values[id(layer.output)] = x
            continue
        inp = [values[id(t)] for t in layer.input] if isinstance(layer.input, list) else values[id(layer.input)]
        w = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            h = inp.numpy()
            axes = tuple(range(h.ndim - 1))
            mu, var = h.mean(axes), h.var(axes)
            c = mu.shape
            new = [rng.uniform(0.5, 1.5, c)] if layer.scale else []  # Inception's BN has no gamma
            new += [rng.uniform(-0.2, 0.2, c)] if layer.center else []
            layer.set_weights(new + [mu + rng.uniform(-0.1, 0.1, c) * np.sqrt(var), var * rng.uniform(0.8, 1.25, c)])
        elif w and w[0].ndim in (2, 4):
            act, layer.activation = layer.activation, keras.activations.linear
            out = layer(inp).numpy()
            layer.activation = act
            w[0] = w[0] / max(float(out.std()), 1e-6)
            if len(w) > 1:
                w[1] = rng.uniform(-0.1, 0.1, w[1].shape)
            layer.set_weights(w)
        values[id(layer.output)] = layer(inp, training=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--archs", default="vgg16,vgg19,resnet50,inception_v3,mobilenet_v1,mobilenet_v2")
    ap.add_argument("--size", type=int, default=0, help="input size (default: the architecture's)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    keras.backend.set_floatx("float64")
    rng = np.random.default_rng(0)
    for arch in a.archs.split(","):
        size = a.size or SIZE.get(arch, 224)
        m = BUILD[arch](size)
        m.layers[-1].activation = keras.activations.linear  # logits instead of probabilities
        x = tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float64))
        calibrate(m, x, rng)
        m.save_weights(os.path.join(a.out, f"{arch}_weights.h5"))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reshape(m(x), (1, -1))
            s = y[0, TARGET]
        g = tape.gradient(s, x).numpy()
        with h5py.File(os.path.join(a.out, f"{arch}_ref.h5"), "w") as f:
            f["input"] = np.transpose(x.numpy(), (0, 3, 1, 2))
            f["logits"] = y.numpy()
            f["grad"] = np.transpose(g, (0, 3, 1, 2))
            f.attrs["target"] = TARGET
        print(f"{arch}: {size}x{size}, logits[0:3] {y.numpy()[0, :3]}", flush=True)


if __name__ == "__main__":
    main()
