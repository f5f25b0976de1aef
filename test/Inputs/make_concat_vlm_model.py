#!/usr/bin/python3
"""Writes a LLaVA-style multimodal model for test/passes/aifs-concat.test:
the token sequence is assembled inside the graph by a concatenation along
the token axis (projected image patches in front of the text embeddings),
not given as one input with a per-token modality.

  img = relu(pix @ V1 + c1) @ V2 + c2     [1, NI, D]  projector; channels 3,
                                          11, 20 massive (x20, +15), as in
                                          real vision-language models
  txt = Gather(E, ids)                    [1, NT, D]
  x   = Concat(img, txt, axis=1) + pos    [1, T, D]   T = NI + NT
        (+ mod[..., None] * type_emb      vlm_mod.onnx only: a modality-type
                                          embedding from a run-time input)
  x   = x + o(attn(LN(x)))                one pre-LN block, 2 heads, causal
  x   = x + W2 relu(W1 LN(x))
  y   = LN(x) @ head                      [1, T, V]

Files: vlm.onnx, vlm_mod.onnx, pix.npy, ids.npy, mod_prefix.npy (the
layout's own modalities), calib/{pix,ids}.npy (32 samples, for vlm.onnx).
usage: make_concat_vlm_model.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import opset17_model  # noqa: E402

NI, NT, P, D, H, FF, V = 8, 16, 12, 32, 2, 64, 20
T, DH = NI + NT, D // H
MASSIVE = [3, 11, 20]
rng = np.random.default_rng(7)


def w(shape, scale):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def build(with_mod):
    v2, c2 = w((D, D), D ** -0.5), w((D,), 0.1)
    v2[:, MASSIVE] *= 20
    c2[MASSIVE] += 15
    mask = np.triu(np.full((T, T), -1e4, np.float32), 1)
    inits = {
        "V1": w((P, D), P ** -0.5), "c1": w((D,), 0.1), "V2": v2, "c2": c2, "E": w((V, D), 1.0),
        "pos": w((1, T, D), 0.1), "g1": 1 + w((D,), 0.1), "b1": w((D,), 0.1), "g2": 1 + w((D,), 0.1),
        "b2": w((D,), 0.1), "gf": 1 + w((D,), 0.1), "bf": w((D,), 0.1), "Wq": w((D, D), D ** -0.5),
        "Wk": w((D, D), D ** -0.5), "Wv": w((D, D), D ** -0.5), "Wo": w((D, D), D ** -0.5),
        "W1": w((D, FF), D ** -0.5), "W2": w((FF, D), FF ** -0.5), "Wh": w((D, V), D ** -0.5), "mask": mask,
        "heads": np.array([1, T, H, DH], np.int64), "merged": np.array([1, T, D], np.int64),
        "scale": np.array(DH ** -0.5, np.float32), "type_emb": w((D,), 1.0), "last": np.array([-1], np.int64),
    }
    n = helper.make_node
    nodes = [
        n("MatMul", ["pix", "V1"], ["p1"], name="proj1"), n("Add", ["p1", "c1"], ["p2"]),
        n("Relu", ["p2"], ["p3"]), n("MatMul", ["p3", "V2"], ["p4"], name="proj2"), n("Add", ["p4", "c2"], ["img"]),
        n("Gather", ["E", "ids"], ["txt"], axis=0, name="embed"),
        n("Concat", ["img", "txt"], ["seq"], axis=1, name="sequence"), n("Add", ["seq", "pos"], ["x0"]),
    ]
    x = "x0"
    if with_mod:
        nodes += [n("Unsqueeze", ["mod", "last"], ["m3"]), n("Mul", ["m3", "type_emb"], ["te"]),
                  n("Add", ["x0", "te"], ["x0m"])]
        x = "x0m"
    nodes += [n("LayerNormalization", [x, "g1", "b1"], ["h"], axis=-1, epsilon=1e-5)]
    for p in "qkv":
        nodes += [n("MatMul", ["h", "W" + p], [p + "0"], name=p + "_proj"), n("Reshape", [p + "0", "heads"], [p + "1"])]
    nodes += [
        n("Transpose", ["q1"], ["qh"], perm=[0, 2, 1, 3]), n("Transpose", ["k1"], ["kt"], perm=[0, 2, 3, 1]),
        n("Transpose", ["v1"], ["vh"], perm=[0, 2, 1, 3]), n("MatMul", ["qh", "kt"], ["s0"], name="scores"),
        n("Mul", ["s0", "scale"], ["s1"]), n("Add", ["s1", "mask"], ["s2"]), n("Softmax", ["s2"], ["pr"], axis=-1),
        n("MatMul", ["pr", "vh"], ["a0"], name="mix"), n("Transpose", ["a0"], ["a1"], perm=[0, 2, 1, 3]),
        n("Reshape", ["a1", "merged"], ["a2"]), n("MatMul", ["a2", "Wo"], ["a3"], name="o_proj"),
        n("Add", [x, "a3"], ["x1"]),
        n("LayerNormalization", ["x1", "g2", "b2"], ["h2"], axis=-1, epsilon=1e-5),
        n("MatMul", ["h2", "W1"], ["f0"], name="up"), n("Relu", ["f0"], ["f1"]),
        n("MatMul", ["f1", "W2"], ["f2"], name="down"), n("Add", ["x1", "f2"], ["x2"]),
        n("LayerNormalization", ["x2", "gf", "bf"], ["hf"], axis=-1, epsilon=1e-5),
        n("MatMul", ["hf", "Wh"], ["logits"], name="head"),
    ]
    inputs = [helper.make_tensor_value_info("pix", TensorProto.FLOAT, [1, NI, P]),
              helper.make_tensor_value_info("ids", TensorProto.INT64, [1, NT])]
    if with_mod:
        inputs.append(helper.make_tensor_value_info("mod", TensorProto.FLOAT, [1, T]))
    return opset17_model("concat_vlm", nodes, inputs,
                         [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, T, V])], inits)


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    onnx.save(build(False), os.path.join(out, "vlm.onnx"))
    onnx.save(build(True), os.path.join(out, "vlm_mod.onnx"))
    data = np.random.default_rng(1)
    np.save(os.path.join(out, "pix.npy"), data.random((1, NI, P), dtype=np.float32))
    np.save(os.path.join(out, "ids.npy"), data.integers(0, V, (1, NT), dtype=np.int64))
    np.save(os.path.join(out, "mod_prefix.npy"), np.array([[1.0] * NI + [0.0] * NT], np.float32))
    np.save(os.path.join(out, "calib", "pix.npy"), data.random((32, 1, NI, P), dtype=np.float32))
    np.save(os.path.join(out, "calib", "ids.npy"), data.integers(0, V, (32, 1, NT), dtype=np.int64))


if __name__ == "__main__":
    main()
