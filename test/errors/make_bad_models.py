#!/usr/bin/python3
"""Writes the bad inputs errors.test feeds to qcc into DIR: a truncated
model, random bytes, an empty file, a model with external data, one with
an unsupported op, one with a symbolic input dim, one whose node reads an
undefined tensor, ops whose output shape depends on a run-time input
(NonZero, Unique, NonMaxSuppression), arithmetic on bfloat16, and a valid
small model for flag errors."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

d = sys.argv[1]
os.makedirs(d, exist_ok=True)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
w = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), "w")
good = model([helper.make_node("Add", ["x", "w"], ["y"], name="add0")], [x], [y], [w])
onnx.save(good, f"{d}/good.onnx")
data = good.SerializeToString()
open(f"{d}/truncated.onnx", "wb").write(data[: len(data) // 2])
open(f"{d}/garbage.onnx", "wb").write(bytes(np.random.RandomState(0).randint(0, 256, 300, dtype=np.uint8)))
open(f"{d}/empty.onnx", "wb").write(b"")

ext = model([helper.make_node("Add", ["x", "w"], ["y"], name="add0")], [x], [y], [w])
onnx.save(ext, f"{d}/external.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
          location="external.bin", size_threshold=0)

unsup = model([helper.make_node("Bernoulli", ["x"], ["y"], name="bern0")], [x], [y])
onnx.save(unsup, f"{d}/unsupported.onnx")

sym_x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
sym = model([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [sym_x], [y])
onnx.save(sym, f"{d}/symbolic.onnx")

dangling = model([helper.make_node("Relu", ["nope"], ["y"], name="relu0")], [x], [y])
onnx.save(dangling, f"{d}/dangling.onnx")

bad_shape = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm0")], [x], [y], [w])
onnx.save(bad_shape, f"{d}/badshape.onnx")
np.save(f"{d}/x.npy", np.ones((1, 4), np.float32))
np.save(f"{d}/x_wrong.npy", np.ones((2, 4), np.float32))

# Dropout whose training_mode is a graph input: y = x would be wrong when
# the caller passes true, so it is refused unless the input is bound.
train = helper.make_tensor_value_info("train", TensorProto.BOOL, [])
drop = model([helper.make_node("Dropout", ["x", "", "train"], ["y"], name="drop0")], [x, train], [y])
onnx.save(drop, f"{d}/dropout_runtime_mode.onnx")
np.save(f"{d}/false.npy", np.array(False))
np.save(f"{d}/true.npy", np.array(True))

# Output shapes that depend on run-time values: refused unless bound.
idx = helper.make_tensor_value_info("i", TensorProto.INT64, None)
onnx.save(model([helper.make_node("NonZero", ["x"], ["i"], name="nz0")], [x], [idx]), f"{d}/nonzero_runtime.onnx")
onnx.save(model([helper.make_node("Unique", ["x"], ["y"], name="uniq0")], [x],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]), f"{d}/unique_runtime.onnx")
boxes = numpy_helper.from_array(np.array([[[0, 0, 1, 1]]], np.float32), "boxes")
scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 1])
onnx.save(model([helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["i"], name="nms0")], [scores], [idx],
                [boxes]), f"{d}/nms_runtime.onnx")
np.save(f"{d}/scores.npy", np.ones((1, 1, 1), np.float32))

# bfloat16 is cast and moved, never computed on (it is stored as uint16).
xb = helper.make_tensor_value_info("xb", TensorProto.BFLOAT16, [2])
onnx.save(model([helper.make_node("Add", ["xb", "xb"], ["yb"], name="add_bf16")], [xb],
                [helper.make_tensor_value_info("yb", TensorProto.BFLOAT16, [2])]), f"{d}/bf16_add.onnx")
