#!/usr/bin/python3
"""Writes a tiny model whose residual stream passes through every token-wise
op a channel rotation commutes with, for test/passes/rotate-tokenwise.test:

  a = Gather(E, ids)                 text embedding       (writer: table)
  b = feat @ Wf + bf                 image projection     (writers: weight, bias)
  s = Where(is_img[t], b, a)         token-wise select
  s = s * keep[t]                    token-wise factor (uniform across channels)
  s = Gather(s, order, axis=1)       token permutation
  s = Concat(cls, s, Gather(E2, ids2), axis=1)   a constant class token in
                                     front (writer: rows), tokens appended
                                     (writer: table)
  s = s + LN(s) @ W1                 residual block
  y = LN(s) @ Wo                     head

Also writes inputs (ids, feat, is_img, keep, order, ids2 as .npy) and the
variants where a rotation must stop, for the error messages:
  channel_where.onnx  the Where's condition varies across channels
usage: make_tokenwise_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T, T2, D, K, V = 6, 6, 16, 8, 10  # T2 = T: q.concat's IRDL wants equal operand types


def w(name, shape, seed, scale=0.3):
    return numpy_helper.from_array((np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32), name)


def build(cond_shape):
    nodes = [
        helper.make_node("Gather", ["E", "ids"], ["a"], axis=0, name="text_embed"),
        helper.make_node("MatMul", ["feat", "Wf"], ["bm"], name="img_proj"),
        helper.make_node("Add", ["bm", "bf"], ["b"], name="img_bias"),
        helper.make_node("Where", ["is_img", "b", "a"], ["s0"], name="select_modality"),
        helper.make_node("Mul", ["s0", "keep"], ["s1"], name="token_factor"),
        helper.make_node("Gather", ["s1", "order"], ["s2"], axis=1, name="token_permutation"),
        helper.make_node("Gather", ["E2", "ids2"], ["c"], axis=0, name="extra_embed"),
        helper.make_node("Concat", ["cls", "s2", "c"], ["s3"], axis=1, name="append_tokens"),
        helper.make_node("LayerNormalization", ["s3", "g1", "be1"], ["n1"], axis=-1, name="norm1"),
        helper.make_node("MatMul", ["n1", "W1"], ["t1"], name="linear1"),
        helper.make_node("Add", ["s3", "t1"], ["s4"], name="residual"),
        helper.make_node("LayerNormalization", ["s4", "g2", "be2"], ["n2"], axis=-1, name="norm2"),
        helper.make_node("MatMul", ["n2", "Wo"], ["y"], name="head"),
    ]
    rng = np.random.default_rng(3)
    inits = [w("E", (V, D), 1), w("Wf", (K, D), 2), w("bf", (D,), 3), w("E2", (V, D), 4), w("W1", (D, D), 5),
             w("Wo", (D, 5), 6), w("cls", (1, 1, D), 7, 1.0),
             numpy_helper.from_array((1 + 0.2 * rng.standard_normal(D)).astype(np.float32), "g1"),
             numpy_helper.from_array((0.1 * rng.standard_normal(D)).astype(np.float32), "be1"),
             numpy_helper.from_array((1 + 0.2 * rng.standard_normal(D)).astype(np.float32), "g2"),
             numpy_helper.from_array((0.1 * rng.standard_normal(D)).astype(np.float32), "be2")]
    ins = [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, T]),
           helper.make_tensor_value_info("feat", TensorProto.FLOAT, [1, T, K]),
           helper.make_tensor_value_info("is_img", TensorProto.BOOL, cond_shape),
           helper.make_tensor_value_info("keep", TensorProto.FLOAT, [1, T, 1]),
           helper.make_tensor_value_info("order", TensorProto.INT64, [T]),
           helper.make_tensor_value_info("ids2", TensorProto.INT64, [1, T2])]
    g = helper.make_graph(nodes, "tokenwise", ins, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1 + T + T2, 5])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    onnx.save(build([1, T, 1]), os.path.join(out, "tokenwise.onnx"))
    onnx.save(build([1, T, D]), os.path.join(out, "channel_where.onnx"))
    rng = np.random.default_rng(11)
    np.save(os.path.join(out, "ids.npy"), rng.integers(0, V, (1, T)).astype(np.int64))
    np.save(os.path.join(out, "feat.npy"), rng.standard_normal((1, T, K)).astype(np.float32))
    img = rng.random((1, T, 1)) < 0.5
    np.save(os.path.join(out, "is_img.npy"), img)
    np.save(os.path.join(out, "is_img_d.npy"), np.repeat(img, D, axis=2))
    np.save(os.path.join(out, "keep.npy"), rng.uniform(0.5, 2.0, (1, T, 1)).astype(np.float32))
    np.save(os.path.join(out, "order.npy"), rng.permutation(T).astype(np.int64))
    np.save(os.path.join(out, "ids2.npy"), rng.integers(0, V, (1, T2)).astype(np.int64))


if __name__ == "__main__":
    main()
