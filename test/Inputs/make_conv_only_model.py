"""A network of convolutions alone (no matmul): y = Conv(Relu(Conv(x))).

usage: make_conv_only_model.py OUT.onnx"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import opset17_model  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    inits = {"w1": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
             "w2": rng.standard_normal((2, 4, 3, 3)).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["h"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Conv", ["r", "w2"], ["y"], name="conv2", pads=[1, 1, 1, 1])]
    model = opset17_model("convs", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])], inits)
    with open(sys.argv[1], "wb") as f:
        f.write(model.SerializeToString())


if __name__ == "__main__":
    main()
