#!/usr/bin/python3
"""Attention (opset 23) with softcap and a mask, for attention-softcap.test:
causal.onnx (is_causal) and masked.onnx (a bool lower-triangular attn_mask),
q, k, v [1, 2, 4, 8] with scores large enough that softcap 2 bends them.
usage: make_softcap_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

B, H, S, D = 1, 2, 4, 8


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, attrs, extra in [("causal", dict(is_causal=1, softcap=2.0), []), ("masked", dict(softcap=2.0), ["m"])]:
        ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [B, H, S, D]) for n in "qkv"]
        if extra:
            ins.append(helper.make_tensor_value_info("m", TensorProto.BOOL, [S, S]))
        node = helper.make_node("Attention", ["q", "k", "v"] + extra, ["y"], **attrs)
        g = helper.make_graph([node], name, ins, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])
        m.ir_version = 10
        onnx.save(m, os.path.join(out, name + ".onnx"))
    r = np.random.default_rng(0)
    for n in "qkv":
        np.save(os.path.join(out, n + ".npy"), (2 * r.standard_normal((B, H, S, D))).astype(np.float32))
    np.save(os.path.join(out, "m.npy"), np.tril(np.ones((S, S), bool)))


if __name__ == "__main__":
    main()
