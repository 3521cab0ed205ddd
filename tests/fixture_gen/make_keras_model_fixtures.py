#!/usr/bin/env python3
"""Keras model files of a student's kind (tensorflow-cpu + tf-keras from PyPI), for the tests that run
without TensorFlow:

  tests/fixtures/keras_student_cnn.h5     tf-keras model.save('m.h5'): Rescaling(1/255), Conv2D(relu)
                                          -> BatchNorm -> MaxPool, Conv2D -> BatchNorm -> ReLU -> MaxPool,
                                          Dropout, Flatten, Dense(relu), Dense(10, softmax); trained one
                                          epoch on Fashion-MNIST (Debian's dataset-fashion-mnist)
  tests/fixtures/keras_student_cnn.keras  the same model, model.save('m.keras')
  tests/fixtures/keras_student_cnn_ref.h5 for Fashion-MNIST test images 0..3 (input [4,1,28,28], 0..255):
                                          logits (the last Dense before its softmax), the saliency
                                          d logit[top] / d input from tf.GradientTape, and Grad-CAM at
                                          the last conv block ('re_lu', 7x7... before pooling: 14x14)
                                          by the Keras tutorial's recipe (grad model, pooled gradients,
                                          ReLU, divided by the maximum), all in float64 (the float32
                                          weights run in a float64 clone)

    python3 tests/fixture_gen/make_keras_model_fixtures.py
"""
import gzip
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures")
MNIST = "/usr/share/datasets/fashion-mnist"
CAM_LAYER = "re_lu"


def idx(name, offset):
    with gzip.open(os.path.join(MNIST, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def student_cnn(dtype="float32"):
    L = keras.layers
    inp = keras.Input((28, 28, 1), dtype=dtype)
    if dtype == "float32":
        h = L.Rescaling(1 / 255.0, dtype=dtype)(inp)
    else:  # tf-keras' Rescaling casts its scale through float32 even in float64 (6e-8 off): exact here
        h = L.Lambda(lambda t: t * np.float64(1 / 255.0), dtype=dtype, name="rescaling")(inp)
    h = L.Conv2D(16, 3, padding="same", activation="relu", dtype=dtype)(h)
    h = L.BatchNormalization(dtype=dtype)(h)
    h = L.MaxPooling2D(dtype=dtype)(h)
    h = L.Conv2D(16, 3, padding="same", dtype=dtype)(h)
    h = L.BatchNormalization(dtype=dtype)(h)
    h = L.ReLU(dtype=dtype, name=CAM_LAYER)(h)
    h = L.MaxPooling2D(dtype=dtype)(h)
    h = L.Dropout(0.25, dtype=dtype)(h)
    h = L.Flatten(dtype=dtype)(h)
    h = L.Dense(32, activation="relu", dtype=dtype)(h)
    out = L.Dense(10, activation="softmax", dtype=dtype, name="predictions")(h)
    return keras.Model(inp, out)


def references(m32, x):
    """Logits, saliency and Grad-CAM in float64 from a float64 clone whose last activation is linear."""
    m = student_cnn("float64")
    m.set_weights([w.astype(np.float64) for w in m32.get_weights()])
    m.get_layer("predictions").activation = None  # explain the logit, as the Keras Grad-CAM tutorial does
    grad_model = keras.Model(m.inputs, [m.get_layer(CAM_LAYER).output, m.output])
    xs = tf.constant(x, tf.float64)
    logits = m(xs).numpy()
    top = logits.argmax(1)
    with tf.GradientTape() as tape:
        tape.watch(xs)
        y = tf.gather(m(xs), top, axis=1, batch_dims=1)
    saliency = tape.gradient(y, xs).numpy()
    cams = []
    for i in range(len(x)):
        with tf.GradientTape() as tape:
            conv, preds = grad_model(xs[i:i + 1])
            cls = preds[:, top[i]]
        grads = tape.gradient(cls, conv)
        pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
        cam = tf.squeeze(conv[0] @ pooled[..., tf.newaxis])
        cams.append((tf.maximum(cam, 0) / tf.math.reduce_max(cam)).numpy())
    return logits, top, saliency, np.stack(cams)


def main():
    keras.utils.set_random_seed(0)
    x_train = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1).astype(np.float32)
    y_train = idx("train-labels-idx1-ubyte.gz", 8)
    x_test = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1).astype(np.float32)[:4]
    m = student_cnn()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x_train, y_train, epochs=1, batch_size=128, verbose=2)
    m.save(os.path.join(FIX, "keras_student_cnn.h5"))
    m.save(os.path.join(FIX, "keras_student_cnn.keras"))
    logits, top, saliency, cams = references(m, x_test.astype(np.float64))
    with h5py.File(os.path.join(FIX, "keras_student_cnn_ref.h5"), "w") as f:
        f["input"] = x_test.transpose(0, 3, 1, 2).astype(np.float64)  # NCHW, as gradtrace reads it
        f["logits"], f["top"] = logits, top
        f["saliency"] = saliency.transpose(0, 3, 1, 2)
        f["gradcam"] = cams
        f.attrs["layer"] = CAM_LAYER
    print("top classes", top, "logits[0]", logits[0])


if __name__ == "__main__":
    main()
