#!/usr/bin/python3
"""A matmul with a very long reduction, for test/passes/accumulators.test:
y = x @ W, x [1, K], W [K, 2] all +-1 (so every int8 weight code is +-127
and a column's sum of |codes| is 127 K), or Gaussian with --gauss (an LLM
projection's weights), with one calibration sample x = +-1 in
calib_OUT/x.npy and the same x as OUT_x.npy.

usage: make_wide_matmul.py [--gauss] K OUT.onnx"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    gauss = sys.argv[1] == "--gauss"
    k, out = int(sys.argv[1 + gauss]), sys.argv[2 + gauss]
    rng = np.random.default_rng(3)
    if gauss:
        w = (rng.standard_normal((k, 2)) / np.sqrt(k)).astype(np.float32)
    else:
        w = np.where(rng.random((k, 2)) < 0.5, -1.0, 1.0).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="wide")], "wide",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, out)
    cal = os.path.join(os.path.dirname(out), "calib_" + os.path.basename(out)[:-5])
    os.makedirs(cal, exist_ok=True)
    x = np.where(rng.random((1, 1, k)) < 0.5, -1.0, 1.0).astype(np.float32)
    np.save(os.path.join(cal, "x.npy"), x)
    np.save(os.path.join(os.path.dirname(out), os.path.basename(out)[:-5] + "_x.npy"), x[0])


if __name__ == "__main__":
    main()
