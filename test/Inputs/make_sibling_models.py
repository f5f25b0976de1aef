#!/usr/bin/python3
"""Writes siblings.onnx, an input and calibration samples for
test/passes/group-siblings.test: matmuls that read the same activations,
x [1, T, D], in the order an exporter leaves them (each projection's
reader right after it):
  qkv      h = LayerNorm(x); q = h @ wq; relu(q); k = h @ wk; sigmoid(k);
           v = h @ wv: three siblings, ops between them (grouped)
  glu      h2 = LayerNorm(x); silu(h2 @ wg) * (h2 @ wu): a gated MLP's
           pair (grouped)
  late     r = h2 @ w1; s = 0.5 r; y_late = h2 @ w2 + s: the second reads
           a value computed from the first (stays apart, says why)
  res      t = tanh(x) early; h3 = LayerNorm(y_late); y_res = h3 @ wa + t,
           y_res2 = sigmoid(h3 @ wb): t's last reader is the first member, so on
           one thread y_res2 could take t's memory; grouped (the members
           run at once) t must live until the group ends
usage: make_sibling_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import opset17_model  # noqa: E402

T, D = 48, 64


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    rng = np.random.default_rng(11)
    inits = {n: (rng.standard_normal((D, D)) * 0.2).astype(np.float32)
             for n in ("wq", "wk", "wv", "wg", "wu", "w1", "w2", "wa", "wb")}
    inits["half"] = np.array(0.5, np.float32)
    inits["gamma"] = (1 + 0.1 * rng.standard_normal(D)).astype(np.float32)
    inits["beta"] = (0.1 * rng.standard_normal(D)).astype(np.float32)

    def node(op, ins, name, **kw):
        return helper.make_node(op, ins, [name], name=name, **kw)

    nodes = [
        node("Tanh", ["x"], "t"),
        node("LayerNormalization", ["x", "gamma", "beta"], "h", axis=-1),
        node("MatMul", ["h", "wq"], "q"), node("Relu", ["q"], "y_q"),
        node("MatMul", ["h", "wk"], "k"), node("Sigmoid", ["k"], "y_k"),
        node("MatMul", ["h", "wv"], "y_v"),
        node("LayerNormalization", ["y_v", "gamma", "beta"], "h2", axis=-1),
        node("MatMul", ["h2", "wg"], "g"), node("Sigmoid", ["g"], "g_sig"), node("Mul", ["g", "g_sig"], "g_silu"),
        node("MatMul", ["h2", "wu"], "u"), node("Mul", ["g_silu", "u"], "y_glu"),
        node("MatMul", ["h2", "w1"], "r"), node("Mul", ["r", "half"], "s"),
        node("MatMul", ["h2", "w2"], "late_mm"), node("Add", ["late_mm", "s"], "y_late"),
        node("LayerNormalization", ["y_late", "gamma", "beta"], "h3", axis=-1),
        node("MatMul", ["h3", "wa"], "ya"), node("Add", ["ya", "t"], "y_res"),
        node("MatMul", ["h3", "wb"], "res2"), node("Sigmoid", ["res2"], "y_res2"),
    ]
    outs = ["y_q", "y_k", "y_v", "y_glu", "y_late", "y_res", "y_res2"]
    model = opset17_model("siblings", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, T, D]) for n in outs], inits)
    onnx.save(model, os.path.join(out, "siblings.onnx"))
    np.save(os.path.join(out, "x.npy"), rng.standard_normal((1, T, D)).astype(np.float32))
    np.save(os.path.join(out, "calib", "x.npy"), rng.standard_normal((8, 1, T, D)).astype(np.float32))


if __name__ == "__main__":
    main()
