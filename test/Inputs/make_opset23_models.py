#!/usr/bin/python3
"""Writes models of default-domain opsets 18 and 21 to 25 for
test/import/opset23.test, each with its inputs and float64 references
computed here with numpy from the operators' definitions (Debian 12's onnx
knows opsets to 17, so the models are written without its checker):
  groupnorm.onnx   opset 21 GroupNormalization, 3 groups of 2 channels,
                   scale and bias per channel; groupnorm18.onnx the opset-18
                   form (scale and bias per group)
  rmsnorm.onnx     opset 23 RMSNormalization over the last axis (scale [D])
                   and over the last two (axis -2, scale [1, D] broadcast)
  rotary.onnx      opset 23 RotaryEmbedding: 4-D input with position_ids
                   (halves), 3-D input with num_heads, interleaved pairs
                   and rotary_embedding_dim < head size (caches per token)
  attention.onnx   opset 23 Attention: 4-D multi-head and causal; 3-D GQA
                   (6 query heads over 2) with a bool mask that blocks one
                   query row entirely (its output is zeros), softcap and a
                   scale; 4-D with past_key / past_value, causal with the
                   offset, a float mask, present_key / present_value and
                   qk_matmul_output after softmax (mode 3)
  quant23.onnx     opset 23 QuantizeLinear with output_dtype int8 and no
                   zero point, then DequantizeLinear
  swish24.onnx     opset 24 Swish, alpha 1 and 0.5
  attention24.onnx opset 24 Attention over an external cache:
                   nonpad_kv_seqlen [5, 2] of 8 keys, causal (batch 1's
                   first query row sees no key: zeros)
  attention25.onnx opset 25 Attention windows: causal with left 2, and
                   left 1 / right 2 without causal
  blocked21.onnx   opset 21 DequantizeLinear with block_size 2 (refused)
  opset26.onnx     an Identity at opset 26 (refused)
usage: make_opset23_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(out, name, nodes, inputs, outputs, opset, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    onnx.save(m, os.path.join(out, name + ".onnx"))


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def softmax_rows(s):
    """Softmax over the last axis; a row of -inf only is all zeros."""
    m = s.max(axis=-1, keepdims=True)
    blocked = ~np.isfinite(m)
    e = np.exp(s - np.where(blocked, 0, m))
    p = e / np.where(blocked, 1, e.sum(axis=-1, keepdims=True))
    return np.where(blocked, 0, p)


def attention_ref(q, k, v, mask=None, causal=False, scale=None, softcap=0.0, past=None, nonpad=None, left=-1,
                  right=-1):
    """4-D [B, H, S, D] float64; mask broadcasts to the scores (bool: True
    takes part; float: added); nonpad [B]: batch b's valid keys (opset 24)
    and its query block's offset nonpad[b] - S; left / right windows
    (opset 25); returns y, probabilities and the caches."""
    if past is not None:
        k = np.concatenate([past[0], k], axis=2)
        v = np.concatenate([past[1], v], axis=2)
    present = (k, v)
    g = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)
    s = q @ np.swapaxes(k, -1, -2) * (scale if scale is not None else 1 / np.sqrt(q.shape[-1]))
    if softcap:
        s = softcap * np.tanh(s / softcap)
    S, T = s.shape[-2], s.shape[-1]
    bias = np.zeros(s.shape)
    if mask is not None:
        bias = bias + (np.where(mask, 0, -np.inf) if mask.dtype == bool else mask)
    offs = np.full(s.shape[0], T - S) if nonpad is None else np.asarray(nonpad) - S
    j, i = np.arange(T)[None, :], np.arange(S)[:, None]
    for b, off in enumerate(offs):
        ok = np.ones((S, T), bool) if nonpad is None else np.broadcast_to(j < nonpad[b], (S, T)).copy()
        if causal:
            ok &= j <= i + off
        if left >= 0:
            ok &= j >= i + off - left
        if right >= 0:
            ok &= j <= i + off + right
        bias[b] = bias[b] + np.where(ok, 0, -np.inf)
    p = softmax_rows(s + bias)
    return p @ v, p, present


def rotary_ref(x, cos, sin, interleaved, rdim):
    """x [B, S, H, D]; cos, sin [B, S, rdim/2]."""
    c, s = cos[:, :, None, :], sin[:, :, None, :]
    r, rest = x[..., :rdim], x[..., rdim:]
    x1, x2 = (r[..., 0::2], r[..., 1::2]) if interleaved else (r[..., :rdim // 2], r[..., rdim // 2:])
    re, im = c * x1 - s * x2, s * x1 + c * x2
    rot = np.stack([re, im], axis=-1).reshape(r.shape) if interleaved else np.concatenate([re, im], axis=-1)
    return np.concatenate([rot, rest], axis=-1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(23)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)
    d64 = lambda a: a.astype(np.float64)

    def refs(prefix, arrays):
        for i, a in enumerate(arrays):
            np.save(os.path.join(out, f"{prefix}_ref{i}.npy"), np.asarray(a, np.float64))

    # GroupNormalization: opset 21 (per channel) and 18 (per group).
    x = f(2, 6, 3, 4) * 3 + 1
    np.save(os.path.join(out, "gn_x.npy"), x)
    sc, bi, sg, bg = f(6), f(6), f(3), f(3)
    xg = d64(x).reshape(2, 3, -1)
    norm = ((xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + 1e-3)).reshape(x.shape)
    save(out, "groupnorm", [helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=3, epsilon=1e-3)],
         [vi("x", [2, 6, 3, 4])], [vi("y", [2, 6, 3, 4])], 21,
         [numpy_helper.from_array(sc, "s"), numpy_helper.from_array(bi, "b")])
    save(out, "groupnorm18", [helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=3, epsilon=1e-3)],
         [vi("x", [2, 6, 3, 4])], [vi("y", [2, 6, 3, 4])], 18,
         [numpy_helper.from_array(sg, "s"), numpy_helper.from_array(bg, "b")])
    refs("gn", [norm * d64(sc)[None, :, None, None] + d64(bi)[None, :, None, None],
                norm * np.repeat(d64(sg), 2)[None, :, None, None] + np.repeat(d64(bg), 2)[None, :, None, None]])

    # RMSNormalization: last axis, and the last two with a broadcast scale.
    x = f(2, 5, 8) * 2
    np.save(os.path.join(out, "rms_x.npy"), x)
    s1, s2 = f(8), f(1, 8)
    save(out, "rmsnorm", [helper.make_node("RMSNormalization", ["x", "s1"], ["last"], epsilon=1e-6),
                          helper.make_node("RMSNormalization", ["x", "s2"], ["two"], axis=-2)],
         [vi("x", [2, 5, 8])], [vi("last", [2, 5, 8]), vi("two", [2, 5, 8])], 23,
         [numpy_helper.from_array(s1, "s1"), numpy_helper.from_array(s2, "s2")])
    xd = d64(x)
    refs("rms", [xd / np.sqrt((xd ** 2).mean(-1, keepdims=True) + 1e-6) * d64(s1),
                 xd / np.sqrt((xd ** 2).mean((-2, -1), keepdims=True) + 1e-5) * d64(s2)])

    # RotaryEmbedding: 4-D with position_ids; 3-D interleaved, partial.
    x4, x3 = f(2, 3, 5, 8), f(2, 5, 12)
    pos = np.array([[0, 1, 2, 3, 4], [7, 3, 9, 0, 2]], np.int64)
    ang = np.arange(10)[:, None] * (10000.0 ** (-np.arange(4) / 4))[None, :]
    cos_t, sin_t = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    c3, s3 = f(2, 5, 2), f(2, 5, 2)
    for name, a in (("rot_x4", x4), ("rot_x3", x3), ("rot_pos", pos), ("rot_c3", c3), ("rot_s3", s3)):
        np.save(os.path.join(out, name + ".npy"), a)
    save(out, "rotary", [helper.make_node("RotaryEmbedding", ["x4", "cos", "sin", "pos"], ["halves"]),
                         helper.make_node("RotaryEmbedding", ["x3", "c3", "s3"], ["pairs"], interleaved=1,
                                          num_heads=3, rotary_embedding_dim=4)],
         [vi("x4", [2, 3, 5, 8]), vi("x3", [2, 5, 12]), vi("pos", [2, 5], TensorProto.INT64), vi("c3", [2, 5, 2]),
          vi("s3", [2, 5, 2])],
         [vi("halves", [2, 3, 5, 8]), vi("pairs", [2, 5, 12])], 23,
         [numpy_helper.from_array(cos_t, "cos"), numpy_helper.from_array(sin_t, "sin")])
    r4 = rotary_ref(np.transpose(d64(x4), (0, 2, 1, 3)), d64(cos_t)[pos], d64(sin_t)[pos], False, 8)
    r3 = rotary_ref(d64(x3).reshape(2, 5, 3, 4), d64(c3), d64(s3), True, 4)
    refs("rot", [np.transpose(r4, (0, 2, 1, 3)), r3.reshape(2, 5, 12)])

    # Attention: three nodes.
    q1, k1, v1 = f(1, 2, 6, 8), f(1, 2, 6, 8), f(1, 2, 6, 8)
    q2, k2, v2 = f(2, 4, 6 * 4), f(2, 5, 2 * 4), f(2, 5, 2 * 3)
    m2 = rng.random((2, 1, 4, 5)) > 0.3
    m2[0, 0, 1, :] = False  # query row 1 of batch 0 sees no key
    q3, k3, v3, pk, pv = f(1, 2, 3, 4), f(1, 2, 3, 4), f(1, 2, 3, 5), f(1, 2, 4, 4), f(1, 2, 4, 5)
    m3 = f(3, 7)
    for name, a in (("q1", q1), ("k1", k1), ("v1", v1), ("q2", q2), ("k2", k2), ("v2", v2), ("m2", m2), ("q3", q3),
                    ("k3", k3), ("v3", v3), ("pk", pk), ("pv", pv)):
        np.save(os.path.join(out, f"att_{name}.npy"), a)
    nodes = [
        helper.make_node("Attention", ["q1", "k1", "v1"], ["y1"], is_causal=1),
        helper.make_node("Attention", ["q2", "k2", "v2", "m2"], ["y2"], q_num_heads=6, kv_num_heads=2, scale=0.3,
                         softcap=2.0),
        helper.make_node("Attention", ["q3", "k3", "v3", "m3", "pk", "pv"], ["y3", "pres_k", "pres_v", "probs"],
                         is_causal=1, qk_matmul_output_mode=3),
    ]
    save(out, "attention", nodes,
         [vi("q1", [1, 2, 6, 8]), vi("k1", [1, 2, 6, 8]), vi("v1", [1, 2, 6, 8]), vi("q2", [2, 4, 24]),
          vi("k2", [2, 5, 8]), vi("v2", [2, 5, 6]), vi("m2", [2, 1, 4, 5], TensorProto.BOOL), vi("q3", [1, 2, 3, 4]),
          vi("k3", [1, 2, 3, 4]), vi("v3", [1, 2, 3, 5]), vi("pk", [1, 2, 4, 4]), vi("pv", [1, 2, 4, 5])],
         [vi("y1", [1, 2, 6, 8]), vi("y2", [2, 4, 18]), vi("y3", [1, 2, 3, 5]), vi("pres_k", [1, 2, 7, 4]),
          vi("pres_v", [1, 2, 7, 5]), vi("probs", [1, 2, 3, 7])], 23,
         [numpy_helper.from_array(m3, "m3")])
    y1 = attention_ref(d64(q1), d64(k1), d64(v1), causal=True)[0]
    split = lambda a, h: np.transpose(d64(a).reshape(a.shape[0], a.shape[1], h, -1), (0, 2, 1, 3))
    y2 = attention_ref(split(q2, 6), split(k2, 2), split(v2, 2), mask=m2, scale=0.3, softcap=2.0)[0]
    y2 = np.transpose(y2, (0, 2, 1, 3)).reshape(2, 4, 18)
    y3, p3, (pres_k, pres_v) = attention_ref(d64(q3), d64(k3), d64(v3), mask=d64(m3), causal=True,
                                             past=(d64(pk), d64(pv)))
    refs("att", [y1, y2, y3, pres_k, pres_v, p3])

    # QuantizeLinear-23 with output_dtype int8 (no zero point), and back.
    xq = f(3, 7) * 2
    np.save(os.path.join(out, "q_x.npy"), xq)
    save(out, "quant23", [helper.make_node("QuantizeLinear", ["x", "s"], ["q"], output_dtype=TensorProto.INT8),
                          helper.make_node("DequantizeLinear", ["q", "s"], ["y"])],
         [vi("x", [3, 7])], [vi("q", [3, 7], TensorProto.INT8), vi("y", [3, 7])], 23,
         [numpy_helper.from_array(np.array(0.02, np.float32), "s")])
    qref = np.clip(np.round(xq.astype(np.float32) / np.float32(0.02)), -128, 127)
    refs("q", [qref, qref * np.float64(np.float32(0.02))])

    # Opset 24: Swish, and Attention over an external cache (nonpad_kv_seqlen,
    # causal: batch 0 has 5 valid keys of 8, batch 1 has 2 < S = 3, so its
    # first query row sees no key); opset 25: sliding windows.
    xs = f(3, 9) * 3
    np.save(os.path.join(out, "sw_x.npy"), xs)
    save(out, "swish24", [helper.make_node("Swish", ["x"], ["silu"]), helper.make_node("Swish", ["x"], ["half"], alpha=0.5)],
         [vi("x", [3, 9])], [vi("silu", [3, 9]), vi("half", [3, 9])], 24)
    xd = d64(xs)
    refs("sw", [xd / (1 + np.exp(-xd)), xd / (1 + np.exp(-0.5 * xd))])
    q4, k4, v4 = f(2, 2, 3, 4), f(2, 2, 8, 4), f(2, 2, 8, 4)
    nonpad = np.array([5, 2], np.int64)
    q5, k5, v5 = f(1, 2, 6, 4), f(1, 2, 6, 4), f(1, 2, 6, 4)
    for name, a in (("q4", q4), ("k4", k4), ("v4", v4), ("np", nonpad), ("q5", q5), ("k5", k5), ("v5", v5)):
        np.save(os.path.join(out, f"att_{name}.npy"), a)
    save(out, "attention24", [helper.make_node("Attention", ["q", "k", "v", "", "", "", "nonpad"], ["y"], is_causal=1)],
         [vi("q", [2, 2, 3, 4]), vi("k", [2, 2, 8, 4]), vi("v", [2, 2, 8, 4]), vi("nonpad", [2], TensorProto.INT64)],
         [vi("y", [2, 2, 3, 4])], 24)
    save(out, "attention25", [helper.make_node("Attention", ["q", "k", "v"], ["causal2"], is_causal=1, left_window_size=2),
                              helper.make_node("Attention", ["q", "k", "v"], ["both"], left_window_size=1,
                                               right_window_size=2)],
         [vi("q", [1, 2, 6, 4]), vi("k", [1, 2, 6, 4]), vi("v", [1, 2, 6, 4])],
         [vi("causal2", [1, 2, 6, 4]), vi("both", [1, 2, 6, 4])], 25)
    refs("att24", [attention_ref(d64(q4), d64(k4), d64(v4), causal=True, nonpad=nonpad)[0]])
    refs("att25", [attention_ref(d64(q5), d64(k5), d64(v5), causal=True, left=2)[0],
                   attention_ref(d64(q5), d64(k5), d64(v5), left=1, right=2)[0]])

    save(out, "blocked21", [helper.make_node("DequantizeLinear", ["x", "s"], ["y"], axis=1, block_size=2)],
         [vi("x", [2, 4], TensorProto.INT8)], [vi("y", [2, 4])], 21,
         [numpy_helper.from_array(np.ones((2, 2), np.float32), "s")])
    save(out, "opset26", [helper.make_node("Identity", ["x"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 3])], 26)


if __name__ == "__main__":
    main()
