#!/usr/bin/python3
"""Writes epilogue.onnx, its inputs and a float64 reference for
test/passes/fuse-matmul-epilogue.test: float matmuls whose only reader is an
add or a multiply, x [1, T, D] and xb [2, T, D]:
  plain    r1 = x + x @ w1                          (fused)
  bias     h = (r1 @ w2 + b2) + r1: the bias joins the matmul
           (fuse-affine), then the residual (fused, bias then residual)
  two      y_two = h @ w4 + h @ w5: one matmul adds the other's result
           (fused)
  wide     y_wide = x @ w6 + x @ w7 with N = 40 (not a multiple of the
           16-column panels: the edge tiles' epilogue) (fused)
  gate     y_gate = silu(h @ wg) * (h @ wu), SwiGLU's gate: the up
           projection multiplies (fused, qcc.epilogue = "mul")
  bcast    y_bcast = h @ w8 + mean(h over tokens): the add broadcasts
           (stays, says why)
  batch    y_batch = xb @ w9 + xb: two batches, each GEMM adds its rows
           (fused)
  lift     y_lift = mean(h over tokens) @ w11 + h: the [1, 1, D] result
           broadcasts to [1, T, D] (stays, says why)
  shared   y_shared = h @ w10 is a model output and is added to h: the
           matmul has two readers (stays, no remark)
usage: make_matmul_epilogue_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T, D = 24, 32


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    w = {f"w{i}": (rng.standard_normal((D, D)) * 0.3).astype(np.float32) for i in (1, 2, 4, 5, 8, 9, 10, 11, "g", "u")}
    w["w6"] = (rng.standard_normal((D, 40)) * 0.3).astype(np.float32)
    w["w7"] = (rng.standard_normal((D, 40)) * 0.3).astype(np.float32)
    w["b2"] = (rng.standard_normal(D) * 0.5).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for n, a in w.items()]

    def node(op, ins, name, **kw):
        return helper.make_node(op, ins, [name], name=name, **kw)

    nodes = [
        node("MatMul", ["x", "w1"], "plain_mm"), node("Add", ["x", "plain_mm"], "r1"),
        node("MatMul", ["r1", "w2"], "bias_mm"), node("Add", ["bias_mm", "b2"], "bias_b"),
        node("Add", ["bias_b", "r1"], "h"),
        node("MatMul", ["h", "w4"], "two_a"), node("MatMul", ["h", "w5"], "two_b"),
        node("Add", ["two_a", "two_b"], "y_two"),
        node("MatMul", ["x", "w6"], "wide_a"), node("MatMul", ["x", "w7"], "wide_b"),
        node("Add", ["wide_a", "wide_b"], "y_wide"),
        node("MatMul", ["h", "w8"], "bcast_mm"), node("ReduceMean", ["h"], "bcast_mean", axes=[1], keepdims=1),
        node("Add", ["bcast_mm", "bcast_mean"], "y_bcast"),
        node("MatMul", ["xb", "w9"], "batch_mm"), node("Add", ["batch_mm", "xb"], "y_batch"),
        node("MatMul", ["h", "w10"], "y_shared"), node("Add", ["y_shared", "h"], "y_shared_res"),
        node("MatMul", ["h", "wg"], "gate_mm"), node("Sigmoid", ["gate_mm"], "gate_sig"),
        node("Mul", ["gate_mm", "gate_sig"], "gate_silu"), node("MatMul", ["h", "wu"], "up_mm"),
        node("Mul", ["gate_silu", "up_mm"], "y_gate"),
        node("MatMul", ["bcast_mean", "w11"], "lift_mm"), node("Add", ["lift_mm", "h"], "y_lift"),
    ]
    outs = {"y_two": [1, T, D], "y_wide": [1, T, 40], "y_bcast": [1, T, D], "y_batch": [2, T, D],
            "y_shared": [1, T, D], "y_shared_res": [1, T, D], "y_gate": [1, T, D], "y_lift": [1, T, D]}
    graph = helper.make_graph(
        nodes, "epilogue",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D]),
         helper.make_tensor_value_info("xb", TensorProto.FLOAT, [2, T, D])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outs.items()], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "epilogue.onnx"))

    x = rng.standard_normal((1, T, D)).astype(np.float32)
    xb = rng.standard_normal((2, T, D)).astype(np.float32)
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "xb.npy"), xb)
    f = {n: a.astype(np.float64) for n, a in w.items()}
    x64, xb64 = x.astype(np.float64), xb.astype(np.float64)
    r1 = x64 + x64 @ f["w1"]
    h = (r1 @ f["w2"] + f["b2"]) + r1
    ref = {"y_two": h @ f["w4"] + h @ f["w5"], "y_wide": x64 @ f["w6"] + x64 @ f["w7"],
           "y_bcast": h @ f["w8"] + h.mean(axis=1, keepdims=True), "y_batch": xb64 @ f["w9"] + xb64,
           "y_shared": h @ f["w10"], "y_shared_res": h @ f["w10"] + h}
    gate = h @ f["wg"]
    ref["y_gate"] = gate / (1 + np.exp(-gate)) * (h @ f["wu"])
    ref["y_lift"] = h.mean(axis=1, keepdims=True) @ f["w11"] + h
    for i, n in enumerate(outs):
        np.save(os.path.join(out, f"ref{i}.npy"), ref[n])


if __name__ == "__main__":
    main()
