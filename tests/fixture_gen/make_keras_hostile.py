#!/usr/bin/env python3
"""Hostile Keras model files for tests/corpus/ (each must end in a clean, one-line error), made from
tests/fixtures/keras_student_cnn.keras (python3 standard library only):

  keras_zip/config_zip_bomb.keras       config.json inflates to 200 MB of spaces (over the 64 MB limit)
  keras_zip/weights_claim_oversized.keras  model.weights.h5's header claims 2^40 bytes
  keras_zip/not_a_zip.keras             the first 100 bytes of a PNG signature and garbage
  keras_zip/malformed_json.keras        config.json cut in the middle
  keras_zip/unknown_layer.keras         a layer of class "Frobnicate"
  keras_config/malformed.json           the config cut in the middle
  keras_config/unknown_layer.json       a Sequential with a "Frobnicate" layer
  keras_config/cycle.json               a Functional whose layers read each other

    python3 tests/fixture_gen/make_keras_hostile.py
"""
import io
import json
import os
import struct
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "keras_student_cnn.keras")
CORPUS = os.path.join(ROOT, "tests", "corpus")


def members():
    with zipfile.ZipFile(FIX) as z:
        return {n: z.read(n) for n in z.namelist()}


def write_zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n, b in files.items():
            z.writestr(n, b)


def main():
    zdir, cdir = os.path.join(CORPUS, "keras_zip"), os.path.join(CORPUS, "keras_config")
    os.makedirs(zdir, exist_ok=True), os.makedirs(cdir, exist_ok=True)
    m = members()
    config = json.loads(m["config.json"])
    tiny = {"model.weights.h5": b"\0" * 64}  # where the error comes before the weights are read
    write_zip(os.path.join(zdir, "config_zip_bomb.keras"), dict(tiny, **{"config.json": b" " * (200 << 20)}))
    # a stored (uncompressed) member whose local and central headers claim 2^40 bytes
    buf = io.BytesIO()
    write_zip(buf, {"config.json": m["config.json"], "model.weights.h5": b"\0" * 64})
    data = bytearray(buf.getvalue())
    for sig, off in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        i = 0
        while (i := data.find(sig, i)) >= 0:
            name_at = i + (46 if sig == b"PK\x01\x02" else 30)
            if data[name_at:name_at + 16] == b"model.weights.h5":
                struct.pack_into("<I", data, i + off, 0xFFFFFFFF)
            i += 4
    open(os.path.join(zdir, "weights_claim_oversized.keras"), "wb").write(bytes(data))
    open(os.path.join(zdir, "not_a_zip.keras"), "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(range(92)))
    write_zip(os.path.join(zdir, "malformed_json.keras"), dict(m, **{"config.json": m["config.json"][:300]}))
    # (the weights are kept: load() reads them before it parses the config)
    bad = json.loads(m["config.json"])
    bad["config"]["layers"][2]["class_name"] = "Frobnicate"
    write_zip(os.path.join(zdir, "unknown_layer.keras"), dict(m, **{"config.json": json.dumps(bad).encode()}))
    open(os.path.join(cdir, "malformed.json"), "wb").write(m["config.json"][:300])
    seq = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 3], "name": "in"}},
        {"class_name": "Frobnicate", "config": {"name": "f"}}]}}
    open(os.path.join(cdir, "unknown_layer.json"), "w").write(json.dumps(seq))
    cyc = json.loads(m["config.json"])
    layers = cyc["config"]["layers"]
    layers[1]["inbound_nodes"] = [[[layers[2]["name"], 0, 0, {}]]]  # (tf-keras writes .keras configs so too)
    open(os.path.join(cdir, "cycle.json"), "w").write(json.dumps(cyc))
    print("wrote", zdir, cdir, "config keys", list(config))


if __name__ == "__main__":
    main()
