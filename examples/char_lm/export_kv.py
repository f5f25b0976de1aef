#!/usr/bin/python3
"""Export char_lm for cached decoding: a step model with a static-size KV cache.

The weights come from model.onnx (the full-context model train.py wrote), so
both compute the same function; the graph is built with onnx.helper (numpy
and onnx only, no torch).  The step model takes T new tokens at positions
pos .. pos+T-1 and the cache of the earlier positions, and returns their
logits and the updated cache:

    inputs   tokens [1,T] int64, pos [1] int64 (position of tokens[0]),
             past_k_<l>, past_v_<l> [1,H,CTX,DH] float32, l = 0..L-1
    outputs  logits [1,T,V], k_<l>, v_<l> [1,H,CTX,DH] (the cache with rows
             pos .. pos+T-1 written)

T is symbolic: `qcc --shape tokens=1x16` compiles a prefill of 16 tokens,
`--shape tokens=1x1` the single-token step, from the same file.

Each layer writes its new keys/values into the cache with one
ScatterElements (axis 2, indices pos+t) and attends over all CTX rows with
the original model's additive mask, built at run time: row r is visible to
token t when r <= pos+t.  Rows after pos+T-1 are never used, but must hold
finite numbers (start from zeros).  Every output cache is computed from its
input cache by that one ScatterElements only, so qcc lets the caller pass
the same buffer for both (NAME_INi_MAY_ALIAS_OUTj in the header).

The attention arithmetic is the original's op for op (Mul by the scale,
Add the mask, Softmax), so the logits match model.onnx's at the same
positions (test/e2e/kv-decode.test checks prefill + steps against it).

usage: export_kv.py [--out step.onnx] [--model model.onnx]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
EPS = 1e-5
MASK_VALUE = -1e4


def load_weights(path):
    """The full-context model's weights, by role: the MatMul weights in
    graph order (q, k, v, o, gate, up, down per block, then the tied
    head), norms and embeddings by name; heads from the q reshape."""
    m = onnx.load(path)
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in m.graph.node if n.op_type == "Constant"}
    mats = [init[n.input[1]] for n in m.graph.node if n.op_type == "MatMul" and n.input[1] in init]
    heads = next(int(consts[n.input[1]][2]) for n in m.graph.node
                 if n.op_type == "Reshape" and len(consts.get(n.input[1], [])) == 4)
    layers = []
    for l in range((len(mats) - 1) // 7):
        layer = dict(zip(("q", "k", "v", "o", "gate", "up", "down"), mats[7 * l:7 * l + 7]))
        layer["norm1"], layer["norm2"] = init[f"blocks.{l}.norm1.weight"], init[f"blocks.{l}.norm2.weight"]
        layers.append(layer)
    return {"tok": init["tok.weight"], "pos": init["pos"][0], "norm_f": init["norm_f.weight"], "head": mats[-1],
            "layers": layers, "heads": heads}


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, name, a):
        self.inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def op(self, op_type, *inputs, name=None, **attrs):
        self.n += 1
        out = f"{name or op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=f"/{out}", **attrs))
        return out

    def rmsnorm(self, x, weight, scope):
        ms = self.op("ReduceMean", self.op("Mul", x, x), axes=[-1], keepdims=1)
        r = self.op("Div", self.const(f"{scope}.one", np.float32(1.0)),
                    self.op("Sqrt", self.op("Add", ms, self.const(f"{scope}.eps", np.float32(EPS)))))
        return self.op("Mul", self.op("Mul", x, r), weight)


def build(w):
    V, D = w["tok"].shape
    ctx, H = w["pos"].shape[0], w["heads"]
    DH = D // H
    g = Graph()
    tok = g.const("tok.weight", w["tok"])
    pos_table = g.const("pos_emb", w["pos"])
    # positions = pos + [0, 1, .., T-1]; T from the tokens' (compile-time) shape
    T = g.op("Gather", g.op("Shape", "tokens"), g.const("one_i", np.int64(1)), axis=0)
    positions = g.op("Add", "pos", g.op("Range", g.const("zero_i", np.int64(0)), T, g.const("step_i", np.int64(1))),
                     name="positions")
    x = g.op("Add", g.op("Gather", tok, "tokens", axis=0), g.op("Gather", pos_table, positions, axis=0))
    # mask[t, r] = 0 if r <= pos + t else -1e4 (the original's values)
    visible = g.op("LessOrEqual", g.const("rows", np.arange(ctx, dtype=np.int64)[None, :]),
                   g.op("Unsqueeze", positions, g.const("axis1", np.array([1], np.int64))))
    mask = g.op("Where", visible, g.const("mask_on", np.float32(0.0)), g.const("mask_off", np.float32(MASK_VALUE)),
                name="mask")
    # the cache rows each new key/value goes to: idx[0, h, t, d] = pos + t
    idx = g.op("Expand", g.op("Reshape", positions, g.const("shape_1_1_T_1", np.array([1, 1, -1, 1], np.int64))),
               g.const("shape_1_H_1_DH", np.array([1, H, 1, DH], np.int64)), name="cache_rows")
    heads_shape = g.const("shape_1_T_H_DH", np.array([1, -1, H, DH], np.int64))
    model_shape = g.const("shape_1_T_D", np.array([1, -1, D], np.int64))
    scale = g.const("scale", np.float32(1.0 / np.sqrt(DH)))
    outputs = []
    for l, L in enumerate(w["layers"]):
        p = f"blocks.{l}"
        W = {k: g.const(f"{p}.{k}.weight", v) for k, v in L.items()}
        h = g.rmsnorm(x, W["norm1"], f"{p}.norm1")
        q, k, v = [g.op("Transpose", g.op("Reshape", g.op("MatMul", h, W[n]), heads_shape), perm=[0, 2, 1, 3])
                   for n in ("q", "k", "v")]
        kc = g.op("ScatterElements", f"past_k_{l}", idx, k, axis=2, name=f"k_{l}")
        vc = g.op("ScatterElements", f"past_v_{l}", idx, v, axis=2, name=f"v_{l}")
        s = g.op("Add", g.op("Mul", g.op("MatMul", q, g.op("Transpose", kc, perm=[0, 1, 3, 2])), scale), mask)
        a = g.op("MatMul", g.op("Softmax", s, axis=-1), vc)
        a = g.op("Reshape", g.op("Transpose", a, perm=[0, 2, 1, 3]), model_shape)
        x = g.op("Add", x, g.op("MatMul", a, W["o"]))
        h = g.rmsnorm(x, W["norm2"], f"{p}.norm2")
        gate = g.op("MatMul", h, W["gate"])
        mlp = g.op("Mul", g.op("Mul", gate, g.op("Sigmoid", gate)), g.op("MatMul", h, W["up"]))
        x = g.op("Add", x, g.op("MatMul", mlp, W["down"]))
        outputs += [(kc, f"k_{l}"), (vc, f"v_{l}")]
    logits = g.op("MatMul", g.rmsnorm(x, g.const("norm_f.weight", w["norm_f"]), "norm_f"), g.const("head", w["head"]))
    outputs.insert(0, (logits, "logits"))
    for value, name in outputs:  # graph outputs under their own names
        g.nodes.append(helper.make_node("Identity", [value], [name], name=f"/{name}"))
    cache = [1, H, ctx, DH]
    inputs = [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "T"]),
              helper.make_tensor_value_info("pos", TensorProto.INT64, [1])]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "T", V])]
    for l in range(len(w["layers"])):
        for kv in "kv":
            inputs.append(helper.make_tensor_value_info(f"past_{kv}_{l}", TensorProto.FLOAT, cache))
            outs.append(helper.make_tensor_value_info(f"{kv}_{l}", TensorProto.FLOAT, cache))
    graph = helper.make_graph(g.nodes, "char_lm_step", inputs, outs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="export_kv.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "step.onnx"))
    ap.add_argument("--model", default=os.path.join(HERE, "model.onnx"),
                    help="a full-context model of char_lm's architecture (train.py, or "
                         "examples/bench/train_outlier_lm.py with other widths)")
    args = ap.parse_args()
    model = build(load_weights(args.model))
    onnx.save(model, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
