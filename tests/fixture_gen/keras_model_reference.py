#!/usr/bin/env python3
"""The transfer-learning layout as Keras users save it (PyPI: tensorflow-cpu + tf-keras, and Keras 3):
a MobileNetV2 base (alpha 0.35, 96x96, random weights calibrated as keras_reference.calibrate does)
nested inside a Sequential with a new head (GlobalAveragePooling2D, Dropout, Dense(5)), in float64.

  OUT/nested_tf.h5      tf-keras model.save('m.h5')
  OUT/nested_k3.keras   the same weights in a Keras 3 model, model.save('m.keras')
  OUT/nested_ref.h5     `input` [1,3,96,96], `logits` [1,5], `saliency` d logit[top] / d input
                        (tf.GradientTape), `gradcam` [3,3] at the base's last activation (attr
                        `layer`: out_relu) by the course's TF recipe, made to reach inside the nested
                        base (a grad model over the base, the head applied to its output: tf-keras-vis
                        stops here with "graph disconnected")

    python3 tests/fixture_gen/keras_model_reference.py --out DIR
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_reference import calibrate  # noqa: E402

LAYER, SIZE, CLASSES = "out_relu", 96, 5


def nested(k):
    base = k.applications.MobileNetV2(input_shape=(SIZE, SIZE, 3), alpha=0.35, include_top=False, weights=None)
    head = [k.layers.GlobalAveragePooling2D(), k.layers.Dropout(0.2), k.layers.Dense(CLASSES, name="head")]
    return k.Sequential([k.Input((SIZE, SIZE, 3)), base] + head), base, head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    keras.backend.set_floatx("float64")
    rng = np.random.default_rng(0)
    m, base, head = nested(keras)
    x = tf.constant(rng.uniform(-1, 1, (1, SIZE, SIZE, 3)))
    calibrate(base, x, rng)
    w = head[2].get_weights()
    head[2].set_weights([w[0] * 8, rng.uniform(-0.1, 0.1, w[1].shape)])
    m.save(os.path.join(a.out, "nested_tf.h5"))
    import keras as keras3  # Keras 3, the same weights

    keras3.config.set_floatx("float64")
    m3, _, _ = nested(keras3)
    m3.set_weights(m.get_weights())
    m3.save(os.path.join(a.out, "nested_k3.keras"))

    logits = m(x).numpy()
    top = int(logits.argmax())
    with tf.GradientTape() as tape:
        tape.watch(x)
        s = m(x)[0, top]
    saliency = tape.gradient(s, x).numpy()
    grad_model = keras.Model(base.inputs, [base.get_layer(LAYER).output, base.output])
    with tf.GradientTape() as tape:
        conv, features = grad_model(x)
        h = features
        for layer in head:
            h = layer(h, training=False)
        cls = h[:, top]
    grads = tape.gradient(cls, conv)
    pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
    cam = tf.squeeze(conv[0] @ pooled[..., tf.newaxis])
    cam = (tf.maximum(cam, 0) / tf.math.reduce_max(cam)).numpy()
    with h5py.File(os.path.join(a.out, "nested_ref.h5"), "w") as f:
        f["input"] = np.transpose(x.numpy(), (0, 3, 1, 2))
        f["logits"], f["saliency"], f["gradcam"] = logits, np.transpose(saliency, (0, 3, 1, 2)), cam
        f.attrs["target"], f.attrs["layer"] = top, LAYER
    print(f"nested MobileNetV2: logits {logits[0]}, top {top}, Grad-CAM max {cam.max()}", flush=True)


if __name__ == "__main__":
    main()
