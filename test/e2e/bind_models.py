#!/usr/bin/python3
"""Models for bind.test whose output shapes depend on an input's values,
with the arrays to bind and numpy's expected outputs.

  bind_models.py DIR            writes into DIR:
    slice.onnx   y = Slice(x, starts, ends, axes, steps), all five inputs
    reduce.onnx  y = ReduceSum(data, axes, keepdims=0)
    range.onnx   y = Range(0, limit, 1) + offset (limit an int64 scalar input)
    x.npy starts.npy ends.npy axes.npy steps.npy data.npy rsum_axes.npy limit.npy offset.npy
    want_slice.npy want_reduce.npy want_range.npy
    starts_i32.npy starts_3.npy   (wrong dtype / wrong shape for starts)
  bind_models.py --compare GOT.npy WANT.npy
    prints "equal" if dtype, shape and every element are equal, else why.
"""
import os
import sys

import numpy as np


def compare(got_path, want_path):
    got, want = np.load(got_path), np.load(want_path)
    if got.dtype != want.dtype or got.shape != want.shape:
        print("differ: got %s %s, want %s %s" % (got.dtype, got.shape, want.dtype, want.shape))
    elif not np.array_equal(got, want):
        print("differ: max |got - want| = %g" % np.abs(got.astype(np.float64) - want).max())
    else:
        print("equal")


def write(d):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    os.makedirs(d, exist_ok=True)

    def model(name, nodes, inputs, y_type, inits=()):
        # The output's shape is left undeclared: qcc must infer it from the
        # bound values.
        y = helper.make_tensor_value_info("y", y_type, None)
        g = helper.make_graph(nodes, name, inputs, [y], list(inits))
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "%s/%s.onnx" % (d, name))

    def vec(name, n):
        return helper.make_tensor_value_info(name, TensorProto.INT64, [n])

    rng = np.random.RandomState(0)
    x = rng.randn(6, 8).astype(np.float32)
    starts, ends = np.array([1, -1], np.int64), np.array([5, 0], np.int64)
    axes, steps = np.array([0, 1], np.int64), np.array([2, -3], np.int64)
    model("slice", [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="slice0")],
          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, 8]),
           vec("starts", 2), vec("ends", 2), vec("axes", 2), vec("steps", 2)], TensorProto.FLOAT)
    for k, v in dict(x=x, starts=starts, ends=ends, axes=axes, steps=steps).items():
        np.save("%s/%s.npy" % (d, k), v)
    np.save("%s/want_slice.npy" % d, x[1:5:2, -1:0:-3])
    np.save("%s/starts_i32.npy" % d, starts.astype(np.int32))
    np.save("%s/starts_3.npy" % d, np.array([1, -1, 0], np.int64))

    rsum_axes = np.array([-1, 0], np.int64)
    # The axes input is declared with a symbolic length: any length binds.
    model("reduce", [helper.make_node("ReduceSum", ["data", "axes"], ["y"], name="sum0", keepdims=0)],
          [helper.make_tensor_value_info("data", TensorProto.FLOAT, [2, 3, 4]),
           helper.make_tensor_value_info("axes", TensorProto.INT64, ["n"])], TensorProto.FLOAT)
    np.save("%s/rsum_axes.npy" % d, rsum_axes)
    # numpy sums in a different order than qcc's kernel; the sums are exact
    # when the addends are small integers.
    ints = rng.randint(-8, 8, (2, 3, 4)).astype(np.float32)
    np.save("%s/data.npy" % d, ints)
    np.save("%s/want_reduce.npy" % d, ints.sum(axis=(2, 0)))

    # Range with a bound limit folds to a constant; the Add keeps an op
    # behind it (the output is computed, not only a copied constant).
    zero, one = numpy_helper.from_array(np.array(0, np.int64), "zero"), numpy_helper.from_array(np.array(1, np.int64), "one")
    model("range", [helper.make_node("Range", ["zero", "limit", "one"], ["r"], name="range0"),
                    helper.make_node("Add", ["r", "offset"], ["y"], name="add0")],
          [helper.make_tensor_value_info("limit", TensorProto.INT64, []),
           helper.make_tensor_value_info("offset", TensorProto.INT64, [1])], TensorProto.INT64, [zero, one])
    np.save("%s/limit.npy" % d, np.array(7, np.int64))
    np.save("%s/offset.npy" % d, np.array([100], np.int64))
    np.save("%s/want_range.npy" % d, np.arange(7, dtype=np.int64) + 100)


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        write(sys.argv[1])
