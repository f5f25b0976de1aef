"""A linear head whose calibration samples never show the output range a
test input reaches, with every input value inside the calibrated input
range: y = x W (+ b), x in R^8.

  head.onnx       y = x W + b, W = [ones | alternating signs | e0], a
                  model output
  head_relu.onnx  y = Relu(x W + b), a model output
  norm_head.onnx  y = LayerNorm(x) W + b: a norm read by one linear layer
                  that only the 16 calibration rows reach (--smooth auto)
  calib/x.npy     16 samples, each one entry +-1 (the rest 0): every
                  input channel spans [-1, 1], |y| <= 1 + |b|
  x_wide.npy      x = ones: every channel at the calibrated maximum, the
                  first output 8 + b (eight times the calibrated one)
  x_neg.npy       x = -ones: the first output -8 + b

usage: make_output_clip_model.py OUT_DIR"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import opset17_model  # noqa: E402

D, N = 8, 3


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    w = np.stack([np.ones(D), (-1.0) ** np.arange(D), np.eye(D)[0]], axis=1).astype(np.float32)
    b = np.array([0.25, -0.125, 0.0], np.float32)
    x_info = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, D])]
    y_info = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])]
    inits = {"w": w, "b": b}
    head = opset17_model("head", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="head")],
                         x_info, y_info, inits)
    head_relu = opset17_model("head_relu", [helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="head"),
                                            helper.make_node("Relu", ["h"], ["y"], name="relu")],
                              x_info, y_info, inits)
    ln = {"gamma": np.ones(D, np.float32), "beta": np.zeros(D, np.float32)}
    norm_head = opset17_model("norm_head", [
        helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["n"], name="norm", axis=-1),
        helper.make_node("Gemm", ["n", "w", "b"], ["y"], name="head")], x_info, y_info, {**inits, **ln})
    for name, model in (("head", head), ("head_relu", head_relu), ("norm_head", norm_head)):
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(model.SerializeToString())
    calib = np.zeros((16, 1, D), np.float32)
    for i in range(16):
        calib[i, 0, i % D] = 1.0 if i < D else -1.0
    np.save(os.path.join(out, "calib", "x.npy"), calib)
    np.save(os.path.join(out, "x_wide.npy"), np.ones((1, D), np.float32))
    np.save(os.path.join(out, "x_neg.npy"), -np.ones((1, D), np.float32))


if __name__ == "__main__":
    main()
