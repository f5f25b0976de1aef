#!/usr/bin/python3
"""Writes conv_act.onnx for test/passes/fuse-conv-activation.test: each
activation the fuse-conv-activation pass takes (Relu, LeakyRelu, Clip as
ReLU6 from constant inputs, SiLU as x * Sigmoid(x), GELU as torch exports
it: x * 0.5 * (1 + Erf(x / sqrt 2)), and its tanh form as torch exports
approximate='tanh' below opset 20: (x * 0.5) * (1 + Tanh(sqrt(2/pi) *
(x + 0.044715 x^3))), x^3 by Pow or by x * x * x) twice on the same convolution, once after a
conv only it reads (fused) and once after a copy of that conv whose output
is also a model output (two readers: not fused); also depthwise (group =
channels) + Clip and a strided, padded conv + Relu. The same for matmuls
on x read as [1, 81, 8] rows: with a bias + Relu, + LeakyRelu, with a bias
+ Clip, and r + Relu(r W) (the activation, then the residual, in one
epilogue); 80 columns wide (full panels: the micro-kernels' tile
epilogue) with a bias + SiLU, + GELU, and SiLU(r W1) * (r W3) (SwiGLU:
the activation, then the gate). Outputs come in pairs (fused, unfused) that must be equal bit
for bit.
  conv_act.onnx  x [1, 8, 9, 9]
  x0.npy         one input (values around the activations' thresholds)
usage: make_conv_act_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def silu(i, o):
    return [helper.make_node("Sigmoid", [i], [o + "_sig"]), helper.make_node("Mul", [i, o + "_sig"], [o])]


def gelu(i, o):
    return [helper.make_node("Div", [i, "sqrt2"], [o + "_s"]), helper.make_node("Erf", [o + "_s"], [o + "_e"]),
            helper.make_node("Add", [o + "_e", "one"], [o + "_p"]), helper.make_node("Mul", [i, o + "_p"], [o + "_m"]),
            helper.make_node("Mul", [o + "_m", "half"], [o])]


def gelu_tanh(cube):
    def make(i, o):
        x3 = [helper.make_node("Pow", [i, "three"], [o + "_x3"])] if cube == "pow" else [
            helper.make_node("Mul", [i, i], [o + "_x2"]), helper.make_node("Mul", [o + "_x2", i], [o + "_x3"])]
        return x3 + [helper.make_node("Mul", [o + "_x3", "kappa"], [o + "_k"]),
                     helper.make_node("Add", [i, o + "_k"], [o + "_s"]),
                     helper.make_node("Mul", ["beta", o + "_s"], [o + "_in"]),
                     helper.make_node("Tanh", [o + "_in"], [o + "_t"]),
                     helper.make_node("Add", ["one", o + "_t"], [o + "_u"]),
                     helper.make_node("Mul", [i, "half"], [o + "_h"]),
                     helper.make_node("Mul", [o + "_h", o + "_u"], [o])]
    return make


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)
    nodes, inits, outputs = [], [], []
    cases = [  # name, activation node maker, conv attributes, weight shape, output shape
        ("relu", lambda i, o: helper.make_node("Relu", [i], [o]), dict(pads=[1, 1, 1, 1]), (6, 8, 3, 3), (1, 6, 9, 9)),
        ("leaky", lambda i, o: helper.make_node("LeakyRelu", [i], [o], alpha=0.1), dict(pads=[1, 1, 1, 1]),
         (6, 8, 3, 3), (1, 6, 9, 9)),
        ("relu6", lambda i, o: helper.make_node("Clip", [i, "zero", "six"], [o]), dict(pads=[1, 1, 1, 1]),
         (6, 8, 3, 3), (1, 6, 9, 9)),
        ("dw_relu6", lambda i, o: helper.make_node("Clip", [i, "zero", "six"], [o]), dict(pads=[1, 1, 1, 1], group=8),
         (8, 1, 3, 3), (1, 8, 9, 9)),
        ("strided_relu", lambda i, o: helper.make_node("Relu", [i], [o]), dict(pads=[0, 1, 2, 1], strides=[2, 2]),
         (4, 8, 3, 3), (1, 4, 5, 5)),
        ("pointwise_relu", lambda i, o: helper.make_node("Relu", [i], [o]), dict(), (16, 8, 1, 1), (1, 16, 9, 9)),
        ("silu", silu, dict(pads=[1, 1, 1, 1]), (6, 8, 3, 3), (1, 6, 9, 9)),
        ("gelu", gelu, dict(pads=[1, 1, 1, 1]), (6, 8, 3, 3), (1, 6, 9, 9)),
        ("pointwise_silu", silu, dict(), (32, 8, 1, 1), (1, 32, 9, 9)),
        ("gelu_tanh", gelu_tanh("pow"), dict(pads=[1, 1, 1, 1]), (6, 8, 3, 3), (1, 6, 9, 9)),
    ]
    inits += [numpy_helper.from_array(np.array(v, np.float32), n)
              for n, v in (("zero", 0), ("six", 6), ("one", 1), ("half", 0.5), ("sqrt2", np.sqrt(2)), ("three", 3),
                           ("kappa", 0.044715), ("beta", np.sqrt(2 / np.pi)))]
    for name, act, attrs, wshape, yshape in cases:
        w = (rng.standard_normal(wshape) * 0.4).astype(np.float32)
        b = (rng.standard_normal(wshape[0]) * 0.5).astype(np.float32)
        for variant in ("fused", "unfused"):
            inits += [numpy_helper.from_array(w, f"{name}_{variant}_w"),
                      numpy_helper.from_array(b, f"{name}_{variant}_b")]
            nodes.append(helper.make_node("Conv", ["x", f"{name}_{variant}_w", f"{name}_{variant}_b"],
                                          [f"{name}_{variant}_conv"], name=f"{name}_{variant}_conv", **attrs))
            act_nodes = act(f"{name}_{variant}_conv", f"{name}_{variant}")
            act_nodes = act_nodes if isinstance(act_nodes, list) else [act_nodes]
            act_nodes[-1].name = f"{name}_{variant}_act"
            nodes += act_nodes
            outputs.append(helper.make_tensor_value_info(f"{name}_{variant}", TensorProto.FLOAT, list(yshape)))
        outputs.append(helper.make_tensor_value_info(f"{name}_unfused_conv", TensorProto.FLOAT, list(yshape)))
    inits.append(numpy_helper.from_array(np.array([1, 81, 8], np.int64), "rows_shape"))
    nodes.append(helper.make_node("Reshape", ["x", "rows_shape"], ["xr"], name="rows"))
    mm_cases = [  # name, activation node maker, bias, residual ("add") or gate ("mul"), columns
        ("mm_relu", lambda i, o: helper.make_node("Relu", [i], [o]), True, None, 8),
        ("mm_leaky", lambda i, o: helper.make_node("LeakyRelu", [i], [o], alpha=0.1), False, None, 8),
        ("mm_relu6", lambda i, o: helper.make_node("Clip", [i, "zero", "six"], [o]), True, None, 8),
        ("mm_relu_res", lambda i, o: helper.make_node("Relu", [i], [o]), False, "add", 8),
        ("mm_silu", silu, True, None, 80),
        ("mm_gelu", gelu, True, None, 80),
        ("mm_gelu_tanh", gelu_tanh("mul"), True, None, 80),
        ("mm_swiglu", silu, False, "mul", 80),
    ]
    for name, act, bias, residual, n in mm_cases:
        w = (rng.standard_normal((8, n)) * 0.6).astype(np.float32)
        b = (rng.standard_normal(n) * 0.5).astype(np.float32)
        w3 = (rng.standard_normal((8, n)) * 0.6).astype(np.float32)
        for variant in ("fused", "unfused"):
            v = f"{name}_{variant}"
            inits.append(numpy_helper.from_array(w, f"{v}_w"))
            nodes.append(helper.make_node("MatMul", ["xr", f"{v}_w"], [f"{v}_mm"], name=f"{v}_mm"))
            pre = f"{v}_mm"
            if bias:
                inits.append(numpy_helper.from_array(b, f"{v}_b"))
                nodes.append(helper.make_node("Add", [pre, f"{v}_b"], [f"{v}_conv"], name=f"{v}_bias"))
                pre = f"{v}_conv"
            else:
                nodes.append(helper.make_node("Identity", [pre], [f"{v}_conv"], name=f"{v}_id"))
                pre = f"{v}_conv"
            act_nodes = act(pre, f"{v}_a" if residual else v)
            act_nodes = act_nodes if isinstance(act_nodes, list) else [act_nodes]
            act_nodes[-1].name = f"{v}_act"
            nodes += act_nodes
            if residual == "add":
                nodes.append(helper.make_node("Add", ["xr", f"{v}_a"], [v], name=f"{v}_res"))
            elif residual == "mul":
                inits.append(numpy_helper.from_array(w3, f"{v}_w3"))
                nodes.append(helper.make_node("MatMul", ["xr", f"{v}_w3"], [f"{v}_up"], name=f"{v}_up"))
                nodes.append(helper.make_node("Mul", [f"{v}_a", f"{v}_up"], [v], name=f"{v}_gate"))
            outputs.append(helper.make_tensor_value_info(v, TensorProto.FLOAT, [1, 81, n]))
        outputs.append(helper.make_tensor_value_info(f"{name}_unfused_conv", TensorProto.FLOAT, [1, 81, n]))
    g = helper.make_graph(nodes, "conv_act", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 9, 9])],
                          outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "conv_act.onnx"))
    np.save(os.path.join(out, "x0.npy"), (rng.standard_normal((1, 8, 9, 9)) * 2).astype(np.float32))


if __name__ == "__main__":
    main()
