#!/usr/bin/python3
"""Write a synthetic Llama-style decoder with random weights, as a KV-cache step model with external data.

The default sizes are TinyLlama-1.1B's (d2048, 22 layers, 32 heads sharing
4 key/value heads of 64, SiLU-gated MLP of 5632, vocabulary 32000, RMSNorm,
RoPE, untied output head): 1.1 billion float32 parameters, 4.4 GB.  It is
qcc's benchmark for compile time and memory at LLM size (issue 14) and not
a trained model: the weights are seeded random normals scaled so that the
activations keep unit size through the layers (1/sqrt(fan in); the
projections into the residual stream also by 1/sqrt(2 layers)), so the
logits are well-conditioned numbers to compare across builds.

The graph is the decode-step form of examples/char_lm/export_kv.py:

    inputs   tokens [1,T] int64, pos [1] int64 (position of tokens[0]),
             past_k_<l>, past_v_<l> [1,KVH,CTX,DH] float32, l = 0..L-1
    outputs  logits [1,T,V], k_<l>, v_<l> [1,KVH,CTX,DH] (the cache with
             rows pos .. pos+T-1 written by one ScatterElements each, so
             qcc lets the caller update it in place)

T is symbolic (`qcc --shape tokens=1x1` for single-token steps,
`tokens=1x16` for a prefill).  Attention is grouped without copying the
cache: the H query heads are reshaped to [1, KVH, G*T, DH] (G = H/KVH
query heads per key/value head, contiguous), so one batched matmul per
key/value head covers its group; the causal mask is tiled G times to match.
RoPE is the rotate-half form of Llama (cos/sin tables of CTX rows, gathered
at the positions).  RMSNorm is written out (Mul, ReduceMean, Add, Sqrt,
Div, Mul) as exporters do, and SiLU as x*Sigmoid(x).

The weights go to one external data file, MODEL.data beside MODEL.onnx,
each tensor at a 4096-byte aligned offset (tensors under 1 KiB stay in the
.onnx).  They are generated and written one tensor at a time, so this
script never holds more than one weight matrix: the full model is written
in about a minute with a few hundred MB of memory.

usage: make_llama.py --out DIR [--layers 22] [--dim 2048] [--heads 32]
                     [--kv-heads 4] [--mlp 5632] [--vocab 32000] [--ctx 512]
                     [--seed 0] [--name model]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EPS = 1e-5
MASK_VALUE = -1e9  # softmax weight exactly 0 for rows not yet visible
ROPE_THETA = 10000.0
ALIGN = 4096
INLINE_LIMIT = 1024  # bytes; smaller tensors stay in the .onnx


def tensor_dtype(dt):
    """The TensorProto element type of a numpy dtype (onnx >= 1.13 and older)."""
    if hasattr(helper, "np_dtype_to_tensor_dtype"):
        return helper.np_dtype_to_tensor_dtype(dt)
    return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dt)]


class ExternalWriter:
    """Appends tensors to one external data file and returns TensorProtos
    that point at them (location, offset, length), aligned to ALIGN."""

    def __init__(self, folder, location):
        self.location = location
        self.f = open(os.path.join(folder, location), "wb")
        self.offset = 0

    def tensor(self, name, a):
        a = np.ascontiguousarray(a)
        if a.nbytes < INLINE_LIMIT:
            return numpy_helper.from_array(a, name)
        pad = -self.offset % ALIGN
        self.f.write(b"\0" * pad)
        self.offset += pad
        a.tofile(self.f)
        t = TensorProto(name=name, data_type=tensor_dtype(a.dtype), dims=a.shape,
                        data_location=TensorProto.EXTERNAL)
        for k, v in (("location", self.location), ("offset", str(self.offset)), ("length", str(a.nbytes))):
            t.external_data.add(key=k, value=v)
        self.offset += a.nbytes
        return t

    def close(self):
        self.f.close()


class Graph:
    def __init__(self, writer):
        self.nodes, self.inits, self.n, self.writer, self.params = [], [], 0, writer, 0

    def const(self, name, a):
        self.inits.append(self.writer.tensor(name, np.asarray(a)))
        return name

    def weight(self, name, a):
        """A learned tensor (counted in the parameter total)."""
        self.params += a.size
        return self.const(name, a)

    def op(self, op_type, *inputs, name=None, **attrs):
        self.n += 1
        out = f"{name or op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=f"/{out}", **attrs))
        return out

    def rmsnorm(self, x, weight):
        ms = self.op("ReduceMean", self.op("Mul", x, x), axes=[-1], keepdims=1)
        r = self.op("Div", "one_f", self.op("Sqrt", self.op("Add", ms, "eps")))
        return self.op("Mul", self.op("Mul", x, r), weight)

    def rope(self, x, cos, sin, half):
        """x * cos + rotate_half(x) * sin over the last axis (Llama's form:
        rotate_half(x) = concat(-x[half:], x[:half]))."""
        lo = self.op("Slice", x, "zero_1", half, "minus1_1")
        hi = self.op("Slice", x, half, "big_1", "minus1_1")
        rot = self.op("Concat", self.op("Neg", hi), lo, axis=-1)
        return self.op("Add", self.op("Mul", x, cos), self.op("Mul", rot, sin))


def build(a, folder):
    D, H, KVH, F, V, CTX, L = a.dim, a.heads, a.kv_heads, a.mlp, a.vocab, a.ctx, a.layers
    DH, G = D // H, H // KVH
    rng = np.random.default_rng(a.seed)

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    writer = ExternalWriter(folder, f"{a.name}.data")
    g = Graph(writer)
    for name, v in (("one_f", np.float32(1.0)), ("eps", np.float32(EPS)), ("scale", np.float32(1.0 / np.sqrt(DH))),
                    ("mask_on", np.float32(0.0)), ("mask_off", np.float32(MASK_VALUE)), ("one_i", np.int64(1)),
                    ("zero_i", np.int64(0)), ("zero_1", np.array([0], np.int64)),
                    ("half_1", np.array([DH // 2], np.int64)), ("big_1", np.array([DH], np.int64)),
                    ("minus1_1", np.array([-1], np.int64))):
        g.const(name, v)
    embed = g.weight("embed.weight", normal((V, D), 1.0))
    # RoPE tables: angle[p, i] = p * theta^(-2i/DH) for i < DH/2, repeated for the second half
    inv_freq = ROPE_THETA ** (-np.arange(0, DH, 2, dtype=np.float64) / DH)
    angle = np.arange(CTX, dtype=np.float64)[:, None] * inv_freq[None, :]
    angle = np.concatenate([angle, angle], axis=1)
    cos_t = g.const("rope.cos", np.cos(angle).astype(np.float32))
    sin_t = g.const("rope.sin", np.sin(angle).astype(np.float32))

    T = g.op("Gather", g.op("Shape", "tokens"), "one_i", axis=0)
    positions = g.op("Add", "pos", g.op("Range", "zero_i", T, "one_i"), name="positions")
    x = g.op("Gather", embed, "tokens", axis=0)
    rope_shape = g.const("shape_1_T_1_DH", np.array([1, -1, 1, DH], np.int64))
    cos = g.op("Reshape", g.op("Gather", cos_t, positions, axis=0), rope_shape, name="cos")
    sin = g.op("Reshape", g.op("Gather", sin_t, positions, axis=0), rope_shape, name="sin")
    # mask[t, r] = 0 if r <= pos + t else MASK_VALUE, tiled to the G*T rows of a group
    visible = g.op("LessOrEqual", g.const("rows", np.arange(CTX, dtype=np.int64)[None, :]),
                   g.op("Unsqueeze", positions, g.const("axis1", np.array([1], np.int64))))
    mask = g.op("Tile", g.op("Where", visible, "mask_on", "mask_off"), g.const("tile_G_1", np.array([G, 1], np.int64)),
                name="mask")
    idx = g.op("Expand", g.op("Reshape", positions, g.const("shape_1_1_T_1", np.array([1, 1, -1, 1], np.int64))),
               g.const("shape_1_KVH_1_DH", np.array([1, KVH, 1, DH], np.int64)), name="cache_rows")
    q_shape = g.const("shape_1_T_H_DH", np.array([1, -1, H, DH], np.int64))
    kv_shape = g.const("shape_1_T_KVH_DH", np.array([1, -1, KVH, DH], np.int64))
    group_shape = g.const("shape_1_KVH_GT_DH", np.array([1, KVH, -1, DH], np.int64))
    heads_shape = g.const("shape_1_H_T_DH", np.array([1, H, -1, DH], np.int64))
    model_shape = g.const("shape_1_T_D", np.array([1, -1, D], np.int64))
    out_std = 1.0 / np.sqrt(2.0 * L)
    outputs = []
    for l in range(L):
        p = f"layers.{l}"
        h = g.rmsnorm(x, g.weight(f"{p}.attn_norm.weight", 1.0 + normal((D,), 0.1)))
        q = g.op("Reshape", g.op("MatMul", h, g.weight(f"{p}.wq", normal((D, D), D ** -0.5))), q_shape)
        k = g.op("Reshape", g.op("MatMul", h, g.weight(f"{p}.wk", normal((D, KVH * DH), D ** -0.5))), kv_shape)
        v = g.op("Reshape", g.op("MatMul", h, g.weight(f"{p}.wv", normal((D, KVH * DH), D ** -0.5))), kv_shape)
        q = g.op("Reshape", g.op("Transpose", g.rope(q, cos, sin, "half_1"), perm=[0, 2, 1, 3]), group_shape)
        k = g.op("Transpose", g.rope(k, cos, sin, "half_1"), perm=[0, 2, 1, 3])
        v = g.op("Transpose", v, perm=[0, 2, 1, 3])
        kc = g.op("ScatterElements", f"past_k_{l}", idx, k, axis=2, name=f"k_{l}")
        vc = g.op("ScatterElements", f"past_v_{l}", idx, v, axis=2, name=f"v_{l}")
        s = g.op("Add", g.op("Mul", g.op("MatMul", q, g.op("Transpose", kc, perm=[0, 1, 3, 2])), "scale"), mask)
        att = g.op("Reshape", g.op("MatMul", g.op("Softmax", s, axis=-1), vc), heads_shape)
        att = g.op("Reshape", g.op("Transpose", att, perm=[0, 2, 1, 3]), model_shape)
        x = g.op("Add", x, g.op("MatMul", att, g.weight(f"{p}.wo", normal((D, D), D ** -0.5 * out_std))))
        h = g.rmsnorm(x, g.weight(f"{p}.mlp_norm.weight", 1.0 + normal((D,), 0.1)))
        gate = g.op("MatMul", h, g.weight(f"{p}.w_gate", normal((D, F), D ** -0.5)))
        up = g.op("MatMul", h, g.weight(f"{p}.w_up", normal((D, F), D ** -0.5)))
        mlp = g.op("Mul", g.op("Mul", gate, g.op("Sigmoid", gate)), up)
        x = g.op("Add", x, g.op("MatMul", mlp, g.weight(f"{p}.w_down", normal((F, D), F ** -0.5 * out_std))))
        outputs += [(kc, f"k_{l}"), (vc, f"v_{l}")]
    x = g.rmsnorm(x, g.weight("norm.weight", 1.0 + normal((D,), 0.1)))
    logits = g.op("MatMul", x, g.weight("lm_head", normal((D, V), D ** -0.5)))
    writer.close()
    outputs.insert(0, (logits, "logits"))
    for value, name in outputs:  # graph outputs under their own names
        g.nodes.append(helper.make_node("Identity", [value], [name], name=f"/{name}"))
    cache = [1, KVH, CTX, DH]
    inputs = [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "T"]),
              helper.make_tensor_value_info("pos", TensorProto.INT64, [1])]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "T", V])]
    for l in range(L):
        for kv in "kv":
            inputs.append(helper.make_tensor_value_info(f"past_{kv}_{l}", TensorProto.FLOAT, cache))
            outs.append(helper.make_tensor_value_info(f"{kv}_{l}", TensorProto.FLOAT, cache))
    graph = helper.make_graph(g.nodes, "llama_step", inputs, outs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_llama.py")
    model.ir_version = 8
    return model, g.params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="folder for NAME.onnx and NAME.data (created)")
    ap.add_argument("--name", default="model")
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--mlp", type=int, default=5632)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--ctx", type=int, default=512, help="static cache length (positions 0 .. ctx-1)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    for flag, v in (("--layers", a.layers), ("--dim", a.dim), ("--heads", a.heads), ("--kv-heads", a.kv_heads),
                    ("--mlp", a.mlp), ("--vocab", a.vocab), ("--ctx", a.ctx)):
        if v < 1:
            ap.error(f"{flag} must be positive")
    if a.dim % a.heads or a.heads % a.kv_heads or (a.dim // a.heads) % 2:
        ap.error("--dim must split into --heads heads of an even size, and --heads into --kv-heads groups")
    os.makedirs(a.out, exist_ok=True)
    model, params = build(a, a.out)
    path = os.path.join(a.out, f"{a.name}.onnx")
    onnx.save_model(model, path)
    onnx.checker.check_model(path)  # by path: the checker reads external data lazily
    data = os.path.getsize(os.path.join(a.out, f"{a.name}.data"))
    print(f"wrote {path} and {a.name}.data: {params} parameters, {data} bytes of external data")


if __name__ == "__main__":
    main()
