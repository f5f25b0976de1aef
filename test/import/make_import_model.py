#!/usr/bin/python3
"""A small model exercising import: an initializer, an absent optional
input (Conv bias ""), a float attribute, value_info for some values only."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

w = numpy_helper.from_array(np.linspace(-1, 1, 54, dtype=np.float32).reshape(2, 3, 3, 3), "w")
nodes = [
    helper.make_node("Conv", ["image", "w", ""], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("LeakyRelu", ["c"], ["r"], name="act", alpha=0.2),
    helper.make_node("MaxPool", ["r"], ["out"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
]
g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 2, 4, 4])], [w],
                      value_info=[helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 2, 8, 8])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
