#!/usr/bin/python3
"""Writes models of ONNX Runtime's contrib operators (domain com.microsoft)
for test/import/contrib.test, with their inputs; the references are ONNX
Runtime's own outputs (test/tools/ort_run.js):
  qop.onnx      the QOperator format's ops on uint8 codes: QLinearAdd,
                QLinearMul (broadcast), QLinearSigmoid, QLinearLeakyRelu,
                QLinearConcat, QLinearAveragePool (3x3, stride 2, pad 1),
                QLinearGlobalAveragePool (NCHW and channels_last),
                QLinearSoftmax (opset 13 and opset 11's 2-D coercion),
                QGemm (int8 weights per column, transB,
                int32 bias; uint8 and float out), int8 QLinearAdd and
                QLinearWhere (broadcast condition); com.microsoft's
                DequantizeLinear and QuantizeLinear per channel
  qmatmul.onnx  MatMulIntegerToFloat and DynamicQuantizeMatMul
  fused.onnx    the transformer optimizer's float fusions: Gelu, BiasGelu,
                FastGelu, QuickGelu, FusedMatMul (transA, transB, alpha,
                batched), SkipLayerNormalization (beta, bias; the
                mean, inverse deviation and sum outputs),
                SkipSimplifiedLayerNormalization and the default-domain
                SimplifiedLayerNormalization; Trilu and
                GridSample of ORT's domain
  embed.onnx    EmbedLayerNormalization: word, position and segment
                embeddings with a key mask (its mask_index output), and
                without segments or mask, with position_ids
  attention.onnx   Attention (2-D key mask; causal with past and [B] key
                ends, the stacked present; [2B] starts and ends with an
                attention_bias and a scale; a smaller V with a 3-D mask),
                QAttention (uint8 input, int8 weights, 2-D key mask),
                MultiHeadAttention (cross attention with bias and a key
                padding mask; causal self attention with past and present;
                key and value in BNSH with an attention_bias) and
                RotaryEmbedding (3-D with a position offset; 4-D,
                interleaved, partial, per-token positions)
  fusedconv.onnx  ORT's graph optimizer's FusedConv (Relu with a sum
                input, LeakyRelu, Clip, HardSigmoid) and FusedGemm
  gqa.onnx      GroupQueryAttention: a first prompt (batch 2, one entry
                padded) with rotary; one decoded token on ragged pasts
                with a local window; a prompt continued on a past with
                softcap, scale and attention_bias; packed QKV
  u8moves.onnx  uint8 MaxPool, Resize, Pad (the zero point as its value),
                Split, Slice, Flatten, Transpose, DepthToSpace: what a
                QOperator model runs between its QLinear ops
  nbits.onnx    MatMulNBits: 4-bit blocks of 16 with packed zero points,
                and 4-bit blocks of 32 with the default zero point and a bias
  unknown.onnx  a com.microsoft op qcc has no rule for (refused)
  domain.onnx   an op of another domain (refused)
  batch.onnx    FusedMatMul with transBatchA (refused)
  mask4d.onnx   Attention with a 4-D (Megatron) mask (refused)
  gqa_dyn.onnx  GroupQueryAttention whose total_sequence_length is a
                run-time input (refused: it sets the present's length)
  badcat.onnx   QLinearConcat of inputs whose shapes differ (refused, the
                error naming the node and the op it expanded into)
The int8 weights against uint8 activations hold 7-bit values, as ONNX
Runtime's quantizer makes them (reduce_range): its u8 x s8 kernels on AVX2
without VNNI add pairs of products in int16 with saturation, so full
8-bit weights would make the reference, not qcc, wrong.
usage: make_contrib_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
rng = np.random.default_rng(7)


def save(out, name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MS, 1)])
    m.ir_version = 8
    onnx.save(m, os.path.join(out, name + ".onnx"))


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def const(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, domain=MS, **attrs)


def qop(out):
    u8, i8 = TensorProto.UINT8, TensorProto.INT8
    inits = [const("sa", np.float32(0.05)), const("za", np.uint8(120)), const("sb", np.float32(0.03)),
             const("zb", np.uint8(131)), const("sc", np.float32(0.07)), const("zc", np.uint8(128)),
             const("ss", np.float32(1 / 256)), const("zs", np.uint8(0)), const("sp", np.float32(0.04)),
             const("zp", np.uint8(100)),
             const("si", np.float32(0.02)), const("so", np.float32(0.035)), const("zi", np.int8(-3)),
             const("zo", np.int8(5)),
             const("wq", rng.integers(-63, 64, (5, 24)).astype(np.int8)),  # 7 bits: see the top
             const("ws", (rng.random(5) * 0.01 + 0.002).astype(np.float32)), const("wz", np.zeros(5, np.int8)),
             const("bias", rng.integers(-3000, 3000, 5).astype(np.int32)),
             const("sg", np.float32(0.09)), const("zg", np.uint8(125)),
             const("s4", np.array([0.01, 0.02, 0.04, 0.08], np.float32)),
             const("z4", np.array([0, 100, 128, 255], np.uint8))]
    nodes = [
        node("QLinearAdd", ["a", "sa", "za", "b", "sb", "zb", "sc", "zc"], ["add"]),
        node("QLinearMul", ["a", "sa", "za", "bc", "sb", "zb", "sc", "zc"], ["mul"]),
        node("QLinearSigmoid", ["a", "sa", "za", "ss", "zs"], ["sig"]),
        node("QLinearLeakyRelu", ["a", "sa", "za", "sp", "zp"], ["lrelu"], alpha=0.1),
        node("QLinearConcat", ["sc", "zc", "a", "sa", "za", "b", "sb", "zb"], ["cat"], axis=1),
        node("QLinearAveragePool", ["a", "sa", "za", "sp", "zp"], ["avg"], kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1], count_include_pad=0),
        node("QLinearGlobalAveragePool", ["a", "sa", "za", "sp", "zp"], ["gap"]),
        node("QLinearGlobalAveragePool", ["nhwc", "sa", "za", "sp", "zp"], ["gap_last"], channels_last=1),
        node("QLinearSoftmax", ["a", "sa", "za", "ss", "zs"], ["sm13"], axis=-1, opset=13),
        node("QLinearSoftmax", ["a", "sa", "za", "ss", "zs"], ["sm11"], axis=2, opset=11),
        node("QGemm", ["g", "sa", "za", "wq", "ws", "wz", "bias", "sg", "zg"], ["gemm"], transB=1),
        node("QGemm", ["g", "sa", "za", "wq", "ws", "wz", "bias"], ["gemm_f"], transB=1, alpha=0.5),
        node("QLinearAdd", ["ia", "si", "zi", "ib", "si", "zi", "so", "zo"], ["add_i8"]),
        node("QLinearWhere", ["cond", "ia", "si", "zi", "ib", "so", "zo", "si", "zi"], ["where_i8"]),
        node("DequantizeLinear", ["a", "s4", "z4"], ["ms_dq"], axis=1),
        node("QuantizeLinear", ["ms_dq", "s4", "z4"], ["ms_q"], axis=1),
    ]
    save(out, "qop", nodes,
         [vi("a", [1, 4, 6, 6], u8), vi("b", [1, 4, 6, 6], u8), vi("bc", [1, 4, 1, 1], u8),
          vi("nhwc", [1, 6, 6, 4], u8), vi("g", [3, 24], u8), vi("ia", [2, 9], i8), vi("ib", [2, 9], i8),
          vi("cond", [1, 9], TensorProto.BOOL)],
         [vi(n, None, u8) for n in ["add", "mul", "sig", "lrelu", "cat", "avg", "gap", "gap_last", "sm13", "sm11",
                                    "gemm"]] + [vi("gemm_f", None), vi("add_i8", None, i8), vi("where_i8", None, i8), vi("ms_dq", None),
                                vi("ms_q", None, u8)], inits)
    # codes spread over the whole range, and some pairs that meet exactly
    np.save(os.path.join(out, "qa.npy"), rng.integers(0, 256, (1, 4, 6, 6)).astype(np.uint8))
    np.save(os.path.join(out, "qb.npy"), rng.integers(0, 256, (1, 4, 6, 6)).astype(np.uint8))
    np.save(os.path.join(out, "qbc.npy"), rng.integers(0, 256, (1, 4, 1, 1)).astype(np.uint8))
    np.save(os.path.join(out, "qnhwc.npy"), rng.integers(0, 256, (1, 6, 6, 4)).astype(np.uint8))
    np.save(os.path.join(out, "qg.npy"), rng.integers(0, 256, (3, 24)).astype(np.uint8))
    np.save(os.path.join(out, "qia.npy"), rng.integers(-128, 128, (2, 9)).astype(np.int8))
    np.save(os.path.join(out, "qib.npy"), rng.integers(-128, 128, (2, 9)).astype(np.int8))
    np.save(os.path.join(out, "qcond.npy"), rng.random((1, 9)) < 0.5)


def qmatmul(out):
    inits = [const("w", rng.integers(-63, 64, (16, 6)).astype(np.int8)),
             const("ws", (rng.random(6) * 0.01).astype(np.float32)), const("wz", np.zeros(6, np.int8)),
             const("as", np.float32(0.02)), const("az", np.uint8(130)),
             const("bias", rng.standard_normal(6).astype(np.float32))]
    nodes = [node("MatMulIntegerToFloat", ["aq", "w", "as", "ws", "az", "wz", "bias"], ["y1"]),
             node("DynamicQuantizeMatMul", ["af", "w", "ws", "wz", "bias"], ["y2"])]
    save(out, "qmatmul", nodes, [vi("aq", [2, 3, 16], TensorProto.UINT8), vi("af", [2, 3, 16])],
         [vi("y1", None), vi("y2", None)], inits)
    np.save(os.path.join(out, "mm_aq.npy"), rng.integers(0, 256, (2, 3, 16)).astype(np.uint8))
    np.save(os.path.join(out, "mm_af.npy"), rng.standard_normal((2, 3, 16)).astype(np.float32))


def fused(out):
    D = 8
    inits = [const("bias", rng.standard_normal(D).astype(np.float32)),
             const("gamma", (1 + 0.1 * rng.standard_normal(D)).astype(np.float32)),
             const("beta", (0.1 * rng.standard_normal(D)).astype(np.float32)),
             const("w", rng.standard_normal((2, D, 5)).astype(np.float32)), const("one", np.array(1, np.int64)),
             const("grid", rng.uniform(-1.2, 1.2, (1, 3, 3, 2)).astype(np.float32))]
    nodes = [
        node("Gelu", ["x"], ["gelu"]),
        node("BiasGelu", ["x", "bias"], ["bias_gelu"]),
        node("FastGelu", ["x", "bias"], ["fast_gelu"]),
        node("QuickGelu", ["x"], ["quick_gelu"], alpha=1.5),
        node("FusedMatMul", ["xt", "w"], ["fmm"], transA=1, alpha=0.25),
        node("FusedMatMul", ["x", "wt"], ["fmm_b"], transB=1),
        node("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"], ["sln", "sln_mean", "sln_inv", "sln_sum"],
             epsilon=1e-5),
        node("SkipSimplifiedLayerNormalization", ["x", "skip", "gamma"], ["ssln"], epsilon=1e-6),
        helper.make_node("SimplifiedLayerNormalization", ["x", "gamma"], ["sl"], axis=-1, epsilon=1e-6),
        node("Trilu", ["x", "one"], ["tril"], upper=0),
        node("GridSample", ["img", "grid"], ["gs"], align_corners=1, mode="bilinear", padding_mode="border"),
    ]
    save(out, "fused", nodes, [vi("x", [2, 3, D]), vi("skip", [2, 3, D]), vi("xt", [2, D, 3]), vi("wt", [5, D]),
                               vi("img", [1, 2, 4, 5])],
         [vi(n, None) for n in ["gelu", "bias_gelu", "fast_gelu", "quick_gelu", "fmm", "fmm_b", "sln",
                                "sln_mean", "sln_inv", "sln_sum", "ssln", "sl", "tril", "gs"]], inits)
    for name, shape in [("x", (2, 3, D)), ("skip", (2, 3, D)), ("xt", (2, D, 3)), ("wt", (5, D)), ("img", (1, 2, 4, 5))]:
        np.save(os.path.join(out, f"f_{name}.npy"), (2 * rng.standard_normal(shape)).astype(np.float32))


def embed(out):
    V, P, H, B, S = 11, 9, 8, 2, 5
    inits = [const("word", rng.standard_normal((V, H)).astype(np.float32)),
             const("pos", rng.standard_normal((P, H)).astype(np.float32)),
             const("seg", rng.standard_normal((2, H)).astype(np.float32)),
             const("gamma", (1 + 0.1 * rng.standard_normal(H)).astype(np.float32)),
             const("beta", (0.1 * rng.standard_normal(H)).astype(np.float32))]
    nodes = [node("EmbedLayerNormalization", ["ids", "segs", "word", "pos", "seg", "gamma", "beta", "mask"],
                  ["emb", "mask_index", "emb_sum"], epsilon=1e-5),
             node("EmbedLayerNormalization", ["ids", "", "word", "pos", "", "gamma", "beta", "", "pids"],
                  ["emb_pid", "no_mask"])]
    i32 = TensorProto.INT32
    save(out, "embed", nodes, [vi("ids", [B, S], i32), vi("segs", [B, S], i32), vi("mask", [B, S], i32),
                               vi("pids", [1, S], i32)],
         [vi("emb", None), vi("mask_index", None, i32), vi("emb_sum", None), vi("emb_pid", None),
          vi("no_mask", None, i32)], inits)
    np.save(os.path.join(out, "e_ids.npy"), rng.integers(0, V, (B, S)).astype(np.int32))
    np.save(os.path.join(out, "e_segs.npy"), rng.integers(0, 2, (B, S)).astype(np.int32))
    np.save(os.path.join(out, "e_mask.npy"), np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.int32))
    np.save(os.path.join(out, "e_pids.npy"), np.array([[3, 4, 5, 6, 7]], np.int32))


def attention(out):
    B, S, D, N, P, L = 2, 4, 16, 2, 3, 5
    H = D // N
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    i32 = TensorProto.INT32
    inits = [const("w", f(D, 3 * D) / 4), const("b", f(3 * D)), const("w2", f(D, 2 * D + D // 2) / 4),
             const("b2", f(2 * D + D // 2)), const("ab", f(1, N, S, S)), const("mb", f(3 * D)),
             const("mab", f(B, 1, S, L)),
             const("cos", np.cos(np.arange(12)[:, None] * 0.3 / (1 + np.arange(4))).astype(np.float32)),
             const("sin", np.sin(np.arange(12)[:, None] * 0.3 / (1 + np.arange(4))).astype(np.float32)),
             const("cos2", np.cos(np.arange(12)[:, None] * 0.5 / (1 + np.arange(2))).astype(np.float32)),
             const("sin2", np.sin(np.arange(12)[:, None] * 0.5 / (1 + np.arange(2))).astype(np.float32)),
             const("p0", np.array(3, np.int64)),
             const("wq", rng.integers(-63, 64, (D, 3 * D)).astype(np.int8)),  # 7 bits: see the top
             const("xs", np.float32(0.02)), const("wsc", np.float32(0.01)), const("xz", np.uint8(128)),
             const("wz", np.int8(0))]
    nodes = [
        node("Attention", ["x", "w", "b", "mask2d"], ["att"], num_heads=N),
        node("Attention", ["x", "w", "b", "ends", "past"], ["att_past", "present"], num_heads=N, unidirectional=1),
        node("Attention", ["x", "w", "b", "startend", "", "ab"], ["att_se"], num_heads=N, scale=0.2),
        node("Attention", ["x", "w2", "b2", "mask3d"], ["att_dv"], num_heads=N, qkv_hidden_sizes=[D, D, D // 2]),
        node("QAttention", ["xq", "wq", "b", "xs", "wsc", "mask2d", "xz", "wz"], ["qatt"], num_heads=N),
        node("MultiHeadAttention", ["x", "k", "v", "mb", "kpm"], ["mha"], num_heads=N),
        node("MultiHeadAttention", ["x", "x", "x", "mb", "ends", "", "pk", "pv"], ["mha_past", "mha_pk", "mha_pv"],
             num_heads=N, unidirectional=1),
        node("MultiHeadAttention", ["x", "k4", "v4", "", "", "mab"], ["mha_bnsh"], num_heads=N, mask_filter_value=-1e4),
        node("RotaryEmbedding", ["x", "p0", "cos", "sin"], ["rot"], num_heads=N),
        node("RotaryEmbedding", ["x4", "pids", "cos2", "sin2"], ["rot_part"], interleaved=1, rotary_embedding_dim=4,
             num_heads=N),
    ]
    save(out, "attention", nodes,
         [vi("x", [B, S, D]), vi("mask2d", [B, S], i32), vi("ends", [B], i32), vi("past", [2, B, N, P, H]),
          vi("startend", [2 * B], i32), vi("mask3d", [B, S, S], i32), vi("k", [B, L, D]), vi("v", [B, L, D]),
          vi("kpm", [B, L], i32), vi("pk", [B, N, P, H]), vi("pv", [B, N, P, H]), vi("k4", [B, N, L, H]),
          vi("v4", [B, N, L, H]), vi("x4", [B, N, S, H]), vi("pids", [B, S], TensorProto.INT64),
          vi("xq", [B, S, D], TensorProto.UINT8)],
         [vi(n, None) for n in ["att", "att_past", "present", "att_se", "att_dv", "qatt", "mha", "mha_past", "mha_pk",
                                "mha_pv",
                                "mha_bnsh", "rot", "rot_part"]], inits)
    data = {"x": f(B, S, D), "mask2d": np.array([[1, 1, 0, 1], [1, 1, 1, 1]], np.int32),
            "ends": np.array([5, 7], np.int32), "past": f(2, B, N, P, H),
            "startend": np.array([3, 4, 1, 0], np.int32),
            "mask3d": (rng.random((B, S, S)) < 0.7).astype(np.int32), "k": f(B, L, D), "v": f(B, L, D),
            "kpm": np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], np.int32), "pk": f(B, N, P, H), "pv": f(B, N, P, H),
            "k4": f(B, N, L, H), "v4": f(B, N, L, H), "x4": f(B, N, S, H),
            "pids": rng.integers(0, 12, (B, S)).astype(np.int64), "xq": rng.integers(0, 256, (B, S, D)).astype(np.uint8)}
    for name, a in data.items():
        np.save(os.path.join(out, f"a_{name}.npy"), a)


def fused_conv(out):
    """ORT's graph optimizer's FusedConv and FusedGemm (models it saved)."""
    inits = [const("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
             const("b", rng.standard_normal(4).astype(np.float32)),
             const("gw", rng.standard_normal((5, 12)).astype(np.float32)),
             const("gb", rng.standard_normal(5).astype(np.float32))]
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    nodes = [node("FusedConv", ["x", "w", "b", "z"], ["relu_z"], activation="Relu", **conv),
             node("FusedConv", ["x", "w", "b"], ["leaky"], activation="LeakyRelu", activation_params=[0.2], **conv),
             node("FusedConv", ["x", "w"], ["clip"], activation="Clip", activation_params=[-1.0, 2.0], strides=[2, 2],
                  **conv),
             node("FusedConv", ["x", "w", "b"], ["hsig"], activation="HardSigmoid", activation_params=[0.3, 0.4], **conv),
             node("FusedGemm", ["g", "gw", "gb"], ["gemm_leaky"], transB=1, alpha=0.5, activation="LeakyRelu",
                  activation_alpha=0.1),
             node("FusedGemm", ["g", "gw"], ["gemm_tanh"], transB=1, activation="Tanh")]
    save(out, "fusedconv", nodes, [vi("x", [1, 3, 6, 6]), vi("z", [1, 4, 6, 6]), vi("g", [3, 12])],
         [vi(n, None) for n in ["relu_z", "leaky", "clip", "hsig", "gemm_leaky", "gemm_tanh"]], inits)
    for name, shape in [("x", (1, 3, 6, 6)), ("z", (1, 4, 6, 6)), ("g", (3, 12))]:
        np.save(os.path.join(out, f"fc_{name}.npy"), rng.standard_normal(shape).astype(np.float32))


def gqa(out):
    """GroupQueryAttention as ONNX Runtime GenAI's models use it: 4 query
    heads over 2 key/value heads of 16."""
    N, KV, H, M = 4, 2, 16, 32
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    ang = np.arange(M)[:, None] * 0.1 / (1 + np.arange(H // 2))
    inits = [const("cos", np.cos(ang).astype(np.float32)), const("sin", np.sin(ang).astype(np.float32)),
             const("t5", np.array([5], np.int32)), const("t7", np.array([7], np.int32)),
             const("t4", np.array([4], np.int32)), const("ab", f(1, 1, 3, 7))]
    i32 = TensorProto.INT32
    nodes = [
        # a first prompt of 5 tokens, batch 2, the second padded to 3
        node("GroupQueryAttention", ["q1", "k1", "v1", "", "", "sl1", "t5", "cos", "sin"], ["y1", "pk1", "pv1"],
             num_heads=N, kv_num_heads=KV, do_rotary=1),
        # one decoded token on pasts of 6 and 3 valid rows, a window of 3
        node("GroupQueryAttention", ["q2", "k2", "v2", "pk2", "pv2", "sl2", "t7", "cos", "sin"], ["y2", "pk2o", "pv2o"],
             num_heads=N, kv_num_heads=KV, do_rotary=1, local_window_size=3),
        # a prompt of 3 continued on a past of 4, softcap, scale, bias
        node("GroupQueryAttention", ["q3", "k3", "v3", "pk3", "pv3", "sl3", "t7", "", "", "", "ab"],
             ["y3", "pk3o", "pv3o"], num_heads=N, kv_num_heads=KV, softcap=5.0, scale=0.3),
        # packed QKV
        node("GroupQueryAttention", ["qkv", "", "", "", "", "sl4", "t4"], ["y4", "pk4", "pv4"], num_heads=N,
             kv_num_heads=KV),
    ]
    ins = {"q1": f(2, 5, N * H), "k1": f(2, 5, KV * H), "v1": f(2, 5, KV * H), "sl1": np.array([4, 2], np.int32),
           "q2": f(2, 1, N * H), "k2": f(2, 1, KV * H), "v2": f(2, 1, KV * H), "pk2": f(2, KV, 6, H),
           "pv2": f(2, KV, 6, H), "sl2": np.array([6, 3], np.int32),
           "q3": f(1, 3, N * H), "k3": f(1, 3, KV * H), "v3": f(1, 3, KV * H), "pk3": f(1, KV, 4, H),
           "pv3": f(1, KV, 4, H), "sl3": np.array([6], np.int32),
           "qkv": f(1, 4, (N + 2 * KV) * H), "sl4": np.array([3], np.int32)}
    save(out, "gqa", nodes, [vi(k, list(a.shape), i32 if a.dtype == np.int32 else TensorProto.FLOAT)
                             for k, a in ins.items()],
         [vi(n, None) for n in ["y1", "pk1", "pv1", "y2", "pk2o", "pv2o", "y3", "pk3o", "pv3o", "y4", "pk4", "pv4"]],
         inits)
    for k, a in ins.items():
        np.save(os.path.join(out, f"g_{k}.npy"), a)


def u8_moves(out):
    """The default-domain ops a QOperator model runs on uint8 codes
    between its QLinear ops (Pad's constant value is the zero point)."""
    U8 = TensorProto.UINT8
    nodes = [helper.make_node("MaxPool", ["x"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Resize", ["x", "", "sc"], ["rs"], mode="nearest"),
             helper.make_node("Pad", ["x", "pads", "pv"], ["pd"]),
             helper.make_node("Split", ["x"], ["s1", "s2"], axis=1),
             helper.make_node("Slice", ["x", "st", "en", "ax"], ["sl"]),
             helper.make_node("Flatten", ["x"], ["fl"]),
             helper.make_node("Transpose", ["x"], ["tr"], perm=[0, 2, 3, 1]),
             helper.make_node("DepthToSpace", ["x"], ["d2s"], blocksize=2)]
    inits = [const("sc", np.array([1, 1, 2, 2], np.float32)), const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
             const("pv", np.uint8(128)), const("st", np.array([1], np.int64)), const("en", np.array([3], np.int64)),
             const("ax", np.array([1], np.int64))]
    save(out, "u8moves", nodes, [vi("x", [1, 4, 4, 4], U8)],
         [vi(n, None, U8) for n in ["mp", "rs", "pd", "s1", "s2", "sl", "fl", "tr", "d2s"]], inits)
    np.save(os.path.join(out, "u8_x.npy"), rng.integers(0, 256, (1, 4, 4, 4)).astype(np.uint8))


def pack_nbits(q, bits):
    """q [N, blocks, block] codes -> bytes, the first code in the low bits."""
    per = 8 // bits
    q = q.reshape(q.shape[0], q.shape[1], -1, per).astype(np.uint8)
    b = np.zeros(q.shape[:3], np.uint8)
    for i in range(per):
        b |= q[..., i] << (bits * i)
    return b


def nbits(out):
    K, N = 64, 6
    nodes, inits = [], []
    for tag, block, with_zp, with_bias in [("a", 16, True, False), ("b", 32, False, True)]:
        blocks = K // block
        q = rng.integers(0, 16, (N, blocks, block))
        scales = (rng.random((N, blocks)) * 0.1 + 0.01).astype(np.float32)
        ins = ["x", f"B{tag}", f"s{tag}"]
        inits += [const(f"B{tag}", pack_nbits(q, 4)), const(f"s{tag}", scales.reshape(-1))]
        if with_zp:
            zp = rng.integers(0, 16, (N, blocks))
            inits.append(const(f"z{tag}", pack_nbits(zp.reshape(N, 1, blocks), 4).reshape(-1)))
            ins.append(f"z{tag}")
        if with_bias:
            inits.append(const(f"bias{tag}", rng.standard_normal(N).astype(np.float32)))
            ins += ["", "", f"bias{tag}"]
        nodes.append(node("MatMulNBits", ins, [f"y{tag}"], K=K, N=N, bits=4, block_size=block))
    save(out, "nbits", nodes, [vi("x", [3, K])], [vi("ya", None), vi("yb", None)], inits)
    np.save(os.path.join(out, "nb_x.npy"), rng.standard_normal((3, K)).astype(np.float32))


def refused(out):
    save(out, "unknown", [node("NoSuchOp", ["x"], ["y"])], [vi("x", [2])], [vi("y", [2])])
    g = helper.make_graph([helper.make_node("Foo", ["x"], ["y"], domain="org.example")], "domain", [vi("x", [2])],
                          [vi("y", [2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("org.example", 1)])
    m.ir_version = 8
    onnx.save(m, os.path.join(out, "domain.onnx"))
    save(out, "batch", [node("FusedMatMul", ["x", "x"], ["y"], transBatchA=1)], [vi("x", [2, 2, 2])],
         [vi("y", [2, 2, 2])])
    save(out, "mask4d", [node("Attention", ["x", "w", "b", "m"], ["y"], num_heads=2, name="att1")],
         [vi("x", [1, 4, 8]), vi("m", [1, 1, 4, 4], TensorProto.INT32)], [vi("y", None)],
         [const("w", np.ones((8, 24), np.float32)), const("b", np.zeros(24, np.float32))])
    save(out, "gqa_dyn", [node("GroupQueryAttention", ["q", "q", "q", "", "", "sl", "t"], ["y"], num_heads=1,
                               kv_num_heads=1, name="gqa1")],
         [vi("q", [1, 2, 8]), vi("sl", [1], TensorProto.INT32), vi("t", [1], TensorProto.INT32)], [vi("y", None)])
    save(out, "badcat", [node("QLinearConcat", ["s", "z", "a", "s", "z", "b", "s", "z"], ["y"], axis=1, name="cat1")],
         [vi("a", [1, 2, 3], TensorProto.UINT8), vi("b", [1, 2, 4], TensorProto.UINT8)],
         [vi("y", None, TensorProto.UINT8)], [const("s", np.float32(0.1)), const("z", np.uint8(3))])


def main():
    out = sys.argv[1]
    qop(out)
    qmatmul(out)
    fused(out)
    nbits(out)
    embed(out)
    attention(out)
    u8_moves(out)
    fused_conv(out)
    gqa(out)
    refused(out)


if __name__ == "__main__":
    main()
