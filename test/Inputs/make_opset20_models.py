#!/usr/bin/python3
"""Writes models of default-domain opsets 19 and 20 for
test/import/opset20.test, each with its inputs and a float64 reference
output computed here with numpy (the onnx package of Debian 12 knows
opsets to 17, so the models are written without its checker):
  gelu20.onnx     opset 20 Gelu (erf) and Gelu (approximate = tanh) of x [2, 37]
  avgpool19.onnx  opset 19 AveragePool with dilations [2, 2], kernel 3x3 on [1, 2, 9, 9]
  dft20.onnx      opset 20 DFT whose axis is its third input (1) and one with
                  the default axis (-2) on a real x [1, 8, 6, 1]
  grid20.onnx     opset 20 GridSample mode 'linear' (2-D), grid16.onnx the
                  same graph at opset 16 with mode 'bilinear'
  pad19.onnx      opset 19 Pad mode 'wrap' (refused by qcc)
  dftvar20.onnx   opset 20 DFT whose axis is a graph input (refused)
usage: make_opset20_models.py OUT_DIR"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(out, name, nodes, inputs, outputs, opset, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(out, name + ".onnx"))


def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20)

    x = (rng.standard_normal((2, 37)) * 2).astype(np.float32)
    np.save(os.path.join(out, "gelu_x.npy"), x)
    save(out, "gelu20", [helper.make_node("Gelu", ["x"], ["erf"]),
                         helper.make_node("Gelu", ["x"], ["tanh"], approximate="tanh")],
         [f32("x", [2, 37])], [f32("erf", [2, 37]), f32("tanh", [2, 37])], 20)
    xd = x.astype(np.float64)
    erf = np.vectorize(math.erf)
    np.save(os.path.join(out, "gelu_ref0.npy"), 0.5 * xd * (1 + erf(xd / math.sqrt(2))))
    np.save(os.path.join(out, "gelu_ref1.npy"),
            0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) * (xd + 0.044715 * xd ** 3))))

    p = rng.standard_normal((1, 2, 9, 9)).astype(np.float32)
    np.save(os.path.join(out, "pool_x.npy"), p)
    save(out, "avgpool19", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], dilations=[2, 2])],
         [f32("x", [1, 2, 9, 9])], [f32("y", [1, 2, 5, 5])], 19)
    ref = np.zeros((1, 2, 5, 5))
    for i in range(5):
        for j in range(5):
            ref[0, :, i, j] = p[0, :, i:i + 5:2, j:j + 5:2].astype(np.float64).mean(axis=(1, 2))
    np.save(os.path.join(out, "pool_ref0.npy"), ref)

    s = rng.standard_normal((1, 8, 6, 1)).astype(np.float32)
    np.save(os.path.join(out, "dft_x.npy"), s)
    save(out, "dft20", [helper.make_node("DFT", ["x", "", "one"], ["along1"]),
                        helper.make_node("DFT", ["x"], ["along2"])],
         [f32("x", [1, 8, 6, 1])], [f32("along1", [1, 8, 6, 2]), f32("along2", [1, 8, 6, 2])], 20,
         [numpy_helper.from_array(np.array(1, np.int64), "one")])
    for k, axis in ((0, 1), (1, 2)):
        c = np.fft.fft(s[..., 0].astype(np.float64), axis=axis)
        np.save(os.path.join(out, f"dft_ref{k}.npy"), np.stack([c.real, c.imag], axis=-1))
    save(out, "dftvar20", [helper.make_node("DFT", ["x", "", "axis"], ["y"])],
         [f32("x", [1, 8, 6, 1]), helper.make_tensor_value_info("axis", TensorProto.INT64, [])],
         [f32("y", [1, 8, 6, 2])], 20)

    img = rng.standard_normal((1, 3, 5, 7)).astype(np.float32)
    grid = rng.uniform(-1.1, 1.1, (1, 4, 6, 2)).astype(np.float32)
    np.save(os.path.join(out, "grid_x.npy"), img)
    np.save(os.path.join(out, "grid_g.npy"), grid)
    for opset, mode in ((20, "linear"), (16, "bilinear")):
        save(out, f"grid{opset}", [helper.make_node("GridSample", ["x", "g"], ["y"], mode=mode)],
             [f32("x", [1, 3, 5, 7]), f32("g", [1, 4, 6, 2])], [f32("y", [1, 3, 4, 6])], opset)

    save(out, "pad19", [helper.make_node("Pad", ["x", "pads"], ["y"], mode="wrap")], [f32("x", [2, 3])],
         [f32("y", [2, 5])], 19, [numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "pads")])


if __name__ == "__main__":
    main()
