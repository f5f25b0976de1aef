#!/usr/bin/python3
"""Writes a convolution whose weight has an odd number of elements, for
the packed int4 weight-only path of test/passes/quantize-schemes.test:
  odd_conv.onnx  Conv W [3, 1, 3, 3] (27 weights), pads 1, on x [1, 1, 5, 5];
                 every channel's weights are multiples k * s_c with k in
                 [-7, 7] and some |k| = 7, so int4 codes per channel hold
                 them exactly (w4a16 must then equal the float model)
  x0.npy         one input
usage: make_conv_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(3)
    k = rng.integers(-7, 8, size=(3, 1, 3, 3))
    k[:, 0, 0, 0] = 7  # the channel maximum, so the int4 step is s_c exactly
    w = (k * np.array([0.5, 0.25, 0.125])[:, None, None, None]).astype(np.float32)
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="odd_conv")], "odd",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 5, 5])],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "odd_conv.onnx"))
    np.save(os.path.join(out, "x0.npy"), rng.standard_normal((1, 1, 5, 5)).astype(np.float32))


if __name__ == "__main__":
    main()
