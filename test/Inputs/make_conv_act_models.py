#!/usr/bin/python3
"""Writes conv_act.onnx for test/passes/fuse-conv-activation.test: each
activation the fuse-conv-activation pass takes (Relu, LeakyRelu, Clip as
ReLU6 from constant inputs) twice on the same convolution, once after a
conv only it reads (fused) and once after a copy of that conv whose output
is also a model output (two readers: not fused); also depthwise (group =
channels) + Clip and a strided, padded conv + Relu. The same for matmuls
on x read as [1, 81, 8] rows: with a bias + Relu, + LeakyRelu, with a bias
+ Clip, and r + Relu(r W) (the activation, then the residual, in one
epilogue). Outputs come in pairs (fused, unfused) that must be equal bit
for bit.
  conv_act.onnx  x [1, 8, 9, 9]
  x0.npy         one input (values around the activations' thresholds)
usage: make_conv_act_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


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
    ]
    inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"),
              numpy_helper.from_array(np.array(6, np.float32), "six")]
    for name, act, attrs, wshape, yshape in cases:
        w = (rng.standard_normal(wshape) * 0.4).astype(np.float32)
        b = (rng.standard_normal(wshape[0]) * 0.5).astype(np.float32)
        for variant in ("fused", "unfused"):
            inits += [numpy_helper.from_array(w, f"{name}_{variant}_w"),
                      numpy_helper.from_array(b, f"{name}_{variant}_b")]
            nodes.append(helper.make_node("Conv", ["x", f"{name}_{variant}_w", f"{name}_{variant}_b"],
                                          [f"{name}_{variant}_conv"], name=f"{name}_{variant}_conv", **attrs))
            nodes.append(act(f"{name}_{variant}_conv", f"{name}_{variant}"))
            nodes[-1].name = f"{name}_{variant}_act"
            outputs.append(helper.make_tensor_value_info(f"{name}_{variant}", TensorProto.FLOAT, list(yshape)))
        outputs.append(helper.make_tensor_value_info(f"{name}_unfused_conv", TensorProto.FLOAT, list(yshape)))
    inits.append(numpy_helper.from_array(np.array([1, 81, 8], np.int64), "rows_shape"))
    nodes.append(helper.make_node("Reshape", ["x", "rows_shape"], ["xr"], name="rows"))
    mm_cases = [  # name, activation node maker, bias, residual
        ("mm_relu", lambda i, o: helper.make_node("Relu", [i], [o]), True, False),
        ("mm_leaky", lambda i, o: helper.make_node("LeakyRelu", [i], [o], alpha=0.1), False, False),
        ("mm_relu6", lambda i, o: helper.make_node("Clip", [i, "zero", "six"], [o]), True, False),
        ("mm_relu_res", lambda i, o: helper.make_node("Relu", [i], [o]), False, True),
    ]
    for name, act, bias, residual in mm_cases:
        w = (rng.standard_normal((8, 8)) * 0.6).astype(np.float32)
        b = (rng.standard_normal(8) * 0.5).astype(np.float32)
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
            nodes.append(act(pre, f"{v}_a" if residual else v))
            nodes[-1].name = f"{v}_act"
            if residual:
                nodes.append(helper.make_node("Add", ["xr", f"{v}_a"], [v], name=f"{v}_res"))
            outputs.append(helper.make_tensor_value_info(v, TensorProto.FLOAT, [1, 81, 8]))
        outputs.append(helper.make_tensor_value_info(f"{name}_unfused_conv", TensorProto.FLOAT, [1, 81, 8]))
    g = helper.make_graph(nodes, "conv_act", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 9, 9])],
                          outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "conv_act.onnx"))
    np.save(os.path.join(out, "x0.npy"), (rng.standard_normal((1, 8, 9, 9)) * 2).astype(np.float32))


if __name__ == "__main__":
    main()
