#!/usr/bin/python3
"""Writes tiny attention models for the head-wise rotations of the rotate
pass (test/passes/rotate-heads.test), each in its own directory as
test/e2e/check_rotation.py reads them (model.onnx, reference.json naming
input and output, calib/x.npy with 4 samples of x [1, T, D]):
  mha      2 heads of 8: Q, K, V projections with biases, head split by
           Reshape + Transpose, scores scaled by a scalar, softmax, P V,
           heads merged by Transpose + Reshape, output projection
  gqa      4 query heads, 2 key/value heads of 8 expanded to 4 along the
           head axis (Unsqueeze + Expand + Reshape, as grouped-query
           attention is exported)
  rope     mha with a rotary embedding on Q and K after the head split
           (cos/sin tables multiplied per channel, halves swapped): Q and K
           cannot take a folded rotation, so it is applied online
  mixout   mha whose heads' output goes through Sigmoid to the model
           output (no output projection): the inverse is applied online
  mha12    mha with heads of 12 (H_12 from a Paley construction is not
           symmetric: catches R where R^T belongs)
  mixout12 mixout with heads of 12: no online inverse, so P V is left
           alone, with the reason
  einsum   mha written with Einsum as ViTs export it: "bhqd,bhkd->bhqk"
           for the scores, "bhqk,bhkd->bqhd" for P V (heads merged by the
           equation: no Transpose node)
  slices3  3 heads of 8 as written without a head axis: one fused QKV
           projection, Split into Q, K, V, each head a Slice of the last
           axis, softmax(Q K^T) V per head, the heads Concat-ed on the last
           axis, output projection (heads past the first two crashed the
           head walk once: a Concat's operand i read as operand group i)
  refused  single-head scores whose key operand K^T is computed by a
           matmul of a constant with the transposed input (no transpose
           of K to fold or rotate through): left alone, with the reason
usage: make_head_models.py OUT_DIR"""
import json
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

T, D = 6, 16
rng = np.random.default_rng(7)


def const(name, a, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(a, dtype), name)


def w(name, k, n):
    return const(name, rng.standard_normal((k, n)) * 0.5)


def node(op, ins, outs, **kw):
    return helper.make_node(op, ins, outs, name=outs[0], **kw)


def proj(x, name, n_out, bias=True):
    """MatMul (+ bias Add) of x by a [D, n_out] weight."""
    nodes = [node("MatMul", [x, f"{name}_w"], [f"{name}_mm" if bias else name])]
    inits = [w(f"{name}_w", D, n_out)]
    if bias:
        nodes.append(node("Add", [f"{name}_mm", f"{name}_b"], [name]))
        inits.append(const(f"{name}_b", rng.standard_normal(n_out) * 0.3))
    return nodes, inits


def split_heads(x, name, n, h, perm):
    return [node("Reshape", [x, f"{name}_shape"], [f"{name}_r"]),
            node("Transpose", [f"{name}_r"], [name], perm=perm)], [const(f"{name}_shape", [1, T, n, h], np.int64)]


def attention(rope=False, gqa=False, out_proj=True, h=8, einsum=False, sdpa=False):
    nq = 4 if gqa else 2
    nkv = 2
    nodes, inits = [], []
    for name, n in (("q", nq), ("k", nkv), ("v", nkv)):
        a, b = proj("x", name, n * h)
        nodes += a
        inits += b
        a, b = split_heads(name, f"{name}h", n, h, [0, 2, 1, 3])
        nodes += a
        inits += b
    q, k, v = "qh", "kh", "vh"
    if rope:  # x * cos + rotate_half(x) * sin, tables [T, h]
        pos = np.arange(T)[:, None] * (1.0 / 10000 ** (np.arange(h // 2) / (h // 2)))[None, :]
        inits += [const("cos", np.cos(np.concatenate([pos, pos], 1))), const("sin", np.sin(np.concatenate([pos, pos], 1))),
                  const("s0", [0], np.int64), const("s1", [h // 2], np.int64), const("s2", [h], np.int64),
                  const("ax", [3], np.int64)]
        for t in ("qh", "kh"):
            nodes += [node("Slice", [t, "s0", "s1", "ax"], [f"{t}_lo"]), node("Slice", [t, "s1", "s2", "ax"], [f"{t}_hi"]),
                      node("Neg", [f"{t}_hi"], [f"{t}_nhi"]), node("Concat", [f"{t}_nhi", f"{t}_lo"], [f"{t}_half"], axis=3),
                      node("Mul", [t, "cos"], [f"{t}_c"]), node("Mul", [f"{t}_half", "sin"], [f"{t}_s"]),
                      node("Add", [f"{t}_c", f"{t}_s"], [f"{t}_rope"])]
        q, k = "qh_rope", "kh_rope"
    if gqa:  # [1, 2, T, h] -> [1, 2, 1, T, h] -> [1, 2, 2, T, h] -> [1, 4, T, h]
        inits += [const("unsq", [2], np.int64), const("grp", [1, nkv, nq // nkv, T, h], np.int64),
                  const("heads", [1, nq, T, h], np.int64)]
        for t in (k, v):
            nodes += [node("Unsqueeze", [t, "unsq"], [f"{t}_u"]), node("Expand", [f"{t}_u", "grp"], [f"{t}_e"]),
                      node("Reshape", [f"{t}_e", "heads"], [f"{t}_g"])]
        k, v = f"{k}_g", f"{v}_g"
    inits += [const("scale", 1 / np.sqrt(h)), const("merged", [1, T, nq * h], np.int64)]
    if einsum:
        nodes += [node("Einsum", [q, k], ["scores"], equation="bhqd,bhkd->bhqk"),
                  node("Mul", ["scores", "scale"], ["scaled"]),
                  node("Softmax", ["scaled"], ["p"], axis=-1),
                  node("Einsum", ["p", v], ["pvt"], equation="bhqk,bhkd->bqhd"),
                  node("Reshape", ["pvt", "merged"], ["att"])]
    elif sdpa:  # torch 2.11's export of scaled_dot_product_attention
        inits += [const("sqrt_scale", 1 / np.sqrt(np.sqrt(h))), const("flat", [nq, T, h], np.int64),
                  const("kt_shape", [1, nq, h, T], np.int64), const("zero", 0.0)]
        nodes += [node("Mul", [q, "sqrt_scale"], ["qs"]),
                  node("Reshape", [k, "flat"], ["k3"]),
                  node("Transpose", ["k3"], ["k3t"], perm=[0, 2, 1]),
                  node("Reshape", ["k3t", "kt_shape"], ["k4t"]),
                  node("Mul", ["k4t", "sqrt_scale"], ["kt"]),
                  node("MatMul", ["qs", "kt"], ["scores"]),
                  node("Softmax", ["scores"], ["p0"], axis=-1),
                  node("IsNaN", ["p0"], ["nan"]),
                  node("Where", ["nan", "zero", "p0"], ["p"]),
                  node("MatMul", ["p", v], ["pv"]),
                  node("Transpose", ["pv"], ["pvt"], perm=[0, 2, 1, 3]),
                  node("Reshape", ["pvt", "merged"], ["att"])]
    else:
        nodes += [node("Transpose", [k], ["kt"], perm=[0, 1, 3, 2]),
                  node("MatMul", [q, "kt"], ["scores"]),
                  node("Mul", ["scores", "scale"], ["scaled"]),
                  node("Softmax", ["scaled"], ["p"], axis=-1),
                  node("MatMul", ["p", v], ["pv"]),
                  node("Transpose", ["pv"], ["pvt"], perm=[0, 2, 1, 3]),
                  node("Reshape", ["pvt", "merged"], ["att"])]
    if out_proj:
        nodes.append(node("MatMul", ["att", "o_w"], ["y"]))
        inits.append(w("o_w", nq * h, D))
        out_shape = [1, T, D]
    else:
        nodes.append(node("Sigmoid", ["att"], ["y"]))
        out_shape = [1, T, nq * h]
    return nodes, inits, out_shape


def sliced_heads(n=3, h=8):
    """Heads as Slices of a fused QKV projection, merged by Concat."""
    nodes, inits = proj("x", "qkv", 3 * n * h)
    nodes.append(node("Split", ["qkv", "qkv_split"], ["q", "k", "v"], axis=2))
    inits += [const("qkv_split", [n * h] * 3, np.int64), const("ax2", [2], np.int64), const("scale", 1 / np.sqrt(h))]
    heads = []
    for i in range(n):
        inits += [const(f"s{i}", [i * h], np.int64), const(f"e{i}", [(i + 1) * h], np.int64)]
        for t in ("q", "k", "v"):
            nodes.append(node("Slice", [t, f"s{i}", f"e{i}", "ax2"], [f"{t}{i}"]))
        nodes += [node("Transpose", [f"k{i}"], [f"kt{i}"], perm=[0, 2, 1]),
                  node("MatMul", [f"q{i}", f"kt{i}"], [f"scores{i}"]),
                  node("Mul", [f"scores{i}", "scale"], [f"scaled{i}"]),
                  node("Softmax", [f"scaled{i}"], [f"p{i}"], axis=-1),
                  node("MatMul", [f"p{i}", f"v{i}"], [f"head{i}"])]
        heads.append(f"head{i}")
    nodes += [node("Concat", heads, ["att"], axis=2), node("MatMul", ["att", "o_w"], ["y"])]
    inits.append(w("o_w", n * h, D))
    return nodes, inits, [1, T, D]


def refused():
    """scores = (x Wq) (Wk^T x^T): K^T made by a matmul, not a transpose."""
    nodes = [node("MatMul", ["x", "q_w"], ["q"]),
             node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
             node("MatMul", ["kt_w", "xt"], ["kt"]),
             node("MatMul", ["q", "kt"], ["scores"]),
             node("Softmax", ["scores"], ["p"], axis=-1),
             node("MatMul", ["p", "x"], ["y"])]
    return nodes, [w("q_w", D, D), w("kt_w", D, D)], [1, T, D]


def write(out, name, built):
    nodes, inits, out_shape = built
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "calib"), exist_ok=True)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "calib", "x.npy"), rng.standard_normal((4, 1, T, D)).astype(np.float32))
    json.dump({"input": {"name": "x"}, "output": {"name": "y"}}, open(os.path.join(d, "reference.json"), "w"))


def main():
    out = sys.argv[1]
    write(out, "mha", attention())
    write(out, "gqa", attention(gqa=True))
    write(out, "sdpa", attention(gqa=True, sdpa=True))
    write(out, "rope", attention(rope=True))
    write(out, "mixout", attention(out_proj=False))
    write(out, "mha12", attention(h=12))
    write(out, "mixout12", attention(out_proj=False, h=12))
    write(out, "einsum", attention(einsum=True))
    write(out, "slices3", sliced_heads())
    write(out, "refused", refused())


if __name__ == "__main__":
    main()
