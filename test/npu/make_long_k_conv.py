#!/usr/bin/python3
"""A convolution whose receptive field is longer than one 4096-value K
tile (3x3 over 512 channels: K = 4608, as ResNet-18's last stage has):
long_k.onnx, x [1, 512, 2, 2] -> y [1, 8, 2, 2], 8 calibration samples and
one input (x0.npy). usage: make_long_k_conv.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    r = np.random.default_rng(0)
    w = (r.standard_normal((8, 512, 3, 3)) / np.sqrt(4608)).astype(np.float32)
    b = (0.1 * r.standard_normal(8)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv_k4608", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    g = helper.make_graph([node], "long_k", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512, 2, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, os.path.join(out, "long_k.onnx"))
    np.save(os.path.join(out, "calib", "x.npy"), np.abs(r.standard_normal((8, 1, 512, 2, 2))).astype(np.float32))
    np.save(os.path.join(out, "x0.npy"), np.abs(r.standard_normal((1, 512, 2, 2))).astype(np.float32))


if __name__ == "__main__":
    main()
