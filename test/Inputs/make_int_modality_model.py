#!/usr/bin/python3
"""Writes examples/mm_lm with an integer modality input (mod int64 [1, 48],
cast to float inside the graph) and int64 copies of its calibration and
first test modalities, for test/passes/reorder-tokens.test and msq.test:
--aifs takes integer or float modality inputs.  Its attention mask is a
sliding window (token a sees b iff a - 40 < b <= a), not causal, so --aifs
permutes it by gathers along both axes (a causal mask is built from a
compare instead; both must keep the function).  DTYPE bool writes an
is-image mask instead (mod bool; AIFS sorts a float copy of it); column
a float mask shaped [1, 48, 1] (reshaped to [1, 48] inside the graph).
usage: make_int_modality_model.py MM_LM_DIR OUT_DIR [int64|bool|column]"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    src, out = sys.argv[1:3]
    dtype = sys.argv[3] if len(sys.argv) > 3 else "int64"
    onnx_type, np_type = {"int64": (TensorProto.INT64, np.int64), "bool": (TensorProto.BOOL, np.bool_),
                          "column": (TensorProto.FLOAT, np.float32)}[dtype]
    shape = (lambda a: a[..., None]) if dtype == "column" else (lambda a: a)
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    m = onnx.load(os.path.join(src, "model.onnx"))
    g = m.graph
    next(i for i in g.input if i.name == "mod").type.tensor_type.elem_type = onnx_type
    for n in g.node:
        for k, x in enumerate(n.input):
            if x == "mod":
                n.input[k] = "mod_f"
    if dtype == "column":
        dims = next(i for i in g.input if i.name == "mod").type.tensor_type.shape.dim
        dims.add().dim_value = 1
        g.initializer.append(numpy_helper.from_array(np.array([1, -1], np.int64), "mod_rows"))
        g.node.insert(0, helper.make_node("Reshape", ["mod", "mod_rows"], ["mod_f"], name="mod_reshape"))
    else:
        g.node.insert(0, helper.make_node("Cast", ["mod"], ["mod_f"], to=TensorProto.FLOAT, name="mod_cast"))
    k = next(k for k, t in enumerate(g.initializer) if t.name == "mask")
    mask = numpy_helper.to_array(g.initializer[k]).copy()
    a, b = np.indices(mask.shape)
    mask[a - b >= 40] = mask[0, 1]
    g.initializer[k].CopyFrom(numpy_helper.from_array(mask, "mask"))
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "model.onnx"))
    for n in ("ids", "pix"):
        np.save(os.path.join(out, "calib", f"{n}.npy"), np.load(os.path.join(src, "calib", f"{n}.npy")))
    np.save(os.path.join(out, "calib", "mod.npy"), shape(np.load(os.path.join(src, "calib", "mod.npy")).astype(np_type)))
    np.save(os.path.join(out, "mod0.npy"), shape(np.load(os.path.join(src, "input_0_mod.npy")).astype(np_type)))


if __name__ == "__main__":
    main()
