#!/usr/bin/python3
"""Writes small residual-stream models for test/passes/rotate-layouts.test:

  seq_first.onnx  x = E[ids] [1, T, D]; h = LN(x);
                  a = Transpose(Reshape(Transpose(h) [T, 1, D] -> [T, D] @ W1 + c1
                      -> [T, 1, D])) [1, T, D]       (PyTorch's nn.MultiheadAttention
                                                      with batch_first runs [T, B, D])
                  x = x + a; y = LN(x) @ Wh
                  the stream passes transposes that keep the last axis and
                  reshapes that keep it whole: rotated, same function
  raw_head.onnx   the same without the final LN: the head reads the stream
                  itself, which centring a LayerNorm stream would change:
                  refused, naming the head
and ids.npy. usage: make_rotation_layout_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import opset17_model  # noqa: E402

T, D, V, OUT = 6, 16, 10, 5


def build(final_norm):
    rng = np.random.default_rng(3)
    f = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)
    inits = {"E": f(V, D) * 3, "g1": 1 + f(D), "b1": f(D), "g2": 1 + f(D), "b2": f(D), "W1": f(D, D), "c1": f(D),
             "Wh": f(D, OUT), "rows": np.array([T, D], np.int64), "seq": np.array([T, 1, D], np.int64)}
    n = helper.make_node
    nodes = [
        n("Gather", ["E", "ids"], ["x"], axis=0, name="embed"),
        n("LayerNormalization", ["x", "g1", "b1"], ["h"], axis=-1, name="norm1"),
        n("Transpose", ["h"], ["ht"], perm=[1, 0, 2], name="to_seq_first"),
        n("Reshape", ["ht", "rows"], ["h2"], name="rows"),
        n("MatMul", ["h2", "W1"], ["a0"], name="proj"), n("Add", ["a0", "c1"], ["a1"], name="proj_bias"),
        n("Reshape", ["a1", "seq"], ["a2"], name="unrows"),
        n("Transpose", ["a2"], ["a"], perm=[1, 0, 2], name="to_batch_first"),
        n("Add", ["x", "a"], ["x2"], name="residual"),
    ]
    if final_norm:
        nodes += [n("LayerNormalization", ["x2", "g2", "b2"], ["h3"], axis=-1, name="norm_f"),
                  n("MatMul", ["h3", "Wh"], ["y"], name="head")]
    else:
        nodes += [n("MatMul", ["x2", "Wh"], ["y"], name="head")]
    return opset17_model("layouts", nodes, [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, T])],
                         [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T, OUT])], inits)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    onnx.save(build(True), os.path.join(out, "seq_first.onnx"))
    onnx.save(build(False), os.path.join(out, "raw_head.onnx"))
    np.save(os.path.join(out, "ids.npy"), (np.arange(T, dtype=np.int64)[None] * 3) % V)


if __name__ == "__main__":
    main()
