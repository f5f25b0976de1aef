#!/usr/bin/python3
"""Writes views.onnx and its input for test/codegen/reshape-view.test: a
Reshape of an arena value is a view of its input's buffer (no call), whose
lifetime must then run to the last use of either.

  a = Relu(x [4,6]);  b = Reshape(a, [2,12]);  c = Reshape(b, [24])
  s = Sigmoid(x)               (computed while a is only reachable as c:
                                must not take a's bytes)
  t = Reshape(s, [24]) + c;  u = Tanh(t)
  out0 = Reshape(u, [6,4])     (a graph output: written by a copy)
  out1 = Reshape(x, [24]) * c  (a Reshape of a graph input: a copy)
usage: make_reshape_view_model.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def main():
    out = sys.argv[1]
    shape = lambda name, dims: numpy_helper.from_array(np.array(dims, np.int64), name)
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="relu"),
        helper.make_node("Reshape", ["a", "s2x12"], ["b"], name="view_b"),
        helper.make_node("Reshape", ["b", "s24"], ["c"], name="view_c"),
        helper.make_node("Sigmoid", ["x"], ["s"], name="sigmoid"),
        helper.make_node("Reshape", ["s", "s24"], ["s_flat"], name="view_s"),
        helper.make_node("Add", ["s_flat", "c"], ["t"], name="add"),
        helper.make_node("Tanh", ["t"], ["u"], name="tanh"),
        helper.make_node("Reshape", ["u", "s6x4"], ["out0"], name="to_output"),
        helper.make_node("Reshape", ["x", "s24"], ["x_flat"], name="of_input"),
        helper.make_node("Mul", ["x_flat", "c"], ["out1"], name="mul"),
    ]
    g = helper.make_graph(nodes, "views", [helper.make_tensor_value_info("x", F, [4, 6])],
                          [helper.make_tensor_value_info("out0", F, [6, 4]),
                           helper.make_tensor_value_info("out1", F, [24])],
                          [shape("s2x12", [2, 12]), shape("s24", [24]), shape("s6x4", [6, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "views.onnx"))
    x = np.random.default_rng(3).uniform(-2, 2, (4, 6)).astype(np.float32)
    np.save(os.path.join(out, "x.npy"), x)
    a = np.maximum(x, 0).reshape(24)
    np.save(os.path.join(out, "want0.npy"), np.tanh(1 / (1 + np.exp(-x)).reshape(24) + a).reshape(6, 4))
    np.save(os.path.join(out, "want1.npy"), x.reshape(24) * a)


if __name__ == "__main__":
    main()
