#!/usr/bin/python3
"""Writes the seed corpus of the fuzz harnesses into DIR: small valid
models, one or a few nodes each, over the op families qcc legalizes, and
broken variants of them (dims, attributes, tensor sizes, op types, names)
that each break one thing the importer or a legalization rule must check.
libFuzzer mutates bytes; seeds that already parse let it reach the rules
instead of spending its time in the protobuf parser."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
F = TensorProto.FLOAT
count = 0


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    global count
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    open(os.path.join(out, name + ".onnx"), "wb").write(m.SerializeToString())
    count += 1


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


x4 = vi("x", [1, 2, 4, 4])
y = vi("y", None)
# unary and binary elementwise
for op in ["Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Abs", "Neg", "Erf", "Softplus", "Floor", "Ceil",
           "Identity", "Not", "Reciprocal", "HardSwish", "Sin", "Cos"]:
    save("unary_" + op, [helper.make_node(op, ["x"], ["y"], name="n0")], [x4], [y])
for op in ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less", "Greater", "And", "Where"]:
    ins = ["x", "w"] if op != "Where" else ["c", "x", "w"]
    inits = [const("w", np.ones((1, 2, 1, 4), np.float32)), const("c", np.ones((4,), bool))]
    save("binary_" + op, [helper.make_node(op, ins, ["y"], name="n0")], [x4], [y], inits)
    save("binary_bcast_bad_" + op, [helper.make_node(op, ins, ["y"], name="n0")], [x4], [y],
         [const("w", np.ones((3, 5), np.float32)), const("c", np.ones((7,), bool))])
# nn
w = const("w", np.ones((3, 2, 3, 3), np.float32))
b = const("b", np.zeros((3,), np.float32))
save("conv", [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="c0", pads=[1, 1, 1, 1], strides=[1, 1])],
     [x4], [y], [w, b])
save("conv_group", [helper.make_node("Conv", ["x", "w"], ["y"], name="c0", group=2)], [x4], [y],
     [const("w", np.ones((2, 1, 3, 3), np.float32))])
save("conv_bad_stride", [helper.make_node("Conv", ["x", "w"], ["y"], name="c0", strides=[0, -1])], [x4], [y], [w])
save("conv_bad_pads", [helper.make_node("Conv", ["x", "w"], ["y"], name="c0", pads=[-9, 1, 1000, 1])], [x4], [y],
     [w])
save("conv_bad_dil", [helper.make_node("Conv", ["x", "w"], ["y"], name="c0", dilations=[0, 0])], [x4], [y], [w])
save("conv_group0", [helper.make_node("Conv", ["x", "w"], ["y"], name="c0", group=0)], [x4], [y], [w])
save("conv_kernel_big", [helper.make_node("Conv", ["x", "w"], ["y"], name="c0")], [x4], [y],
     [const("w", np.ones((1, 2, 9, 9), np.float32))])
save("convT", [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="c0", strides=[2, 2])], [x4], [y],
     [const("w", np.ones((2, 3, 3, 3), np.float32))])
for op in ["MaxPool", "AveragePool"]:
    save("pool_" + op, [helper.make_node(op, ["x"], ["y"], name="p0", kernel_shape=[2, 2], strides=[2, 2])],
         [x4], [y])
    save("pool_bad_" + op, [helper.make_node(op, ["x"], ["y"], name="p0", kernel_shape=[0, 9], strides=[0, 2])],
         [x4], [y])
for op in ["GlobalAveragePool", "GlobalMaxPool", "Flatten", "Softmax", "LogSoftmax"]:
    save("nn_" + op, [helper.make_node(op, ["x"], ["y"], name="n0")], [x4], [y])
    save("nn_axis_" + op, [helper.make_node(op, ["x"], ["y"], name="n0", axis=-7)], [x4], [y])
x2 = vi("x", [2, 4])
save("matmul", [helper.make_node("MatMul", ["x", "w"], ["y"], name="m0")], [x2], [y],
     [const("w", np.ones((4, 3), np.float32))])
save("gemm", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="g0", transB=1)], [x2], [y],
     [const("w", np.ones((3, 4), np.float32)), const("b", np.ones((3,), np.float32))])
save("gemm_bad", [helper.make_node("Gemm", ["x", "w"], ["y"], name="g0", transA=1)], [x2], [y],
     [const("w", np.ones((3, 4), np.float32))])
save("bn", [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn0")], [x4], [y],
     [const(n, np.ones((2,), np.float32)) for n in "sbmv"])
save("bn_short", [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn0")], [x4], [y],
     [const(n, np.ones((1,), np.float32)) for n in "sbmv"])
save("layernorm", [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], name="ln0", axis=-1)], [x4], [y],
     [const("s", np.ones((4,), np.float32)), const("b", np.ones((4,), np.float32))])
save("instnorm", [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], name="in0")], [x4], [y],
     [const("s", np.ones((2,), np.float32)), const("b", np.ones((2,), np.float32))])
# shape ops
for name, op, ins, inits, attrs in [
    ("reshape", "Reshape", ["x", "s"], [const("s", np.array([2, -1], np.int64))], {}),
    ("reshape_bad", "Reshape", ["x", "s"], [const("s", np.array([-1, -1, 0], np.int64))], {}),
    ("reshape_huge", "Reshape", ["x", "s"], [const("s", np.array([2**62, 2**62], np.int64))], {}),
    ("transpose", "Transpose", ["x"], [], {"perm": [0, 2, 3, 1]}),
    ("transpose_bad", "Transpose", ["x"], [], {"perm": [0, 0, 9, -3]}),
    ("slice", "Slice", ["x", "st", "en", "ax"], [const("st", np.array([1], np.int64)),
                                              const("en", np.array([3], np.int64)),
                                              const("ax", np.array([2], np.int64))], {}),
    ("slice_step0", "Slice", ["x", "st", "en", "ax", "sp"], [const("st", np.array([1], np.int64)),
                                                          const("en", np.array([3], np.int64)),
                                                          const("ax", np.array([9], np.int64)),
                                                          const("sp", np.array([0], np.int64))], {}),
    ("concat", "Concat", ["x", "x"], [], {"axis": 1}),
    ("concat_bad", "Concat", ["x", "w"], [const("w", np.ones((3,), np.float32))], {"axis": 5}),
    ("split", "Split", ["x"], [], {"axis": 1}),
    ("gather", "Gather", ["x", "i"], [const("i", np.array([0, 1, 1], np.int64))], {"axis": 2}),
    ("gather_oob", "Gather", ["x", "i"], [const("i", np.array([0, 100, -100], np.int64))], {"axis": 2}),
    ("squeeze", "Squeeze", ["x", "a"], [const("a", np.array([0], np.int64))], {}),
    ("unsqueeze", "Unsqueeze", ["x", "a"], [const("a", np.array([0, 5], np.int64))], {}),
    ("expand", "Expand", ["x", "s"], [const("s", np.array([2, 2, 4, 4], np.int64))], {}),
    ("expand_huge", "Expand", ["x", "s"], [const("s", np.array([1 << 40, 2, 4, 4], np.int64))], {}),
    ("tile", "Tile", ["x", "r"], [const("r", np.array([1, 2, 1, 1], np.int64))], {}),
    ("tile_neg", "Tile", ["x", "r"], [const("r", np.array([1, -2, 1, 1], np.int64))], {}),
    ("pad", "Pad", ["x", "p"], [const("p", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))], {}),
    ("pad_neg", "Pad", ["x", "p"], [const("p", np.array([0, 0, -9, 1, 0, 0, 1, 1], np.int64))], {}),
    ("cos_shape", "ConstantOfShape", ["s"], [const("s", np.array([2, 3], np.int64))], {}),
    ("cos_shape_neg", "ConstantOfShape", ["s"], [const("s", np.array([2, -3], np.int64))], {}),
    ("range", "Range", ["a", "b", "c"], [const("a", np.array(0, np.float32)), const("b", np.array(5, np.float32)),
                                         const("c", np.array(1, np.float32))], {}),
    ("range_zero_step", "Range", ["a", "b", "c"], [const("a", np.array(0, np.float32)),
                                                   const("b", np.array(5, np.float32)),
                                                   const("c", np.array(0, np.float32))], {}),
    ("shape", "Shape", ["x"], [], {}),
    ("reducesum", "ReduceSum", ["x", "a"], [const("a", np.array([1], np.int64))], {}),
    ("reducemean", "ReduceMean", ["x"], [], {"axes": [1, 9]}),
    ("argmax", "ArgMax", ["x"], [], {"axis": 1}),
    ("topk", "TopK", ["x", "k"], [const("k", np.array([2], np.int64))], {}),
    ("topk_bad", "TopK", ["x", "k"], [const("k", np.array([99], np.int64))], {}),
    ("cumsum", "CumSum", ["x", "a"], [const("a", np.array(1, np.int64))], {}),
    ("resize", "Resize", ["x", "", "sc"], [const("sc", np.array([1, 1, 2, 2], np.float32))], {}),
    ("resize_bad", "Resize", ["x", "", "sc"], [const("sc", np.array([1, 1, -2, 1e30], np.float32))], {}),
    ("depthtospace", "DepthToSpace", ["x"], [], {"blocksize": 2}),
    ("spacetodepth", "SpaceToDepth", ["x"], [], {"blocksize": 3}),
    ("einsum", "Einsum", ["x", "x"], [], {"equation": "abcd,abed->abce"}),
    ("einsum_bad", "Einsum", ["x", "x"], [], {"equation": "ab..,->z"}),
    ("clip", "Clip", ["x", "lo", "hi"], [const("lo", np.array(0, np.float32)), const("hi", np.array(1, np.float32))],
     {}),
    ("cast", "Cast", ["x"], [], {"to": TensorProto.INT8}),
    ("cast_bad", "Cast", ["x"], [], {"to": 99}),
    ("gathernd", "GatherND", ["x", "i"], [const("i", np.array([[0, 7]], np.int64))], {}),
    ("scatternd", "ScatterND", ["x", "i", "u"], [const("i", np.array([[0, 1]], np.int64)),
                                                 const("u", np.ones((1, 4, 4), np.float32))], {}),
    ("onehot", "OneHot", ["i", "d", "v"], [const("i", np.array([0, 3], np.int64)), const("d", np.array(4, np.int64)),
                                           const("v", np.array([0, 1], np.float32))], {}),
    ("qlinear", "QuantizeLinear", ["x", "s", "z"], [const("s", np.array(0.1, np.float32)),
                                                    const("z", np.array(0, np.int8))], {}),
    ("dql", "DequantizeLinear", ["q", "s"], [const("q", np.ones((4,), np.int8)),
                                             const("s", np.array([0.1, 0.2], np.float32))], {"axis": 3}),
]:
    save("shape_" + name, [helper.make_node(op, ins, ["y"], name="n0", **attrs)], [x4], [y], inits)
# recurrent
xs = vi("x", [3, 1, 4])
for op, gates in [("LSTM", 4), ("GRU", 3), ("RNN", 1)]:
    save("rnn_" + op, [helper.make_node(op, ["x", "W", "R"], ["y"], name="r0", hidden_size=2)], [xs], [y],
         [const("W", np.ones((1, gates * 2, 4), np.float32)), const("R", np.ones((1, gates * 2, 2), np.float32))])
    save("rnn_bad_" + op, [helper.make_node(op, ["x", "W", "R"], ["y"], name="r0", hidden_size=5)], [xs], [y],
         [const("W", np.ones((1, gates, 4), np.float32)), const("R", np.ones((1, 2, 2), np.float32))])
# graph-level breakage: chains, cycles, duplicates, names, value_info
chain = [helper.make_node("Relu", ["x"], ["a"], name="r0"), helper.make_node("Add", ["a", "a"], ["y"], name="a0")]
save("chain", chain, [x4], [y])
save("cycle", [helper.make_node("Relu", ["y"], ["a"], name="r0"), helper.make_node("Relu", ["a"], ["y"], name="r1")],
     [x4], [y])
save("dup_output", [helper.make_node("Relu", ["x"], ["y"], name="r0"), helper.make_node("Relu", ["x"], ["y"], name="r1")],
     [x4], [y])
save("no_output", [helper.make_node("Relu", ["x"], ["a"], name="r0")], [x4], [y])
save("empty_names", [helper.make_node("Relu", [""], [""], name="")], [vi("", [1])], [vi("", [1])])
save("neg_dim_input", [helper.make_node("Relu", ["x"], ["y"], name="r0")], [vi("x", [1, -5])], [y])
save("huge_dim_input", [helper.make_node("Relu", ["x"], ["y"], name="r0")], [vi("x", [1 << 40, 1 << 40])], [y])
save("zero_dim_input", [helper.make_node("Relu", ["x"], ["y"], name="r0")], [vi("x", [0, 4])], [y])
save("wrong_vi", [helper.make_node("Relu", ["x"], ["y"], name="r0")], [x4], [vi("y", [7, 7, 7])])
save("opset_high", chain, [x4], [y], opset=99)
save("opset_zero", chain, [x4], [y], opset=0)
save("opset_1", [helper.make_node("Softmax", ["x"], ["y"], name="s0")], [x4], [y], opset=1)
save("int_input", [helper.make_node("Add", ["x", "x"], ["y"], name="a0")], [vi("x", [2], TensorProto.INT32)], [y])
save("string_input", [helper.make_node("Identity", ["x"], ["y"], name="i0")], [vi("x", [2], TensorProto.STRING)], [y])
bad_raw = const("w", np.ones((4,), np.float32))
bad_raw.raw_data = b"\x00\x00\x80"
save("raw_short", [helper.make_node("Add", ["x", "w"], ["y"], name="a0")], [x2], [y], [bad_raw])
neg = const("w", np.ones((4,), np.float32))
neg.dims[:] = [-4]
save("init_neg_dims", [helper.make_node("Add", ["x", "w"], ["y"], name="a0")], [x2], [y], [neg])
big = const("w", np.ones((4,), np.float32))
big.dims[:] = [1 << 31, 1 << 31, 4]
save("init_huge_dims", [helper.make_node("Add", ["x", "w"], ["y"], name="a0")], [x2], [y], [big])
fd = helper.make_tensor("w", F, [1], [1.0])
fd.dims[:] = [3]
save("float_data_short", [helper.make_node("Add", ["x", "w"], ["y"], name="a0")], [x2], [y], [fd])
ext = const("w", np.ones((4,), np.float32))
ext.ClearField("raw_data")
ext.data_location = TensorProto.EXTERNAL
ext.external_data.add(key="location", value="../../etc/passwd")
save("external_escape", [helper.make_node("Add", ["x", "w"], ["y"], name="a0")], [x2], [y], [ext])
save("constant_node", [helper.make_node("Constant", [], ["c"], name="k0", value=const("v", np.ones((2, 4), np.float32))),
                       helper.make_node("Add", ["x", "c"], ["y"], name="a0")], [x2], [y])
save("constant_no_value", [helper.make_node("Constant", [], ["c"], name="k0"),
                           helper.make_node("Add", ["x", "c"], ["y"], name="a0")], [x2], [y])
save("attr_wrong_type", [helper.make_node("Softmax", ["x"], ["y"], name="s0", axis="one")], [x4], [y])
save("attr_wrong_list", [helper.make_node("Transpose", ["x"], ["y"], name="t0", perm=1.5)], [x4], [y])
save("too_many_inputs", [helper.make_node("Relu", ["x", "x", "x"], ["y", "z"], name="r0")], [x4], [y])
save("no_inputs", [helper.make_node("Conv", [], ["y"], name="c0")], [x4], [y])
save("unknown_domain", [helper.make_node("Foo", ["x"], ["y"], name="f0", domain="com.example")], [x4], [y])
# control flow: If with run-time and constant conditions, nested, and
# malformed; a Loop on a run-time condition (refused)
c = vi("c", [], TensorProto.BOOL)


def branch(op, out_name, inits=(), inputs=()):
    return helper.make_graph([helper.make_node(op, ["x"], [out_name], name=op.lower() + "_" + out_name)], "b",
                             list(inputs), [vi(out_name, None)], list(inits))


save("if_runtime", [helper.make_node("If", ["c"], ["y"], name="if0", then_branch=branch("Relu", "t"),
                                     else_branch=branch("Neg", "e"))], [x4, c], [y])
save("if_const", [helper.make_node("If", ["k"], ["y"], name="if0", then_branch=branch("Relu", "t"),
                                   else_branch=branch("Neg", "e"))], [x4], [y], [const("k", np.array(False))])
inner = helper.make_node("If", ["c"], ["t"], name="if1", then_branch=branch("Abs", "t1"),
                         else_branch=branch("Exp", "t2"))
nested = helper.make_graph([inner], "b", [], [vi("t", None)])
save("if_nested", [helper.make_node("If", ["c"], ["y"], name="if0", then_branch=nested,
                                    else_branch=branch("Neg", "e"))], [x4, c], [y])
save("if_no_else", [helper.make_node("If", ["c"], ["y"], name="if0", then_branch=branch("Relu", "t"))], [x4, c], [y])
save("if_branch_input", [helper.make_node("If", ["c"], ["y"], name="if0", then_branch=branch("Relu", "t"),
                                          else_branch=branch("Neg", "e", inputs=[vi("q", [1])]))], [x4, c], [y])
loop_body = helper.make_graph([helper.make_node("Identity", ["ci"], ["co"], name="i0")], "body",
                              [vi("i", [], TensorProto.INT64), vi("ci", [], TensorProto.BOOL)],
                              [vi("co", [], TensorProto.BOOL)])
save("loop", [helper.make_node("Loop", ["", "c"], [], name="l0", body=loop_body)], [x4, c], [y])
# Loops qcc unrolls: a Loop with a constant trip count whose body reads the
# iteration number, carries a value and has a scan output; a Scan over the
# rows of its input, backwards
acc_body = helper.make_graph([helper.make_node("Gather", ["tab", "i"], ["row"], name="g0", axis=0),
                              helper.make_node("Add", ["a", "row"], ["a2"], name="a0"),
                              helper.make_node("Identity", ["a2"], ["s"], name="s0"),
                              helper.make_node("Less", ["i", "two"], ["go"], name="l1")], "body",
                             [vi("i", [], TensorProto.INT64), vi("ci", [], TensorProto.BOOL), vi("a", [4])],
                             [vi("go", [], TensorProto.BOOL), vi("a2", [4]), vi("s", [4])])
save("loop_unrolled", [helper.make_node("Loop", ["m", "t", "x0"], ["y", "ys"], name="l0", body=acc_body)],
     [vi("x0", [4])], [y, vi("ys", None)],
     [const("m", np.array(4, np.int64)), const("t", np.array(True)), const("two", np.array(2, np.int64)),
      const("tab", np.arange(24, dtype=np.float32).reshape(6, 4))])
scan_body = helper.make_graph([helper.make_node("Add", ["h", "r"], ["h2"], name="a0"),
                               helper.make_node("Tanh", ["h2"], ["o"], name="t0")], "body",
                              [vi("h", [4]), vi("r", [4])], [vi("h2", [4]), vi("o", [4])])
save("scan", [helper.make_node("Scan", ["h0", "xs"], ["y", "ys"], name="s0", body=scan_body, num_scan_inputs=1,
                               scan_input_directions=[1])], [vi("h0", [4]), vi("xs", [3, 4])], [y, vi("ys", None)])
# Loops too big to unroll: C loops (q.loop), one with a run-time condition
save("loop_c", [helper.make_node("Loop", ["m", "", "x0"], ["y", "ys"], name="l0", body=acc_body)],
     [vi("x0", [4])], [y, vi("ys", None)],
     [const("m", np.array(5000, np.int64)), const("two", np.array(2, np.int64)),
      const("tab", np.arange(24, dtype=np.float32).reshape(6, 4))])  # rows past 6 gather zeros
save("loop_c_cond", [helper.make_node("Loop", ["m", "t", "x0"], ["y"], name="l0", body=helper.make_graph(
    [helper.make_node("ReduceSum", ["a"], ["s"], name="r0", keepdims=0),
     helper.make_node("Less", ["s", "lim"], ["go"], name="l1"),
     helper.make_node("Add", ["a", "a"], ["a2"], name="a0")], "body",
    [vi("i", [], TensorProto.INT64), vi("ci", [], TensorProto.BOOL), vi("a", [4])],
    [vi("go", [], TensorProto.BOOL), vi("a2", [4])]))], [vi("x0", [4])], [y],
     [const("m", np.array(5000, np.int64)), const("t", np.array(True)), const("lim", np.array(100.0, np.float32))])
save("scan_c", [helper.make_node("Scan", ["h0", "xs"], ["y", "ys"], name="s0", body=scan_body, num_scan_inputs=1,
                                 scan_input_axes=[1], scan_output_axes=[1], scan_input_directions=[1])],
     [vi("h0", [4]), vi("xs", [4, 3000])], [y, vi("ys", None)])
# ONNX Runtime's contrib ops (domain com.microsoft), expanded into default
# ops by passes/onnx_rules_contrib*.c and onnx_rules_nbits.c
def ms_save(name, nodes, inputs, outputs, inits=()):
    global count
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    open(os.path.join(out, name + ".onnx"), "wb").write(m.SerializeToString())
    count += 1


def ms(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name="m0", domain="com.microsoft", **attrs)


U8 = TensorProto.UINT8
qx = vi("q", [1, 2, 4, 4], U8)
qk = [const("s", np.float32(0.1)), const("z", np.uint8(128))]
ms_save("ms_qlinear_add", [ms("QLinearAdd", ["q", "s", "z", "q", "s", "z", "s", "z"], ["y"])], [qx], [y], qk)
ms_save("ms_qlinear_concat", [ms("QLinearConcat", ["s", "z", "q", "s", "z", "q", "s", "z"], ["y"], axis=1)], [qx], [y],
        qk)
ms_save("ms_qlinear_pool", [ms("QLinearAveragePool", ["q", "s", "z", "s", "z"], ["y"], kernel_shape=[2, 2],
                               channels_last=1)], [qx], [y], qk)
ms_save("ms_qlinear_softmax", [ms("QLinearSoftmax", ["q", "s", "z", "s", "z"], ["y"], axis=1, opset=11)], [qx], [y],
        qk)
ms_save("ms_qgemm", [ms("QGemm", ["g", "s", "z", "w8", "s", "w0", "", "s", "z"], ["y"], transB=1)],
        [vi("g", [2, 4], U8)], [y],
        qk + [const("w8", np.ones((3, 4), np.int8)), const("w0", np.zeros(3, np.int8))])
x3 = vi("x", [1, 4, 8])
ln = [const("gm", np.ones(8, np.float32)), const("bt", np.zeros(8, np.float32))]
ms_save("ms_skip_ln", [ms("SkipLayerNormalization", ["x", "x", "gm", "bt", "bt"], ["y", "", "", "s"])], [x3],
        [y, vi("s", None)], ln)
ms_save("ms_fast_gelu", [ms("FastGelu", ["x", "bt"], ["y"])], [x3], [y], ln)
ms_save("ms_fused_matmul", [ms("FusedMatMul", ["x", "x"], ["y"], transB=1, alpha=0.5)], [x3], [y])
ms_save("ms_attention", [ms("Attention", ["x", "aw", "ab", "am"], ["y"], num_heads=2, unidirectional=1)],
        [x3, vi("am", [1], TensorProto.INT32)], [y],
        [const("aw", np.ones((8, 24), np.float32)), const("ab", np.zeros(24, np.float32))])
ms_save("ms_mha", [ms("MultiHeadAttention", ["x", "x", "x", "", "km"], ["y"], num_heads=2)],
        [x3, vi("km", [1, 4], TensorProto.INT32)], [y])
ms_save("ms_rotary", [ms("RotaryEmbedding", ["x", "p", "rc", "rc"], ["y"], num_heads=2)], [x3], [y],
        [const("p", np.array(1, np.int64)), const("rc", np.ones((8, 2), np.float32))])
ms_save("ms_embed_ln", [ms("EmbedLayerNormalization", ["ids", "", "we", "pe", "", "gm", "bt", "ids"], ["y", "mi"])],
        [vi("ids", [1, 4], TensorProto.INT32)], [y, vi("mi", None)],
        ln + [const("we", np.ones((5, 8), np.float32)), const("pe", np.ones((6, 8), np.float32))])
ms_save("ms_nbits", [ms("MatMulNBits", ["x", "nb", "ns"], ["y"], K=8, N=3, bits=4, block_size=16)], [x3], [y],
        [const("nb", np.full((3, 1, 8), 0x98, np.uint8)), const("ns", np.ones(3, np.float32))])
ms_save("ms_nbits_short", [ms("MatMulNBits", ["x", "nb", "ns"], ["y"], K=8, N=3, bits=4, block_size=16)], [x3], [y],
        [const("nb", np.ones((3, 1, 3), np.uint8)), const("ns", np.ones(3, np.float32))])
ms_save("ms_unknown", [ms("NoSuchOp", ["x"], ["y"])], [x3], [y])
print(f"{count} models in {out}")
