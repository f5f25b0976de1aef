"""Pre-quantized (QOperator) models for test/import/adopt-int8.test: the
QLinearConv / QLinearMatMul forms ONNX Runtime's quantize_static writes
and the variants a model may carry, with constant weights (which qcc runs
on its int8 kernels, passes/onnx_adopt_int8.c) and one with a run-time
weight (which keeps the exact int32 path).

    python3 make_adopt_int8_models.py OUTDIR

qconv.onnx (inputs x u8 [1, 8, 9, 9], xi i8 [1, 3, 7, 7]):
  y:  QLinearConv 3x3 pad 1, per-channel int8 weights, int32 bias
      -> QLinearConv depthwise 3x3 stride 2 (group 16), per-tensor scale
      -> QLinearConv 1x1 with uint8 weights, zero point 128, no bias: u8
  yi: QLinearConv 2x2 dilation 2 on int8 codes (zero point -5), int8 out
qmm.onnx (inputs a u8 [2, 5, 24], ai i8 [6, 24], wr i8 [24, 8]):
  y:  QLinearMatMul by int8 b [24, 16], per-column scales -> u8
  yu: the same a by uint8 b [24, 8] (zero point 128) -> u8
  yi: QLinearMatMul of int8 a (zero point 3) by int8 b -> int8
  yr: QLinearMatMul by the run-time weight wr: the int32 path"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
rng = np.random.default_rng(7)
inits = []


def const(name, arr):
    inits.append(nh.from_array(np.asarray(arr), name))
    return name


def qconv(name, x, sx, zx, w, sw, zw, sy, zy, b=None, **attrs):
    ins = [x, const(name + "_sx", np.float32(sx)), const(name + "_zx", zx), const(name + "_w", w),
           const(name + "_sw", sw), const(name + "_zw", zw), const(name + "_sy", np.float32(sy)),
           const(name + "_zy", zy)]
    if b is not None:
        ins.append(const(name + "_b", b))
    return h.make_node("QLinearConv", ins, [name], name=name, **attrs)


c1w = rng.integers(-128, 128, (16, 8, 3, 3)).astype(np.int8)
c2w = rng.integers(-127, 128, (16, 1, 3, 3)).astype(np.int8)
c3w = rng.integers(0, 256, (12, 16, 1, 1)).astype(np.uint8)
ciw = rng.integers(-100, 100, (4, 3, 2, 2)).astype(np.int8)
nodes = [
    qconv("c1", "x", 0.02, np.uint8(120), c1w, (rng.random(16) * 0.004 + 0.001).astype(np.float32),
          np.zeros(16, np.int8), 0.05, np.uint8(128), rng.integers(-3000, 3000, 16).astype(np.int32),
          pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    qconv("c2", "c1", 0.05, np.uint8(128), c2w, np.float32(0.01), np.int8(0), 0.04, np.uint8(100),
          rng.integers(-500, 500, 16).astype(np.int32), pads=[1, 1, 1, 1], strides=[2, 2], group=16),
    qconv("y", "c2", 0.04, np.uint8(100), c3w, np.float32(0.003), np.uint8(128), 0.06, np.uint8(128)),
    qconv("yi", "xi", 0.03, np.int8(-5), ciw, (rng.random(4) * 0.01 + 0.002).astype(np.float32),
          np.zeros(4, np.int8), 0.1, np.int8(10), rng.integers(-800, 800, 4).astype(np.int32), dilations=[2, 2]),
]
g = h.make_graph(nodes, "qconv", [h.make_tensor_value_info("x", T.UINT8, [1, 8, 9, 9]),
                                  h.make_tensor_value_info("xi", T.INT8, [1, 3, 7, 7])],
                 [h.make_tensor_value_info("y", T.UINT8, None), h.make_tensor_value_info("yi", T.INT8, None)], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "qconv.onnx"))
np.save(os.path.join(out, "x.npy"), rng.integers(0, 256, (1, 8, 9, 9)).astype(np.uint8))
np.save(os.path.join(out, "xi.npy"), rng.integers(-128, 128, (1, 3, 7, 7)).astype(np.int8))

inits = []


def qmm(name, a, sa, za, b, sb, zb, sy, zy):
    b = b if isinstance(b, str) else const(name + "_b", b)
    ins = [a, const(name + "_sa", np.float32(sa)), const(name + "_za", za), b, const(name + "_sb", sb),
           const(name + "_zb", zb), const(name + "_sy", np.float32(sy)), const(name + "_zy", zy)]
    return h.make_node("QLinearMatMul", ins, [name], name=name)


nodes = [
    qmm("y", "a", 0.02, np.uint8(130), rng.integers(-128, 128, (24, 16)).astype(np.int8),
        (rng.random(16) * 0.004 + 0.002).astype(np.float32), np.zeros(16, np.int8), 0.08, np.uint8(125)),
    qmm("yu", "a", 0.02, np.uint8(130), rng.integers(0, 256, (24, 8)).astype(np.uint8), np.float32(0.002),
        np.uint8(128), 0.05, np.uint8(120)),
    qmm("yi", "ai", 0.03, np.int8(3), rng.integers(-128, 128, (24, 8)).astype(np.int8), np.float32(0.005),
        np.int8(0), 0.1, np.int8(-2)),
    qmm("yr", "ai", 0.03, np.int8(3), "wr", np.float32(0.005), np.int8(0), 0.1, np.int8(-2)),
]
g = h.make_graph(nodes, "qmm", [h.make_tensor_value_info("a", T.UINT8, [2, 5, 24]),
                                h.make_tensor_value_info("ai", T.INT8, [6, 24]),
                                h.make_tensor_value_info("wr", T.INT8, [24, 8])],
                 [h.make_tensor_value_info(n, t, None) for n, t in [("y", T.UINT8), ("yu", T.UINT8), ("yi", T.INT8),
                                                                    ("yr", T.INT8)]],
                 inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "qmm.onnx"))
np.save(os.path.join(out, "a.npy"), rng.integers(0, 256, (2, 5, 24)).astype(np.uint8))
np.save(os.path.join(out, "ai.npy"), rng.integers(-128, 128, (6, 24)).astype(np.int8))
np.save(os.path.join(out, "wr.npy"), rng.integers(-128, 128, (24, 8)).astype(np.int8))

# qdq.onnx (inputs x u8 [1, 8, 9, 9], a u8 [4, 24]): the QDQ form of such
# layers, as quantize_static writes it (onnx_fuse_qdq.c fuses them):
#   y:  DQ -> Conv 3x3 (DQ int8 weights per channel, DQ int32 bias of
#       scale x_scale w_scale) -> Relu -> Q -> DQ -> Conv 1x1 (one weight
#       scale, no bias) -> Clip(-1.5, 2) -> Q
#   ym: DQ -> MatMul (DQ int8 b [24, 16], scales per column, axis 1) -> Q int8
#   yg: DQ -> Gemm (transB, DQ int8 B [10, 24] per row, DQ int32 C) -> Relu -> Q
#   yh: DQ -> Gemm (uint8 B [24, 6], zero point 3: past int8; DQ int32 C) -> Q:
#       fused, then the exact int32 path with the bias added to the sums
#   yf: DQ -> Conv with a float weight -> Q: not a quantized layer, stays float
#   yr: DQ -> Conv (uint8 weights, zero point 3: past int8) -> Relu -> Q:
#       fused, then the exact int32 path, the Relu as a clamp of the codes
inits = []


def dq(name, x, scale, zp=None, axis=None):
    ins = [x, const(name + "_s", scale)] + ([const(name + "_z", zp)] if zp is not None else [])
    return h.make_node("DequantizeLinear", ins, [name], name=name, **({"axis": axis} if axis is not None else {}))


def q(name, x, scale, zp):
    return h.make_node("QuantizeLinear", [x, const(name + "_s", np.float32(scale)), const(name + "_z", zp)], [name],
                       name=name)


sx, sw1 = np.float32(0.02), (rng.random(16) * 0.004 + 0.001).astype(np.float32)
sbg = (rng.random(10) * 0.004 + 0.002).astype(np.float32)
nodes = [
    dq("x_f", "x", sx, np.uint8(120)),
    dq("w1_f", const("w1", rng.integers(-127, 128, (16, 8, 3, 3)).astype(np.int8)), sw1, np.zeros(16, np.int8), 0),
    dq("b1_f", const("b1", rng.integers(-3000, 3000, 16).astype(np.int32)), (sx * sw1).astype(np.float32), axis=0),
    h.make_node("Conv", ["x_f", "w1_f", "b1_f"], ["c1"], name="c1", pads=[1, 1, 1, 1]),
    h.make_node("Relu", ["c1"], ["r1"], name="r1"),
    q("r1_q", "r1", 0.05, np.uint8(20)),
    dq("r1_f", "r1_q", np.float32(0.05), np.uint8(20)),
    dq("w2_f", const("w2", rng.integers(-127, 128, (12, 16, 1, 1)).astype(np.int8)), np.float32(0.003)),
    h.make_node("Conv", ["r1_f", "w2_f"], ["c2"], name="c2"),
    h.make_node("Clip", ["c2", const("lo2", np.float32(-1.5)), const("hi2", np.float32(2.0))], ["k2"], name="k2"),
    q("y", "k2", 0.06, np.uint8(128)),
    dq("a_f", "a", np.float32(0.03), np.uint8(125)),
    dq("b_f", const("b", rng.integers(-127, 128, (24, 16)).astype(np.int8)),
       (rng.random(16) * 0.004 + 0.002).astype(np.float32), np.zeros(16, np.int8), 1),
    h.make_node("MatMul", ["a_f", "b_f"], ["mm"], name="mm"),
    q("ym", "mm", 0.07, np.int8(-3)),
    dq("bg_f", const("bg", rng.integers(-127, 128, (10, 24)).astype(np.int8)), sbg, np.zeros(10, np.int8), 0),
    dq("cg_f", const("cg", rng.integers(-4000, 4000, 10).astype(np.int32)), (np.float32(0.03) * sbg).astype(np.float32),
       axis=0),
    h.make_node("Gemm", ["a_f", "bg_f", "cg_f"], ["gm"], name="gm", transB=1),
    h.make_node("Relu", ["gm"], ["gr"], name="gr"),
    q("yg", "gr", 0.05, np.uint8(10)),
    dq("bh_f", const("bh", rng.integers(0, 256, (24, 6)).astype(np.uint8)), np.float32(0.003), np.uint8(3)),
    dq("ch_f", const("ch", rng.integers(-4000, 4000, 6).astype(np.int32)), np.float32(np.float32(0.03) * np.float32(0.003))),
    h.make_node("Gemm", ["a_f", "bh_f", "ch_f"], ["gh"], name="gh"),
    q("yh", "gh", 0.08, np.uint8(128)),
    h.make_node("Conv", ["x_f", const("wf", (rng.standard_normal((4, 8, 1, 1)) * 0.1).astype(np.float32))], ["cf"],
                name="cf"),
    q("yf", "cf", 0.02, np.uint8(128)),
    dq("w3_f", const("w3", rng.integers(0, 256, (6, 8, 3, 3)).astype(np.uint8)), np.float32(0.002), np.uint8(3)),
    h.make_node("Conv", ["x_f", "w3_f"], ["c3"], name="c3"),
    h.make_node("Relu", ["c3"], ["r3"], name="r3"),
    q("yr", "r3", 0.04, np.uint8(60)),
]
g = h.make_graph(nodes, "qdq", [h.make_tensor_value_info("x", T.UINT8, [1, 8, 9, 9]),
                                h.make_tensor_value_info("a", T.UINT8, [4, 24])],
                 [h.make_tensor_value_info(n, t, None) for n, t in [("y", T.UINT8), ("ym", T.INT8), ("yf", T.UINT8),
                                                                    ("yr", T.UINT8), ("yg", T.UINT8), ("yh", T.UINT8)]],
                 inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "qdq.onnx"))
np.save(os.path.join(out, "qa.npy"), rng.integers(0, 256, (4, 24)).astype(np.uint8))

# qempty.onnx: a QLinearConv with no output channels (a weight [0, 4, 3, 3]):
# not adopted (nothing to adopt, and no division by its channel count)
inits = []
g = h.make_graph([qconv("y", "x", 0.1, np.uint8(0), np.zeros((0, 4, 3, 3), np.int8), np.float32(0.1), np.int8(0), 0.1,
                        np.uint8(0))], "qempty", [h.make_tensor_value_info("x", T.UINT8, [1, 4, 5, 5])],
                 [h.make_tensor_value_info("y", T.UINT8, None)], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "qempty.onnx"))
