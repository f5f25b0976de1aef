#!/usr/bin/python3
"""Writes a chain of convolutions with the geometry IM2COL (and MAXPOOL)
must get right,
for test/npu/conv.test:
  convs.onnx  x [2, 4, 9, 7] (two images, non-square) ->
              Conv 4->8 3x3 stride 2, pads (1, 0, 2, 1) asymmetric, ReLU ->
              Conv 8->8 3x2, group 2, dilation (2, 1), pads 2/1 ->
              MaxPool 3x2, strides (2, 1), pads (1, 1, 1, 0), dilation (1, 2) ->
              Conv 8->8 3x3 depthwise (group 8), pads 1 ->
              Conv 8->16 1x1 -> y
  calib/x.npy 16 samples; x0.npy one input.
usage: make_conv_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    rng = np.random.default_rng(12)

    def w(name, shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)

    def b(name, n):
        return numpy_helper.from_array((rng.standard_normal(n) * 0.1).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], strides=[2, 2], pads=[1, 0, 2, 1], name="conv_s2"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], group=2, dilations=[2, 1], pads=[2, 1, 2, 1],
                         kernel_shape=[3, 2], name="conv_grouped"),
        helper.make_node("MaxPool", ["c2"], ["p2"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 1, 1, 0],
                         dilations=[1, 2], name="maxpool"),
        helper.make_node("Conv", ["p2", "w3", "b3"], ["c3"], group=8, pads=[1, 1, 1, 1], name="conv_depthwise"),
        helper.make_node("Conv", ["c3", "w4"], ["y"], name="conv_1x1"),
    ]
    inits = [w("w1", (8, 4, 3, 3)), b("b1", 8), w("w2", (8, 4, 3, 2)), b("b2", 8), w("w3", (8, 1, 3, 3)), b("b3", 8),
             w("w4", (16, 8, 1, 1))]
    g = helper.make_graph(nodes, "convs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 9, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m = onnx.shape_inference.infer_shapes(m)
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "convs.onnx"))
    np.save(os.path.join(out, "calib", "x.npy"), rng.standard_normal((16, 2, 4, 9, 7)).astype(np.float32))
    np.save(os.path.join(out, "x0.npy"), rng.standard_normal((2, 4, 9, 7)).astype(np.float32))


if __name__ == "__main__":
    main()
