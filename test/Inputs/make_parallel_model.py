#!/usr/bin/python3
"""Writes a model whose GEMMs are large enough to be split across threads
(test/codegen/threads.test): y = Relu(x @ w) @ v + b with run-time x and
w (no large weights in the C), x [192, 96], w [96, 160] (2.9 M
multiply-adds), v [160, 64] a constant, plus x and w as .npy inputs.
usage: make_parallel_model.py OUT_DIR"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)
v = rng.standard_normal((160, 64)).astype(np.float32)
b = rng.standard_normal(64).astype(np.float32)
nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("MatMul", ["r", "v"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])]
g = helper.make_graph(nodes, "par", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [192, 96]),
                                     helper.make_tensor_value_info("w", TensorProto.FLOAT, [96, 160])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [192, 64])],
                      [numpy_helper.from_array(v, "v"), numpy_helper.from_array(b, "b")])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(out, "model.onnx"))
np.save(os.path.join(out, "x.npy"), rng.standard_normal((192, 96)).astype(np.float32))
np.save(os.path.join(out, "w.npy"), rng.standard_normal((96, 160)).astype(np.float32))
