#!/usr/bin/python3
"""Writes heads.onnx and its calibration samples for
test/passes/fold-transposes.test: multi-head attention whose heads are split
and merged by Reshape + Transpose, on x [1, T, D] with T = 80 (more than the
int8 GEMM's 64-row block, so attention's run-time B is packed once up front):
  a   3 heads of 16: q, k, v = x @ w; q, v [T, 3, 16] -> [3, T, 16],
      k -> k^T [3, 16, T]; softmax(q k^T / 4 + causal mask) @ v, heads
      merged back [T, 3, 16] -> [T, 48] -> @ wo (y_a)
  b   2 heads of 6 (K = 6: not a multiple of 4, the packing's edge path),
      the same chain (y_b)
  c   as a, but its transposed q is also a model output (q_heads_c): that
      transpose has two readers and stays a copy (y_c)
  e   as a, but q is divided by a scalar after its head transpose (torch's
      MultiheadAttention scales q there): float builds move the division
      before the transpose, so the attention reads q in place (y_e)
  d   one fused qkv projection (ViT style): [T, 3, H, dh] -> [3, H, T, dh],
      q, k, v gathered from it, k^T by a second transpose; the shared
      codes are asymmetric, so k^T reaches the matmul through a dequantize
      and a quantize to its symmetric scale, past which the transpose
      moves (y_d)
usage: make_head_transpose_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T, D = 80, 24


def const(name, a, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(a, dtype), name)


def node(op, ins, out, **kw):
    return helper.make_node(op, ins, [out], name=out, **kw)


def chain_consts(v, e):
    """The merge shape, causal mask and score divisor of block v."""
    return [const(f"{v}_merge", [1, T, e], np.int64), const(f"{v}_mask", np.triu(np.full((T, T), -1e9, np.float32), 1)),
            const(f"{v}_four", 4.0)]


def chain(v):
    """Block v's attention from its heads v_qh, v_kt (k^T) and v_vh:
    softmax(q k^T / 4 + mask) @ v, the heads merged back, @ v_wo -> y_v."""
    return [node("MatMul", [f"{v}_qh", f"{v}_kt"], f"{v}_scores"),
            node("Div", [f"{v}_scores", f"{v}_four"], f"{v}_scaled"),
            node("Add", [f"{v}_scaled", f"{v}_mask"], f"{v}_masked"),
            node("Softmax", [f"{v}_masked"], f"{v}_p", axis=-1),
            node("MatMul", [f"{v}_p", f"{v}_vh"], f"{v}_mix"),
            node("Transpose", [f"{v}_mix"], f"{v}_mixt", perm=[0, 2, 1, 3]),
            node("Reshape", [f"{v}_mixt", f"{v}_merge"], f"{v}_merged"),
            node("MatMul", [f"{v}_merged", f"{v}_wo"], f"y_{v}")]


def attention(v, heads, dh, seed):
    rng = np.random.default_rng(seed)
    e = heads * dh
    inits = [const(f"{v}_w{n}", rng.standard_normal((D, e)) * 0.3) for n in "qkv"]
    inits += [const(f"{v}_wo", rng.standard_normal((e, D)) * 0.3), const(f"{v}_split", [1, T, heads, dh], np.int64)]
    inits += chain_consts(v, e)
    nodes = []
    for p in "qkv":
        nodes += [node("MatMul", ["x", f"{v}_w{p}"], f"{v}_{p}"),
                  node("Reshape", [f"{v}_{p}", f"{v}_split"], f"{v}_{p}4")]
    nodes += [node("Transpose", [f"{v}_q4"], f"{v}_qh", perm=[0, 2, 1, 3]),
              node("Transpose", [f"{v}_k4"], f"{v}_kt", perm=[0, 2, 3, 1]),
              node("Transpose", [f"{v}_v4"], f"{v}_vh", perm=[0, 2, 1, 3])]
    return nodes + chain(v), inits


def fused_qkv(v, heads, dh, seed):
    rng = np.random.default_rng(seed)
    e = heads * dh
    inits = [const(f"{v}_wqkv", rng.standard_normal((D, 3 * e)) * 0.3 + 0.2),
             const(f"{v}_wo", rng.standard_normal((e, D)) * 0.3),
             const(f"{v}_split", [1, T, 3, heads, dh], np.int64)]
    inits += chain_consts(v, e)
    inits += [const(f"{v}_i{p}", i, np.int64) for i, p in enumerate("qkv")]
    nodes = [node("MatMul", ["x", f"{v}_wqkv"], f"{v}_qkv"),
             node("Reshape", [f"{v}_qkv", f"{v}_split"], f"{v}_qkv5"),
             node("Transpose", [f"{v}_qkv5"], f"{v}_heads", perm=[2, 0, 3, 1, 4])]
    nodes += [node("Gather", [f"{v}_heads", f"{v}_i{p}"], f"{v}_{p}h", axis=0) for p in "qkv"]
    nodes.append(node("Transpose", [f"{v}_kh"], f"{v}_kt", perm=[0, 1, 3, 2]))
    return nodes + chain(v), inits


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    nodes, inits = [], []
    for v, heads, dh in (("a", 3, 16), ("b", 2, 6), ("c", 3, 16)):
        nn, ii = attention(v, heads, dh, 7)
        nodes += nn
        inits += ii
    nn, ii = fused_qkv("d", 3, 16, 9)
    nodes += nn
    inits += ii
    nn, ii = attention("e", 2, 8, 11)
    for i, n in enumerate(nn):  # the scores read q / e_qdiv
        if n.op_type == "MatMul" and n.input[0] == "e_qh":
            n.input[0] = "e_qs"
            nn.insert(i, node("Div", ["e_qh", "e_qdiv"], "e_qs"))
            break
    nodes += nn
    inits += ii + [const("e_qdiv", 1.5)]
    nodes.append(helper.make_node("Identity", ["c_qh"], ["q_heads_c"], name="q_heads_c"))
    f = TensorProto.FLOAT
    outputs = [helper.make_tensor_value_info(f"y_{v}", f, [1, T, D]) for v in "abcde"]
    outputs.append(helper.make_tensor_value_info("q_heads_c", f, [1, 3, T, 16]))
    g = helper.make_graph(nodes, "heads", [helper.make_tensor_value_info("x", f, [1, T, D])], outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "heads.onnx"))
    rng = np.random.default_rng(11)
    np.save(os.path.join(out, "calib", "x.npy"), (rng.standard_normal((16, 1, T, D)) * 1.5).astype(np.float32))
    np.save(os.path.join(out, "x0.npy"), (rng.standard_normal((1, T, D)) * 1.5).astype(np.float32))


if __name__ == "__main__":
    main()
