#!/usr/bin/python3
"""Writes two tiny transformer-like ONNX models whose residual stream a
rotation cannot be fused into, for test/passes/rotate.test:
  relu_stream.onnx   a ReLU applied to the stream (does not commute)
  stream_output.onnx the stream itself is a model output
usage: make_stream_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

D = 16


def weight(name, shape, seed):
    return numpy_helper.from_array(np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 0.1, name)


def model(nodes, inits, out_name, out_shape):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def block(prefix, s_in, s_out, seed):
    """pre-LN residual block: s_out = s_in + LN(s_in) @ W"""
    return ([helper.make_node("LayerNormalization", [s_in, f"{prefix}g", f"{prefix}b"], [f"{prefix}n"], axis=-1,
                              name=f"{prefix}_norm"),
             helper.make_node("MatMul", [f"{prefix}n", f"{prefix}w"], [f"{prefix}t"], name=f"{prefix}_linear"),
             helper.make_node("Add", [s_in, f"{prefix}t"], [s_out], name=f"{prefix}_residual")],
            [numpy_helper.from_array(np.ones(D, np.float32), f"{prefix}g"),
             numpy_helper.from_array(np.zeros(D, np.float32), f"{prefix}b"), weight(f"{prefix}w", (D, D), seed)])


def main():
    out = sys.argv[1]
    embed = [helper.make_node("MatMul", ["x", "we"], ["s0"], name="embed")]
    inits = [weight("we", (8, D), 1)]
    n1, i1 = block("a", "s0", "s1", 2)
    relu = [helper.make_node("Relu", ["s1"], ["r"], name="stream_relu")]
    n2, i2 = block("b", "r", "s2", 3)
    head = [helper.make_node("LayerNormalization", ["s2", "hg", "hb"], ["hn"], axis=-1, name="head_norm"),
            helper.make_node("MatMul", ["hn", "wh"], ["y"], name="head")]
    hi = [numpy_helper.from_array(np.ones(D, np.float32), "hg"), numpy_helper.from_array(np.zeros(D, np.float32), "hb"),
          weight("wh", (D, 3), 4)]
    onnx.save(model(embed + n1 + relu + n2 + head, inits + i1 + i2 + hi, "y", [1, 4, 3]),
              os.path.join(out, "relu_stream.onnx"))
    onnx.save(model(embed + n1, inits + i1, "s1", [1, 4, D]), os.path.join(out, "stream_output.onnx"))


if __name__ == "__main__":
    main()
