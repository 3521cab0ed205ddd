#!/usr/bin/env python3
"""TF Lite graphs written by the TF Lite converter (tensorflow-cpu from PyPI) from keras.applications
models with random weights, and their references:

  OUT/mobilenet_v2.tflite        MobileNetV2 (alpha 0.35, 96x96, 10 classes), float
  OUT/mobilenet_v3.tflite        MobileNetV3Small (96x96, 10 classes, its Rescaling inside), float
  OUT/inception_v3.tflite        InceptionV3 (75x75, 10 classes), float
  OUT/mobilenet_v2_uint8.tflite  the MobileNetV2, full-integer quantized, uint8 input and output
  OUT/<name>_ref.h5              `pixels` [1,3,H,W] (0..255 as gradtrace reads a picture), `input`
                                 [1,3,H,W] (what the float graph gets), `logits` [1,10]: for the float
                                 graphs the TF Lite interpreter's tensor before the final softmax; for
                                 the quantized one a float64 run of the same graph on its dequantized
                                 constants, (q - zero point) x scale, by TensorFlow ops (this script's
                                 float_reference), which is what gradtrace's dequantized graph computes

    python3 tests/fixture_gen/tflite_model_reference.py --out DIR [--models mobilenet_v2,mobilenet_v3,inception_v3]
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from keras_reference import calibrate  # noqa: E402
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

try:  # the interpreter's new home (PyPI: ai-edge-litert); TensorFlow's own is deprecated
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    try:
        Interpreter = tf.lite.Interpreter
    except AttributeError:
        print("skipped: no TF Lite interpreter (pip install ai-edge-litert)")
        raise SystemExit(77)

OPS = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def convert(m, quantize=False):
    c = tf.lite.TFLiteConverter.from_keras_model(m)
    if quantize:
        size = m.input_shape[1]
        rng = np.random.default_rng(1)
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)] for _ in range(8))
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        c.inference_input_type = c.inference_output_type = tf.uint8
    return c.convert()


def dequantized(interp, detail):
    v = interp.get_tensor(detail["index"]).astype(np.float64)
    q = detail["quantization_parameters"]
    if len(q["scales"]) == 0 or detail["dtype"] == np.float32:
        return v
    shape = [1] * v.ndim
    if len(q["scales"]) > 1:
        shape[q["quantized_dimension"]] = -1
    return (v - q["zero_points"].reshape(shape)) * q["scales"].astype(np.float64).reshape(shape)


def activation(y, a):
    return {0: y, 1: tf.nn.relu(y), 2: tf.clip_by_value(y, -1.0, 1.0), 3: tf.clip_by_value(y, 0.0, 6.0)}[a]


def float_reference(buf, x):
    """The graph in float64 on dequantized constants, up to the input of its final softmax."""
    interp = Interpreter(model_content=buf)
    details = {d["index"]: d for d in interp.get_tensor_details()}
    g = schema.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    model = schema.Model.GetRootAsModel(buf, 0)
    vals = {g.Inputs(0): tf.constant(x)}

    def val(i):
        return vals[i] if i in vals else tf.constant(dequantized(interp, details[i]))

    for k in range(g.OperatorsLength()):
        op = g.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = OPS[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        out = op.Outputs(0)
        o = op.BuiltinOptions()
        if name in ("QUANTIZE", "DEQUANTIZE"):
            vals[out] = val(ins[0])
        elif name == "SOFTMAX":
            return vals[ins[0]].numpy()
        elif name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            opt = (schema.Conv2DOptions if name == "CONV_2D" else schema.DepthwiseConv2DOptions)()
            opt.Init(o.Bytes, o.Pos)
            w, b = val(ins[1]), (val(ins[2]) if len(ins) > 2 and ins[2] >= 0 else 0.0)
            pad = "SAME" if opt.Padding() == 0 else "VALID"
            strides = [1, opt.StrideH(), opt.StrideW(), 1]
            if name == "CONV_2D":
                y = tf.nn.conv2d(val(ins[0]), tf.transpose(w, (1, 2, 3, 0)), strides, pad)
            else:
                c = int(val(ins[0]).shape[3])
                y = tf.nn.depthwise_conv2d(val(ins[0]), tf.reshape(w, (w.shape[1], w.shape[2], c, -1)), strides, pad)
            vals[out] = activation(y + b, opt.FusedActivationFunction())
        elif name == "ADD":
            opt = schema.AddOptions()
            opt.Init(o.Bytes, o.Pos)
            vals[out] = activation(val(ins[0]) + val(ins[1]), opt.FusedActivationFunction())
        elif name == "MEAN":
            opt = schema.ReducerOptions()
            opt.Init(o.Bytes, o.Pos)
            vals[out] = tf.reduce_mean(val(ins[0]), axis=list(val(ins[1]).numpy().astype(int)), keepdims=bool(opt.KeepDims()))
        elif name == "FULLY_CONNECTED":
            opt = schema.FullyConnectedOptions()
            opt.Init(o.Bytes, o.Pos)
            w = val(ins[1])
            y = tf.reshape(val(ins[0]), (-1, w.shape[1])) @ tf.transpose(w)
            y = y + val(ins[2]) if len(ins) > 2 and ins[2] >= 0 else y
            vals[out] = activation(y, opt.FusedActivationFunction())
        else:
            raise SystemExit(f"float_reference: no rule for {name}")
    raise SystemExit("float_reference: no final softmax")


def interpreter_logits(buf, x):
    """The float interpreter's tensor that enters the final softmax."""
    interp = Interpreter(model_content=buf, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x.astype(np.float32))
    interp.invoke()
    softmax = [op for op in interp._get_ops_details() if op["op_name"] == "SOFTMAX"][-1]
    return interp.get_tensor(softmax["inputs"][0]).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default="mobilenet_v2,mobilenet_v3,inception_v3")
    a = ap.parse_args()
    keras.utils.set_random_seed(0)
    build = {
        "mobilenet_v2": lambda: keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10),
        "mobilenet_v3": lambda: keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), weights=None, classes=10),
        "inception_v3": lambda: keras.applications.InceptionV3(input_shape=(75, 75, 3), weights=None, classes=10),
    }
    models = {n: build[n]() for n in a.models.split(",")}
    rng = np.random.default_rng(0)
    if "mobilenet_v2" in models:  # every layer carries a signal (keras_reference.calibrate; V3's op layers do
        calibrate(models["mobilenet_v2"], tf.constant(rng.uniform(-1, 1, (1, 96, 96, 3)).astype(np.float32)), rng)
        models["mobilenet_v2_uint8"] = models["mobilenet_v2"]  # not run one by one, Inception's signal holds)
    for name, m in models.items():
        quant = name.endswith("uint8")
        buf = convert(m, quant)
        open(os.path.join(a.out, name + ".tflite"), "wb").write(buf)
        size = m.input_shape[1]
        pixels = rng.integers(0, 256, (1, size, size, 3)).astype(np.float64)
        if quant:  # the uint8 input dequantized: (q - zero point) scale
            scale, zp = Interpreter(model_content=buf).get_input_details()[0]["quantization"]
            x = (pixels - zp) * scale
            logits = float_reference(buf, x)
        else:
            x = pixels if name == "mobilenet_v3" else pixels / 127.5 - 1  # V3 rescales inside; the others take -1..1
            logits = interpreter_logits(buf, x)
        with h5py.File(os.path.join(a.out, name + "_ref.h5"), "w") as f:
            f["pixels"] = pixels.transpose(0, 3, 1, 2)
            f["input"] = x.transpose(0, 3, 1, 2)
            f["logits"] = logits.reshape(1, -1)
        print(f"{name}: {len(buf)} bytes, logits[0:3] {logits.reshape(-1)[:3]}", flush=True)


if __name__ == "__main__":
    main()
