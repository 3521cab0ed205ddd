#!/usr/bin/env python3
"""Hand-made hostile files for tests/corpus/ (each must end in a clean, one-line error):

  tflite/claims_2e40_elements.tflite   tests/fixtures/tflite_mobilenet_v1_int8.tflite with conv1's
                                       kernel shape patched to [1024,1024,1024,1024] (2^40 int8 elements)
  weights_h5/claims_1e12_floats.h5     a gradtrace fashion_cnn whose conv1/weight dataset claims
                                       [1000000,1000000] float32 (never written: the file is a few KB)
  input_h5/claims_1e12_floats.h5       an --image tensor file whose `input` claims [1,1,1000000,1000000]
  keras_h5/claims_huge_kernel.h5       a Keras VGG16 layout whose classifier kernel claims [4096, 10^8]
  image/png_empty_first_idat.png       a 1x1 PNG whose first IDAT chunk is empty: stb_image 2.27 then
                                       offsets a null pointer (UBSan), so gradtrace refuses the shape
  weights_h5/data_outside_file.h5      tests/fixtures/table_mlp_class.h5 with output/weight's data address
                                       moved past the end of the file (the reader reads it itself: pread)
  weights_h5/data_overlaps.h5          the same with output/weight's address moved onto output/bias's

    python3 tests/fixture_gen/make_hostile_files.py        (needs h5py and numpy)
"""
import os
import struct
import zlib

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CORPUS = os.path.join(ROOT, "tests", "corpus")


def table_field(buf, table, field):
    """The position of a flatbuffer table's field (0 when absent)."""
    vt = table - struct.unpack_from("<i", buf, table)[0]
    vt_size = struct.unpack_from("<H", buf, vt)[0]
    slot = 4 + 2 * field
    if slot + 2 > vt_size:
        return 0
    off = struct.unpack_from("<H", buf, vt + slot)[0]
    return table + off if off else 0


def deref(buf, pos):
    return pos + struct.unpack_from("<I", buf, pos)[0]


def tflite_claims_2e40():
    buf = bytearray(open(os.path.join(ROOT, "tests", "fixtures", "tflite_mobilenet_v1_int8.tflite"), "rb").read())
    model = deref(buf, 0)
    subgraph = deref(buf, deref(buf, table_field(buf, model, 2)) + 4)
    tensors = deref(buf, table_field(buf, subgraph, 0))
    for i in range(struct.unpack_from("<I", buf, tensors)[0]):
        t = deref(buf, tensors + 4 + 4 * i)
        shape = deref(buf, table_field(buf, t, 0))
        dims = [struct.unpack_from("<i", buf, shape + 4 + 4 * k)[0] for k in range(struct.unpack_from("<I", buf, shape)[0])]
        if len(dims) == 4 and dims[1:] == [3, 3, 3]:  # conv1's kernel (O, 3, 3, 3)
            struct.pack_into("<4i", buf, shape + 4, 1024, 1024, 1024, 1024)
            break
    else:
        raise SystemExit("conv1's kernel not found")
    open(os.path.join(CORPUS, "tflite", "claims_2e40_elements.tflite"), "wb").write(buf)


def unwritten(f, name, shape):
    """A float32 dataset that claims `shape` and stores nothing (chunked, never written)."""
    f.create_dataset(name, shape=shape, dtype="<f4", chunks=tuple(min(d, 1000) for d in shape))


def weights_claims_1e12():
    with h5py.File(os.path.join(CORPUS, "weights_h5", "claims_1e12_floats.h5"), "w") as f:
        for k, v in dict(gradtrace_format=1.0, input_size=28.0, classes=10.0, alpha=1.0, include_top=1.0,
                         channels=1.0).items():
            f.attrs[k] = v
        for k, v in dict(arch="fashion_cnn", variant="gradtrace", preprocessing="unit", resize="squash",
                         labels="none").items():
            f.attrs[k] = np.bytes_(v)
        unwritten(f, "conv1/weight", (10**6, 10**6))


def input_claims_1e12():
    with h5py.File(os.path.join(CORPUS, "input_h5", "claims_1e12_floats.h5"), "w") as f:
        unwritten(f, "input", (1, 1, 10**6, 10**6))


def keras_claims_huge_kernel():
    with h5py.File(os.path.join(CORPUS, "keras_h5", "claims_huge_kernel.h5"), "w") as f:
        names = ["block%d_conv%d" % (b, i) for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for i in range(1, n + 1)]
        names += ["fc1", "fc2", "predictions"]
        f.attrs["layer_names"] = np.array([np.bytes_(n) for n in names])
        for n in names:
            g = f.create_group(n)
            g.attrs["weight_names"] = np.array([np.bytes_(n + "/kernel:0"), np.bytes_(n + "/bias:0")])
        unwritten(f["predictions"], "predictions/kernel:0", (4096, 10**8))


def png_empty_first_idat():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x80\x80\x80")       # filter byte, one gray pixel
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IDAT", pixels) +
           chunk(b"IEND", b""))
    with open(os.path.join(CORPUS, "image", "png_empty_first_idat.png"), "wb") as f:
        f.write(png)


def patched_address(name, dataset, to):
    """tests/fixtures/table_mlp_class.h5 with `dataset`'s contiguous data address (its layout message)
    replaced by to(file size, the other datasets' offsets)."""
    src = os.path.join(ROOT, "tests", "fixtures", "table_mlp_class.h5")
    with h5py.File(src, "r") as f:
        offsets = {k: f[k].id.get_offset() for k in ("output/weight", "output/bias")}
    buf = bytearray(open(src, "rb").read())
    old = struct.pack("<Q", offsets[dataset])
    assert buf.count(old) == 1, "the address must appear once"
    at = buf.index(old)
    buf[at:at + 8] = struct.pack("<Q", to(len(buf), offsets))
    open(os.path.join(CORPUS, "weights_h5", name), "wb").write(bytes(buf))


def weights_data_outside():
    patched_address("data_outside_file.h5", "output/weight", lambda size, off: size + 4096)


def weights_data_overlaps():
    patched_address("data_overlaps.h5", "output/weight", lambda size, off: off["output/bias"])


if __name__ == "__main__":
    tflite_claims_2e40()
    weights_claims_1e12()
    input_claims_1e12()
    keras_claims_huge_kernel()
    png_empty_first_idat()
    weights_data_outside()
    weights_data_overlaps()
    for d in sorted(os.listdir(CORPUS)):
        for n in sorted(os.listdir(os.path.join(CORPUS, d))):
            print(d + "/" + n, os.path.getsize(os.path.join(CORPUS, d, n)), "bytes")
