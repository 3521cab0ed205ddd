#!/usr/bin/env python3
"""The course's own TF recipes as a second reference (tf-keras on PyPI), on the narrow Keras VGG16
fixture (tests/fixtures/keras_vgg16_narrow_nested.h5, made by tests/fixture_gen/make_keras_fixtures.py).

    pip install tensorflow-cpu tf-keras h5py && python3 tests/fixture_gen/make_course_fixtures.py

The recipes, as the course writes them with tf.GradientTape:
  saliency  grads = d model(x)[0, c] / d x;  map = max over channels of |grads|
  IG        alphas = linspace(0, 1, m_steps + 1); path x' + alphas (x - x'); grads at every point;
            trapezoid: (grads[:-1] + grads[1:]) / 2, averaged over the m_steps intervals;
            attribution = (x - x') * that average
The model outputs logits here (classifier activation None), as gradtrace explains logits; the
course's Keras models end in a softmax, which changes the function explained, not the recipe.
Writes tests/fixtures/course_vgg16.h5: input [1,3,64,64] (NCHW), target, saliency_map [64,64],
baseline [1,3,64,64], ig_<m> [1,3,64,64] for m_steps = 4 and 20.

The baseline is small noise, not the course's constant black image: at a constant input every 2x2
max-pool window is a tie, and TF (oneDNN) and gradtrace send the gradient of a tie to different
elements of the window (gradtrace, like PyTorch, to the first). Both are valid subgradients; the
fixture compares the recipe, not the tie rule.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
WIDTHS, FC, CLASSES, SIZE = [2, 4, 8, 16, 16], 128, 10, 64


def narrow_vgg16():
    L = keras.layers
    x = inp = L.Input((SIZE, SIZE, 3))
    for b, (w, n) in enumerate(zip(WIDTHS, [2, 2, 3, 3, 3])):
        for i in range(n):
            x = L.Conv2D(w, 3, padding="same", activation="relu", name=f"block{b + 1}_conv{i + 1}")(x)
        x = L.MaxPooling2D(2, 2, name=f"block{b + 1}_pool")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(FC, activation="relu", name="fc1")(x)
    x = L.Dense(FC, activation="relu", name="fc2")(x)
    return keras.Model(inp, L.Dense(CLASSES, name="predictions")(x))


def main():
    keras.backend.set_floatx("float64")  # the reference in double precision: no float32 rounding to compare
    model = narrow_vgg16()
    model.load_weights(os.path.join(FIX, "keras_vgg16_narrow_nested.h5"), by_name=True)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.uniform(-60, 60, (1, SIZE, SIZE, 3)).astype(np.float32).astype(np.float64))  # caffe-like range
    target = int(tf.argmax(model(x)[0]))

    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x)[0, target]
    grads = tape.gradient(score, x)
    saliency_map = np.max(np.abs(grads.numpy()), axis=3)[0]

    out = {"input": x.numpy().transpose(0, 3, 1, 2), "saliency_map": saliency_map}
    baseline = tf.constant(rng.uniform(-5, 5, x.shape).astype(np.float32).astype(np.float64))
    out["baseline"] = baseline.numpy().transpose(0, 3, 1, 2)
    for m_steps in (4, 20):
        alphas = tf.cast(tf.linspace(0.0, 1.0, m_steps + 1), tf.float64)[:, None, None, None]
        path = baseline + alphas * (x - baseline)
        with tf.GradientTape() as tape:
            tape.watch(path)
            scores = model(path)[:, target]
        g = tape.gradient(scores, path)
        avg = tf.reduce_mean((g[:-1] + g[1:]) / 2.0, axis=0)
        out[f"ig_{m_steps}"] = ((x - baseline) * avg).numpy().transpose(0, 3, 1, 2)
    with h5py.File(os.path.join(FIX, "course_vgg16.h5"), "w") as f:
        for k, v in out.items():
            f[k] = v.astype(np.float32)
        f.attrs["target"] = target
    print("target", target, "saliency max", saliency_map.max())


if __name__ == "__main__":
    main()
