#!/usr/bin/python3
"""Writes outq.onnx and its calibration samples for
test/passes/fuse-output-quantize.test: the same attention block twice, with
the same weights, on the same input x [1, T, D]:
  fused    LayerNormalization -> q, k, v projections; softmax((q k^T + causal
           mask) / 4) -> @ v -> out projection (y); beside it a gated MLP
           on the norm, (Sigmoid(norm @ wg) * (norm @ wu)) @ wd (z); each
           norm, softmax and product read only by the next (quantized)
           matmul
  unfused  the same, its norm, softmax and product also model outputs (two
           readers: they keep their float outputs)
and, on the same x, a softmax over 4100 scores (x @ w_wide [D, 4100], then
@ w_back [4100, D]): rows past the fused kernel's 4096 keep a float output.
Outputs y_fused and y_unfused (z_fused and z_unfused) must be equal bit for
bit.
  outq.onnx     inputs x [1, T, D]
  calib/x.npy   24 stacked samples; x0.npy one input
usage: make_output_quant_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T, D, WIDE = 16, 32, 4100


def const(name, a):
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


def block(v, rng_seed):
    """Nodes and initializers of one attention block named by variant v."""
    rng = np.random.default_rng(rng_seed)
    w = {n: const(f"{v}_{n}", rng.standard_normal((D, D)) * 0.3) for n in ("wq", "wk", "wv", "wo", "wg", "wu", "wd")}
    inits = list(w.values()) + [const(f"{v}_ln_g", np.linspace(0.6, 1.4, D)),
                                const(f"{v}_ln_b", np.linspace(-0.3, 0.2, D)),
                                const(f"{v}_mask", np.triu(np.full((T, T), -1e9, np.float32), 1)),
                                const(f"{v}_four", 4.0)]
    n = lambda op, ins, outs, **kw: helper.make_node(op, ins, outs, name=f"{v}_{outs[0].split('_', 1)[1]}", **kw)
    nodes = [n("LayerNormalization", ["x", f"{v}_ln_g", f"{v}_ln_b"], [f"{v}_norm"], axis=-1),
             n("MatMul", [f"{v}_norm", f"{v}_wq"], [f"{v}_q"]),
             n("MatMul", [f"{v}_norm", f"{v}_wk"], [f"{v}_k"]),
             n("MatMul", [f"{v}_norm", f"{v}_wv"], [f"{v}_v"]),
             n("Transpose", [f"{v}_k"], [f"{v}_kt"], perm=[0, 2, 1]),
             n("MatMul", [f"{v}_q", f"{v}_kt"], [f"{v}_scores"]),
             n("Add", [f"{v}_scores", f"{v}_mask"], [f"{v}_masked"]),
             n("Div", [f"{v}_masked", f"{v}_four"], [f"{v}_logits"]),
             n("Softmax", [f"{v}_logits"], [f"{v}_softmax"], axis=-1),
             n("MatMul", [f"{v}_softmax", f"{v}_v"], [f"{v}_mix"]),
             n("MatMul", [f"{v}_mix", f"{v}_wo"], [f"y_{v}"]),
             n("MatMul", [f"{v}_norm", f"{v}_wg"], [f"{v}_gate"]),
             n("Sigmoid", [f"{v}_gate"], [f"{v}_act"]),
             n("MatMul", [f"{v}_norm", f"{v}_wu"], [f"{v}_up"]),
             n("Mul", [f"{v}_act", f"{v}_up"], [f"{v}_glu"]),
             n("MatMul", [f"{v}_glu", f"{v}_wd"], [f"z_{v}"])]
    nodes[-7].name = f"{v}_out_proj"
    nodes[-1].name = f"{v}_down"
    return nodes, inits


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    nodes, inits = [], []
    for v in ("fused", "unfused"):
        nn, ii = block(v, 3)
        nodes += nn
        inits += ii
    rng = np.random.default_rng(5)
    inits += [const("w_wide", rng.standard_normal((D, WIDE)) * 0.3), const("w_back", rng.standard_normal((WIDE, D)))]
    nodes += [helper.make_node("MatMul", ["x", "w_wide"], ["wide_scores"], name="wide_scores"),
              helper.make_node("Softmax", ["wide_scores"], ["wide_softmax"], axis=-1, name="wide_softmax"),
              helper.make_node("MatMul", ["wide_softmax", "w_back"], ["y_wide"], name="wide_back")]
    f = TensorProto.FLOAT
    outputs = [helper.make_tensor_value_info(n, f, [1, T, D])
               for n in ("y_fused", "y_unfused", "z_fused", "z_unfused", "unfused_norm", "unfused_glu")]
    outputs += [helper.make_tensor_value_info("unfused_softmax", f, [1, T, T]),
                helper.make_tensor_value_info("y_wide", f, [1, T, D])]
    g = helper.make_graph(nodes, "outq", [helper.make_tensor_value_info("x", f, [1, T, D])], outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "outq.onnx"))
    xs = (rng.standard_normal((24, 1, T, D)) * 1.5).astype(np.float32)
    np.save(os.path.join(out, "calib", "x.npy"), xs)
    np.save(os.path.join(out, "x0.npy"), (rng.standard_normal((1, T, D)) * 1.5).astype(np.float32))


if __name__ == "__main__":
    main()
