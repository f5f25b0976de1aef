#!/usr/bin/python3
"""Writes one small MLP (MatMul, Add, Relu, MatMul, plus a Gather from an
embedding table, so int64 indices and float tables both travel) several
ways, for test/import/external-data.test:
  inline/model.onnx        self-contained: the reference
  onefile/model.onnx       every initializer in onefile/weights.bin at its
                           own offset (as onnx.save(..., all_tensors_to_one_file)
                           writes LLM exports)
  perfile/model.onnx       each initializer in its own file under data/
  bad_<case>/model.onnx    one initializer's reference broken: parent
                           (../w.bin), absolute (/etc/hostname), missing
                           (no such file), short (length past the end),
                           length (a length that disagrees with the dims),
                           symlink (a link inside the folder to a file
                           outside it), nolocation (no 'location' key),
                           huge (dims claiming 4 TB, checked against the
                           file before anything is allocated)
  x.npy                    an input
usage: make_external_data.py OUT_DIR"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

out = sys.argv[1]
rng = np.random.default_rng(7)
w1 = rng.standard_normal((16, 32)).astype(np.float32)
b1 = rng.standard_normal(32).astype(np.float32)
w2 = rng.standard_normal((32, 8)).astype(np.float32)
table = rng.standard_normal((10, 8)).astype(np.float32)
idx = np.array([3, 1, 4, 1], dtype=np.int64)
inits = {"w1": w1, "b1": b1, "w2": w2, "table": table, "idx": idx}


def graph():
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["y0"]),
        helper.make_node("Gather", ["table", "idx"], ["e"]),
        helper.make_node("Add", ["y0", "e"], ["y"]),
    ]
    return helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])


def external(t, location, offset, length):
    """Points tensor t at bytes [offset, offset + length) of location."""
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is None:
            continue
        e = t.external_data.add()
        e.key, e.value = k, str(v)


def write(name, g, files):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for path, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, path)) or d, exist_ok=True)
        with open(os.path.join(d, path), "wb") as f:
            f.write(data)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(d, "model.onnx"))
    return d


def onefile(g, location="weights.bin"):
    """All initializers in one file, each 64-byte aligned after a gap."""
    blob = b""
    for t in g.initializer:
        raw = t.raw_data
        blob += b"\0" * (-len(blob) % 64 + 64)
        external(t, location, len(blob), len(raw))
        blob += raw
    return blob


os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "x.npy"), rng.standard_normal((4, 16)).astype(np.float32))
write("inline", graph(), {})
g = graph()
write("onefile", g, {"weights.bin": onefile(g)})
g = graph()
files = {}
for t in g.initializer:
    files["data/" + t.name + ".bin"] = t.raw_data
    external(t, "data/" + t.name + ".bin", None, None)
write("perfile", g, files)

for case in ("parent", "absolute", "missing", "short", "length", "symlink", "nolocation", "huge"):
    g = graph()
    blob = onefile(g)
    w2t = [t for t in g.initializer if t.name == "w2"][0]
    off = int([e.value for e in w2t.external_data if e.key == "offset"][0])
    n = 32 * 8 * 4
    if case == "parent":
        external(w2t, "../weights.bin", off, n)
    elif case == "absolute":
        external(w2t, "/etc/hostname", 0, n)
    elif case == "missing":
        external(w2t, "nothere.bin", 0, n)
    elif case == "short":
        external(w2t, "weights.bin", len(blob) - 16, n)
    elif case == "length":
        external(w2t, "weights.bin", off, n - 4)
    elif case == "symlink":
        external(w2t, "link.bin", off, n)
    elif case == "nolocation":
        external(w2t, None, off, n)
    elif case == "huge":
        w2t.dims[:] = [1 << 37, 8]
        external(w2t, "weights.bin", off, (1 << 37) * 8 * 4)
    d = write("bad_" + case, g, {"weights.bin": blob})
    if case == "symlink":
        outside = os.path.join(out, "outside.bin")
        with open(outside, "wb") as f:
            f.write(blob)
        os.symlink(os.path.abspath(outside), os.path.join(d, "link.bin"))
