#!/usr/bin/python3
"""The model bfloat16.test compiles, its inputs, and the expected outputs
from a bfloat16 reference written here with exact rational arithmetic
(fractions), independent of qcc's bit operations.

  bf16_models.py DIR     writes DIR/bf16.onnx, DIR/in_{xb,f,d,q}.npy (xb as
                         its uint16 bits: numpy has no bfloat16) and
                         DIR/want_K.npy for outputs 0..5
  bf16_models.py --compare GOT%d.npy WANT%d.npy N
                         "equal" if every output 0..N-1 has the dtype, shape
                         and bits of the expected one, else the first difference

bf16.onnx: a bfloat16 input, initializer and Constant moved by Transpose,
Concat, Gather and Reshape, then cast to float (y0); float32, float64 and
int64 values cast to bfloat16 with Cast and CastLike (y1..y3: ties, NaN,
infinities, subnormals, overflow, and values where rounding through float32
or double first would round twice); bfloat16 to int32 (y4); Shape (y5).
"""
import math
import os
import sys
from fractions import Fraction

import numpy as np


def bf16_of(v):
    """bfloat16 bits of v (a float, or an int taken exactly): the nearest
    bfloat16 value, ties to even; NaN -> 0x7fc0."""
    if isinstance(v, float) and math.isnan(v):
        return 0x7FC0
    sign = 0x8000 if (v < 0 or (isinstance(v, float) and math.copysign(1, v) < 0)) else 0
    if isinstance(v, float) and math.isinf(v):
        return sign | 0x7F80
    a = abs(Fraction(v))
    if a == 0:
        return sign
    e = a.numerator.bit_length() - a.denominator.bit_length()  # 2^e <= a < 2^(e+2)
    if Fraction(2) ** (e + 1) <= a:
        e += 1
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, -126)  # below 2^-126 the step stays 2^-133 (subnormals)
    step = Fraction(2) ** (e - 7)
    q, rem = divmod(a, step)
    q = int(q)
    if 2 * rem > step or (2 * rem == step and q % 2):
        q += 1
    if q == 256:  # carried into the next binade
        e, q = e + 1, 128
    if q < 128:  # subnormal (e == -126)
        return sign | q
    if e + 127 >= 255:
        return sign | 0x7F80
    return sign | ((e + 127) << 7) | (q - 128)


def value_of(b):
    """The float value of bfloat16 bits b (exact: float32's upper half)."""
    return np.array([b << 16], np.uint32).view(np.float32)[0]


def write(d):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    os.makedirs(d, exist_ok=True)
    BF = TensorProto.BFLOAT16
    xb_vals = [1.5, -2.75, 100.5, -0.0, 65280.0, -0.001]
    xb = np.array([bf16_of(v) for v in xb_vals], np.uint16).reshape(2, 3)
    wb = np.array([bf16_of(v) for v in [7.0, -0.5, 1e-40, 3.0e38, float("inf"), 2.0]], np.uint16).reshape(3, 2)
    cb = [bf16_of(-1.25), bf16_of(float("nan"))]
    f = np.array([0.48033667, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, float("nan"), -float("inf"),
                  3.3961776e38, 1e-39, -2.0 ** -134, 2.0 ** -134 * 1.5, 1e-45, 65535.0, -0.0], np.float32).reshape(2, 6)
    d64 = np.array([1.0 + 2.0 ** -8 + 2.0 ** -40, -(1.0 + 2.0 ** -8), 3.4e38, 1e-300], np.float64)
    q = np.array([2 ** 60 + 2 ** 52 + 1, -(2 ** 63), 257, -385], np.int64)

    def bf16_tensor(name, bits, shape, raw):
        t = onnx.TensorProto(name=name, data_type=BF, dims=shape)
        if raw:
            t.raw_data = np.asarray(bits, "<u2").tobytes()
        else:
            t.int32_data.extend(int(b) for b in np.asarray(bits).reshape(-1))
        return t

    nodes = [
        helper.make_node("Constant", [], ["cb"], value=bf16_tensor("cbv", cb, [2], raw=False)),
        helper.make_node("Transpose", ["xb"], ["t"]),
        helper.make_node("Concat", ["t", "wb"], ["c"], axis=0),
        helper.make_node("Gather", ["c", "rows"], ["g"], axis=0),
        helper.make_node("Reshape", ["g", "flat"], ["r"]),
        helper.make_node("Concat", ["r", "cb"], ["cc"], axis=0),
        helper.make_node("Cast", ["cc"], ["y0"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["f"], ["y1"], to=BF),
        helper.make_node("CastLike", ["d", "xb"], ["y2"]),
        helper.make_node("Cast", ["q"], ["y3"], to=BF),
        helper.make_node("Cast", ["xb"], ["y4"], to=TensorProto.INT32),
        helper.make_node("Shape", ["xb"], ["y5"]),
    ]
    rows = np.array([0, 5, 2], np.int64)
    inits = [bf16_tensor("wb", wb, [3, 2], raw=True), numpy_helper.from_array(rows, "rows"),
             numpy_helper.from_array(np.array([6], np.int64), "flat")]
    ins = [helper.make_tensor_value_info("xb", BF, [2, 3]), helper.make_tensor_value_info("f", TensorProto.FLOAT, [2, 6]),
           helper.make_tensor_value_info("d", TensorProto.DOUBLE, [4]),
           helper.make_tensor_value_info("q", TensorProto.INT64, [4])]
    outs = [helper.make_tensor_value_info("y0", TensorProto.FLOAT, [8]), helper.make_tensor_value_info("y1", BF, [2, 6]),
            helper.make_tensor_value_info("y2", BF, [4]), helper.make_tensor_value_info("y3", BF, [4]),
            helper.make_tensor_value_info("y4", TensorProto.INT32, [2, 3]),
            helper.make_tensor_value_info("y5", TensorProto.INT64, [2])]
    g = helper.make_graph(nodes, "bf16", ins, outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)]), "%s/bf16.onnx" % d)
    for k, v in dict(xb=xb, f=f, d=d64, q=q).items():
        np.save("%s/in_%s.npy" % (d, k), v)

    moved = np.concatenate([xb.T, wb], 0)[rows].reshape(-1)
    want = [np.array([value_of(int(b)) for b in list(moved) + cb], np.float32),
            np.array([bf16_of(float(v)) for v in f.reshape(-1)], np.uint16).reshape(2, 6),
            np.array([bf16_of(float(v)) for v in d64], np.uint16),
            np.array([bf16_of(int(v)) for v in q], np.uint16),
            np.array([int(v) for v in xb_vals], np.int32).reshape(2, 3),  # exact in bf16, truncated toward 0
            np.array([2, 3], np.int64)]
    for k, w in enumerate(want):
        np.save("%s/want_%d.npy" % (d, k), w)


def compare(got_fmt, want_fmt, n):
    for k in range(n):
        got, want = np.load(got_fmt % k), np.load(want_fmt % k)
        # compared as bytes: NaN matches NaN, -0 differs from 0
        if not (got.dtype == want.dtype and got.shape == want.shape and
                np.array_equal(got.view(np.uint8), want.view(np.uint8))):
            print("output %d differs: got %s %s, want %s %s" % (k, got.dtype, got.tolist(), want.dtype, want.tolist()))
            return
    print("equal")


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        write(sys.argv[1])
