#!/usr/bin/python3
"""Robustness sweep: every qcc method on small models unlike the examples.

The examples (char_lm, digits_cnn, digits_transformer, mm_lm) are what the
methods were tuned on; this builds five small models of other shapes with
random weights (torch, CPU, seconds), exports them to ONNX (opset 17) and
runs every method on each (docs/robustness.md has the matrix):

  bert_post  post-LayerNorm encoder (BERT-style): learned positions, exact
             (erf) GELU, biases, tanh pooler on token 0; batch 2, d96, 3
             heads, FFN 200
  gqa_rope   decoder: RMSNorm, RoPE (rotate-half), grouped-query attention
             (6 query heads over 2 key/value heads, Expand+Reshape), SwiGLU
             200, tied embeddings; d96
  gqa_outlier  gqa_rope with 3 outlier channels (embedding and norm gains
             20x): what trained LLMs have and random weights lack
  gqa_kv     gqa_rope's weights as a step model with a static KV cache of
             48 rows (ScatterElements), 2 heads of 16 per cache (GQA):
             8 tokens at position 8 after a prefill of 8
  vit_cls    ViT: patch embedding by a stride-4 Conv, a class token
             concatenated in front, einsum attention, pre-LN, GELU;
             batch 3, d72, 4 heads of 18
  dwse_cnn   depthwise-separable CNN: grouped 3x3 convs, squeeze-excite
             (sigmoid and hard-sigmoid gates), hard-swish, global average
             pool; batch 2
  gru_lstm   GRU(13->40) then LSTM(40->30) then a per-step Linear; batch 2,
             20 steps
  mm_rope    multimodal decoder: image rows picked by where(mod == 1, ...),
             RoPE from a positions input, fused qkv, LayerNorm, GELU,
             massive projector channels; 32 tokens, 8 of them image
             (the *_aifs / *_msq methods: --aifs mod)
  vlm_prefix LLaVA-style: 8 projected patches concatenated in front of 24
             text embeddings, no modality input (--aifs-static image=0:8)

  unseen_sweep.py make DIR             models, calibration data (DIR/<model>/
                                       calib/<input>.npy stacks of 32), one
                                       test input and torch's output on it
  unseen_sweep.py sweep QCC_BUILD DIR  [--models a,b] [--methods x,y]
                                       every (model, method): compile, build
                                       the C with ASan/UBSan, run it, compare
                                       with `qcc run` bit for bit and with
                                       torch (SQNR, top-1 agreement);
                                       DIR/results.json and a markdown table

Not run in CI (minutes). `make` needs torch; `sweep` needs numpy and cc.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np

N_CALIB = 32


# --------------------------------------------------------------------------- models

def build_models():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class PostLNLayer(nn.Module):
        def __init__(s, d, h, f):
            super().__init__()
            s.h = h
            s.q, s.k, s.v, s.o = (nn.Linear(d, d) for _ in range(4))
            s.ln1, s.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            s.f1, s.f2 = nn.Linear(d, f), nn.Linear(f, d)

        def forward(s, x):
            b, t, d = x.shape
            dh = d // s.h
            sp = lambda y: y.view(b, t, s.h, dh).transpose(1, 2)
            q, k, v = sp(s.q(x)), sp(s.k(x)), sp(s.v(x))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1) @ v
            x = s.ln1(x + s.o(a.transpose(1, 2).reshape(b, t, d)))
            return s.ln2(x + s.f2(F.gelu(s.f1(x))))

    class BertPost(nn.Module):
        def __init__(s, V=50, T=24, d=96, h=3, f=200, L=2, C=5):
            super().__init__()
            s.tok = nn.Embedding(V, d)
            s.pos = nn.Parameter(torch.randn(T, d) * 0.5)
            s.ln0 = nn.LayerNorm(d)
            s.layers = nn.ModuleList(PostLNLayer(d, h, f) for _ in range(L))
            s.pool, s.cls = nn.Linear(d, d), nn.Linear(d, C)

        def forward(s, ids):
            x = s.ln0(s.tok(ids) + s.pos)
            for l in s.layers:
                x = l(x)
            return s.cls(torch.tanh(s.pool(x[:, 0])))

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    def rot_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    class GQALayer(nn.Module):
        def __init__(s, d, hq, hkv, f):
            super().__init__()
            s.hq, s.hkv, s.dh = hq, hkv, d // hq
            s.q = nn.Linear(d, d, bias=False)
            s.k = nn.Linear(d, hkv * s.dh, bias=False)
            s.v = nn.Linear(d, hkv * s.dh, bias=False)
            s.o = nn.Linear(d, d, bias=False)
            s.g, s.u, s.dn = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False), nn.Linear(f, d, bias=False)
            s.n1, s.n2 = nn.Parameter(1 + 0.1 * torch.randn(d)), nn.Parameter(1 + 0.1 * torch.randn(d))

        def forward(s, x, cos, sin, mask):
            b, t, d = x.shape
            h = rms(x, s.n1)
            q = s.q(h).view(b, t, s.hq, s.dh).transpose(1, 2)
            k = s.k(h).view(b, t, s.hkv, s.dh).transpose(1, 2)
            v = s.v(h).view(b, t, s.hkv, s.dh).transpose(1, 2)
            q, k = q * cos + rot_half(q) * sin, k * cos + rot_half(k) * sin
            g = s.hq // s.hkv
            k = k[:, :, None].expand(b, s.hkv, g, t, s.dh).reshape(b, s.hq, t, s.dh)
            v = v[:, :, None].expand(b, s.hkv, g, t, s.dh).reshape(b, s.hq, t, s.dh)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(s.dh) + mask, dim=-1) @ v
            x = x + s.o(a.transpose(1, 2).reshape(b, t, d))
            h = rms(x, s.n2)
            return x + s.dn(F.silu(s.g(h)) * s.u(h))

    class GQADecoder(nn.Module):
        def __init__(s, V=61, T=32, d=96, hq=6, hkv=2, f=200, L=2):
            super().__init__()
            s.emb = nn.Embedding(V, d)
            s.layers = nn.ModuleList(GQALayer(d, hq, hkv, f) for _ in range(L))
            s.nf = nn.Parameter(torch.ones(d))
            dh = d // hq
            inv = 1.0 / (10000 ** (torch.arange(0, dh, 2).float() / dh))
            ang = torch.arange(T).float()[:, None] * inv[None]
            ang = torch.cat((ang, ang), dim=-1)
            s.register_buffer("cos", ang.cos())
            s.register_buffer("sin", ang.sin())
            s.register_buffer("mask", torch.triu(torch.full((T, T), -1e4), diagonal=1))

        def forward(s, ids):
            x = s.emb(ids)
            for l in s.layers:
                x = l(x, s.cos, s.sin, s.mask)
            return F.linear(rms(x, s.nf), s.emb.weight)  # tied head

    class ViTBlock(nn.Module):
        def __init__(s, d, h, f):
            super().__init__()
            s.h = h
            s.n1, s.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            s.qkv, s.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            s.f1, s.f2 = nn.Linear(d, f), nn.Linear(f, d)

        def forward(s, x):
            b, t, d = x.shape
            dh = d // s.h
            q, k, v = s.qkv(s.n1(x)).view(b, t, 3, s.h, dh).permute(2, 0, 3, 1, 4)
            p = torch.softmax(torch.einsum("bhqd,bhkd->bhqk", q, k) * dh ** -0.5, dim=-1)
            a = torch.einsum("bhqk,bhkd->bqhd", p, v).reshape(b, t, d)
            x = x + s.o(a)
            return x + s.f2(F.gelu(s.f1(s.n2(x))))

    class ViT(nn.Module):
        def __init__(s, d=72, h=4, f=144, L=2, C=10):
            super().__init__()
            s.patch = nn.Conv2d(3, d, 4, stride=4)
            s.cls_tok = nn.Parameter(torch.randn(1, 1, d) * 0.5)
            s.pos = nn.Parameter(torch.randn(1, 26, d) * 0.2)
            s.blocks = nn.ModuleList(ViTBlock(d, h, f) for _ in range(L))
            s.nf, s.head = nn.LayerNorm(d), nn.Linear(d, C)

        def forward(s, img):
            x = s.patch(img).flatten(2).transpose(1, 2)
            x = torch.cat((s.cls_tok.expand(x.shape[0], -1, -1), x), dim=1) + s.pos
            for blk in s.blocks:
                x = blk(x)
            return s.head(s.nf(x)[:, 0])

    class SE(nn.Module):
        def __init__(s, c, r, hard):
            super().__init__()
            s.a, s.b, s.hard = nn.Conv2d(c, r, 1), nn.Conv2d(r, c, 1), hard

        def forward(s, x):
            g = s.b(F.relu(s.a(F.adaptive_avg_pool2d(x, 1))))
            return x * (F.hardsigmoid(g) if s.hard else torch.sigmoid(g))

    class DWSE(nn.Module):
        def __init__(s, C=7):
            super().__init__()
            s.stem, s.bn = nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(24)
            s.dw1, s.se1, s.pw1 = nn.Conv2d(24, 24, 3, padding=1, groups=24), SE(24, 8, False), nn.Conv2d(24, 40, 1)
            s.dw2, s.se2, s.pw2 = nn.Conv2d(40, 40, 3, stride=2, padding=1, groups=40), SE(40, 10, True), nn.Conv2d(40, 72, 1)
            s.fc = nn.Linear(72, C)
            with torch.no_grad():
                s.bn.running_mean.normal_(0, 0.2)
                s.bn.running_var.uniform_(0.5, 2)
                s.bn.weight.uniform_(0.5, 1.5)
                s.bn.bias.normal_(0, 0.2)

        def forward(s, x):
            x = F.hardswish(s.bn(s.stem(x)))
            x = s.pw1(s.se1(F.hardswish(s.dw1(x))))
            x = F.hardswish(s.pw2(s.se2(F.hardswish(s.dw2(x)))))
            return s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    class GruLstm(nn.Module):
        def __init__(s):
            super().__init__()
            s.gru = nn.GRU(13, 40, batch_first=True)
            s.lstm = nn.LSTM(40, 30, batch_first=True)
            s.fc = nn.Linear(30, 6)

        def forward(s, x):
            return s.fc(s.lstm(s.gru(x)[0])[0])

    class GQAStep(nn.Module):
        """GQADecoder's function with a static KV cache of CTX rows (as
        static-cache exports write it): tokens at positions pos..pos+T-1,
        keys/values (after RoPE, 2 heads: the cache is grouped) written by
        one ScatterElements per cache, attention over all CTX rows with a
        mask built at run time."""

        def __init__(s, dec, ctx=48):
            super().__init__()
            s.dec, s.ctx = dec, ctx
            dh = dec.layers[0].dh
            inv = 1.0 / (10000 ** (torch.arange(0, dh, 2).float() / dh))
            ang = torch.arange(ctx).float()[:, None] * inv[None]
            ang = torch.cat((ang, ang), dim=-1)
            s.register_buffer("cos_t", ang.cos())
            s.register_buffer("sin_t", ang.sin())

        def forward(s, ids, pos, *cache):
            b, t = ids.shape
            p = pos + torch.arange(t)
            cos, sin = s.cos_t[p], s.sin_t[p]
            mask = torch.where(torch.arange(s.ctx)[None] <= p[:, None], torch.tensor(0.0), torch.tensor(-1e4))
            x, new = s.dec.emb(ids), []
            for i, l in enumerate(s.dec.layers):
                h = rms(x, l.n1)
                q = l.q(h).view(b, t, l.hq, l.dh).transpose(1, 2)
                k = l.k(h).view(b, t, l.hkv, l.dh).transpose(1, 2)
                v = l.v(h).view(b, t, l.hkv, l.dh).transpose(1, 2)
                q, k = q * cos + rot_half(q) * sin, k * cos + rot_half(k) * sin
                idx = p.view(1, 1, t, 1).expand(b, l.hkv, t, l.dh)
                kc, vc = cache[2 * i].scatter(2, idx, k), cache[2 * i + 1].scatter(2, idx, v)
                new += [kc, vc]
                g = l.hq // l.hkv
                ke = kc[:, :, None].expand(b, l.hkv, g, s.ctx, l.dh).reshape(b, l.hq, s.ctx, l.dh)
                ve = vc[:, :, None].expand(b, l.hkv, g, s.ctx, l.dh).reshape(b, l.hq, s.ctx, l.dh)
                a = torch.softmax(q @ ke.transpose(-1, -2) / math.sqrt(l.dh) + mask, dim=-1) @ ve
                x = x + l.o(a.transpose(1, 2).reshape(b, t, -1))
                h = rms(x, l.n2)
                x = x + l.dn(F.silu(l.g(h)) * l.u(h))
            return (F.linear(rms(x, s.dec.nf), s.dec.emb.weight), *new)

    g = torch.Generator().manual_seed(0)
    ids = lambda n, shape, V: torch.randint(0, V, (n, *shape), generator=g)
    gauss = lambda n, shape: torch.randn((n, *shape), generator=g)
    # name: (module, input name, sample maker, one input's shape)
    gqa = GQADecoder()

    def kv_sample(n):
        """n (ids, pos, caches) steps of 8 tokens at position 8, the caches
        from the step model's own prefill of 8 random tokens"""
        out = []
        with torch.no_grad():
            for _ in range(n):
                zero = [torch.zeros(1, 2, 48, 16) for _ in range(4)]
                first = ids(1, (1, 8), 61)[0]
                pre = step(first, torch.tensor([0]), *zero)
                out.append((ids(1, (1, 8), 61)[0], torch.tensor([8]), *pre[1:]))
                prefill_ids.append(first)
        return out

    # the same decoder with the outlier channels trained LLMs have (a few
    # norm-gain and embedding channels 20x the rest): random weights alone
    # give activations with no outliers, where rotation has nothing to do
    outl = GQADecoder()
    with torch.no_grad():
        hot = torch.tensor([5, 40, 77])
        outl.emb.weight[:, hot] *= 20
        for l in outl.layers:
            l.n1[hot] *= 20
            l.n2[hot] *= 20
    step, prefill_ids = GQAStep(gqa), []
    kv_sample.prefill = prefill_ids
    kv_names = ["ids", "pos", "past_k_0", "past_v_0", "past_k_1", "past_v_1"]

    class MMRope(nn.Module):
        """Multimodal decoder unlike mm_lm: the image rows picked by
        where(mod == 1, ...), RoPE from a run-time positions input, fused qkv,
        LayerNorm, GELU; projector channels 2 and 9 massive (x15, +10)."""
        aifs_flags = ["--aifs", "mod"]

        def __init__(s, d=64, h=4, p=12, v=30):
            super().__init__()
            s.h, s.dh = h, d // h
            s.tok, s.v1, s.v2 = nn.Embedding(v, d), nn.Linear(p, d), nn.Linear(d, d)
            s.n1, s.qkv, s.o, s.n2 = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d), nn.LayerNorm(d)
            s.f1, s.f2, s.nf, s.head = nn.Linear(d, 2 * d), nn.Linear(2 * d, d), nn.LayerNorm(d), nn.Linear(d, v)
            with torch.no_grad():
                s.v2.weight[[2, 9]] *= 15
                s.v2.bias[[2, 9]] += 10
            s.register_buffer("inv", 1.0 / (10000 ** (torch.arange(0, s.dh, 2).float() / s.dh)))
            s.register_buffer("mask", torch.triu(torch.full((32, 32), -1e4), 1))

        def forward(s, ids, pix, mod, positions):
            b, t = ids.shape
            x = torch.where((mod == 1).unsqueeze(-1), s.v2(F.gelu(s.v1(pix))), s.tok(ids))
            ang = positions.float()[..., None] * s.inv
            cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None]
            sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None]
            q, k, v = (y.view(b, t, s.h, s.dh).transpose(1, 2) for y in s.qkv(s.n1(x)).split(x.shape[-1], -1))
            q, k = q * cos + rot_half(q) * sin, k * cos + rot_half(k) * sin
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(s.dh) + s.mask, dim=-1) @ v
            x = x + s.o(a.transpose(1, 2).reshape(b, t, -1))
            x = x + s.f2(F.gelu(s.f1(s.n2(x))))
            return s.head(s.nf(x))

    def mm_sample(n):
        out = []
        for k in range(n):
            mod = torch.zeros(1, 32)
            s0 = int(torch.randint(0, 24, (1,), generator=g))
            mod[0, s0:s0 + 8] = 1
            out.append((ids(1, (1, 32), 30)[0], torch.rand((1, 32, 12), generator=g), mod, torch.arange(32)[None]))
        return out

    class VLMPrefix(nn.Module):
        """LLaVA-style: 8 projected patches concatenated in front of 24 text
        embeddings (no modality input), learned positions, pre-LN block."""
        aifs_flags = ["--aifs-static", "image=0:8"]

        def __init__(s, d=64, p=12, v=30):
            super().__init__()
            s.tok, s.v1, s.v2 = nn.Embedding(v, d), nn.Linear(p, d), nn.Linear(d, d)
            s.pos = nn.Parameter(torch.randn(1, 32, d) * 0.1)
            s.layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
            s.head = nn.Linear(d, v)
            with torch.no_grad():
                s.v2.weight[[3, 40]] *= 20
                s.v2.bias[[3, 40]] += 15
            s.register_buffer("mask", torch.triu(torch.full((32, 32), -1e4), 1))

        def forward(s, pix, ids):
            x = torch.cat([s.v2(F.relu(s.v1(pix))), s.tok(ids)], 1) + s.pos
            return s.head(s.layer(x, src_mask=s.mask))

    return {
        "gqa_kv": (step, kv_names, kv_sample),
        "bert_post": (BertPost(), "ids", lambda n: ids(n, (2, 24), 50)),
        "gqa_rope": (gqa, "ids", lambda n: ids(n, (1, 32), 61)),
        "gqa_outlier": (outl, "ids", lambda n: ids(n, (1, 32), 61)),
        "vit_cls": (ViT(), "img", lambda n: gauss(n, (3, 3, 20, 20))),
        "dwse_cnn": (DWSE(), "img", lambda n: gauss(n, (2, 3, 24, 24))),
        "gru_lstm": (GruLstm(), "seq", lambda n: gauss(n, (2, 20, 13))),
        # after the others, so that their weights and samples stay those of session 21
        "mm_rope": (MMRope(), ["ids", "pix", "mod", "positions"], mm_sample),
        "vlm_prefix": (VLMPrefix(), ["pix", "ids"],
                       lambda n: [(torch.rand((1, 8, 12), generator=g), ids(1, (1, 24), 30)[0]) for _ in range(n)]),
    }


def make(out):
    import torch
    torch.manual_seed(0)
    for name, (m, in_names, sample) in build_models().items():
        d = os.path.join(out, name)
        os.makedirs(os.path.join(d, "calib"), exist_ok=True)
        m.eval()
        in_names = [in_names] if isinstance(in_names, str) else in_names
        xs = sample(N_CALIB + 1)
        # one sample: a tuple of the model's inputs
        xs = [(x,) for x in xs] if isinstance(xs, torch.Tensor) else xs
        with torch.no_grad():
            y = m(*xs[0])
        y = y[0] if isinstance(y, tuple) else y
        n_out = len(m(*xs[0])) if isinstance(m(*xs[0]), tuple) else 1
        out_names = ["out"] + [f"present_{i}" for i in range(n_out - 1)]
        torch.onnx.export(m, xs[0], os.path.join(d, "model.onnx"), opset_version=17,
                          input_names=in_names, output_names=out_names, do_constant_folding=True)
        for i, n in enumerate(in_names):
            np.save(os.path.join(d, "calib", n + ".npy"), np.stack([x[i].numpy() for x in xs[1:]]))
            np.save(os.path.join(d, f"input_0_{n}.npy"), xs[0][i].numpy())
        np.save(os.path.join(d, "expected_0.npy"), y.numpy())
        meta = {"inputs": in_names, "output": "out"}
        if hasattr(m, "aifs_flags"):  # how its tokens get modalities (the *_aifs / *_msq methods)
            meta["aifs"] = m.aifs_flags
        if name == "gqa_kv":  # the prefill that made input_0's caches (--kv-bits runs it first)
            np.save(os.path.join(d, "prefill_ids.npy"), sample.prefill[0].numpy())
            meta["prefill"] = "prefill_ids.npy"
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f)
        print(f"{name}: {sum(p.numel() for p in m.parameters())} parameters, inputs "
              f"{[tuple(x.shape) for x in xs[0]]}, output {tuple(y.shape)}")


# --------------------------------------------------------------------------- sweep

# method name -> qcc flags (calibration is added for every -q but f32 and
# the block formats; "npu" compiles a command stream and runs `qcc sim`)
METHODS = {
    "f32": [],
    "w8a8": ["-q", "w8a8"],
    "w4a8": ["-q", "w4a8"],
    "w4a4": ["-q", "w4a4"],
    "w8a8_token": ["-q", "w8a8", "--act-scale", "token"],
    "w4a4_token": ["-q", "w4a4", "--act-scale", "token"],
    "w4a8_gptq": ["-q", "w4a8", "--weight-quant", "gptq"],
    "w4a4_had": ["-q", "w4a4", "--rotate", "hadamard"],
    "w4a4_klt_had": ["-q", "w4a4", "--rotate", "klt+hadamard"],
    "w8a8_smooth": ["-q", "w8a8", "--rotate", "hadamard", "--smooth", "auto"],
    "auto6": ["-q", "auto", "--avg-bits", "6"],
    "mxint8": ["-q", "mxint8"],
    "mxfp4": ["-q", "mxfp4"],
    "nvfp4": ["-q", "nvfp4"],
    "w8a8_intonly": ["-q", "w8a8", "--integer-only"],
    "f32_dbfp8": ["--softmax-format", "dbfp8"],
    "w8a8_dbfp8": ["-q", "w8a8", "--softmax-format", "dbfp8"],
    "f32_threads2": ["--threads", "2"],
    "w8a8_threads2": ["-q", "w8a8", "--threads", "2"],
    "npu_w8a8": ["-q", "w8a8", "--target", "npu"],
    "f32_kv8": ["--kv-bits", "8"],
    "w8a8_kv8": ["-q", "w8a8", "--kv-bits", "8"],
    # multimodal models only (meta.json's "aifs": --aifs INPUT or --aifs-static)
    "f32_aifs": [],
    "w8a8_msq": ["-q", "w8a8", "--msq"],
    "w4a8_msq": ["-q", "w4a8", "--msq"],
    "w4a4_msq": ["-q", "w4a4", "--msq"],
}
NO_CALIB = {"f32", "f32_dbfp8", "f32_threads2", "f32_kv8", "f32_aifs"}  # float: no --calib, no --report
AIFS = {"f32_aifs", "w8a8_msq", "w4a8_msq", "w4a4_msq"}


def sqnr(ref, y):
    ref, y = ref.astype(np.float64), y.astype(np.float64)
    err = ((ref - y) ** 2).sum()
    return float("inf") if err == 0 else 10 * math.log10((ref ** 2).sum() / err)


def top1(ref, y):
    return float((ref.argmax(-1) == y.argmax(-1)).mean())


def sh(cmd, timeout=600):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).strip(), time.time() - t


def one(qcc, d, method, flags, work):
    """One (model, method) cell: a dict with status and numbers."""
    meta = json.load(open(os.path.join(d, "meta.json")))
    model = os.path.join(d, "model.onnx")
    x0 = [os.path.join(d, f"input_0_{n}.npy") for n in meta["inputs"]]
    run_in = [a for n, x in zip(meta["inputs"], x0) for a in ("--input", f"{n}={x}")]
    ref = np.load(os.path.join(d, "expected_0.npy"))
    os.makedirs(work, exist_ok=True)
    if method in AIFS:
        if "aifs" not in meta:
            return {"flags": " ".join(flags), "status": "n/a", "msg": "not a multimodal model"}
        flags = list(flags) + meta["aifs"]
    qf = list(flags) + ([] if method in NO_CALIB else ["--calib", os.path.join(d, "calib")])
    res = {"flags": " ".join(flags)}
    qrun = os.path.join(work, "qrun")
    os.makedirs(qrun, exist_ok=True)
    npu = "--target" in flags
    rep = os.path.join(work, "report.json")
    if npu:
        qcs = os.path.join(work, "m.qcs")
        rc, log, t = sh([qcc, model, "-o", qcs] + qf)
        res["compile_s"] = round(t, 2)
        if rc:
            return {**res, "status": "refused" if rc in (1, 2) else "crash", "msg": log.splitlines()[-1] if log else f"rc {rc}"}
        simd = os.path.join(work, "sim")
        os.makedirs(simd, exist_ok=True)
        rc, log, _ = sh([qcc, "sim", qcs, *run_in, "--out-dir", simd])
        if rc:
            return {**res, "status": "bug", "msg": "qcc sim: " + (log.splitlines()[-1] if log else f"rc {rc}")}
        cyc = [l for l in log.splitlines() if "cycles" in l]
        res["sim"] = cyc[0].strip() if cyc else ""
        # the NPU's GEMM epilogues are integer, so its reference is the host
        # compile without float epilogues (docs/npu.md)
        qf_host = [f for f in qf if f not in ("--target", "npu")] + ["--no-float-epilogues"]
        rc, log, _ = sh([qcc, "run", model, *run_in, "--out-dir", qrun] + qf_host)
        y_s = np.load(os.path.join(simd, meta["output"] + ".npy"))
        y_q = np.load(os.path.join(qrun, meta["output"] + ".npy"))
        res["sim_eq_run"] = y_s.tobytes() == y_q.tobytes()
        res["sqnr_db"] = round(sqnr(ref, y_s), 2)
        res["top1"] = top1(ref, y_s)
        res["status"] = "ok" if res["sim_eq_run"] else "bug"
        if not res["sim_eq_run"]:
            res["msg"] = f"qcc sim != qcc run (max diff {np.abs(y_s - y_q).max():.3g})"
        return res
    c, main_c, exe, wbin = (os.path.join(work, f) for f in ("model.c", "main.c", "model", "model.bin"))
    report = [] if method in NO_CALIB else ["--report", rep]
    rc, log, t = sh([qcc, model, "-o", c, "--emit-main", main_c, "--weights-file", wbin] + report + qf)
    res["compile_s"] = round(t, 2)
    if rc:
        last = log.splitlines()[-1] if log else f"rc {rc}"
        return {**res, "status": "refused" if rc in (1, 2) else "crash", "msg": last}
    if os.path.exists(rep):
        r = json.load(open(rep))
        res["report_sqnr_db"], res["report_top1"] = r.get("output_sqnr_db"), r.get("top1_agreement")
    rc, log, _ = sh(["cc", "-std=c99", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                     "-Wall", "-Wextra", "-pedantic", "-Werror", "-pthread", c, main_c, "-lm", "-o", exe])
    if rc:
        return {**res, "status": "bug", "msg": "cc: " + log[:300]}
    cout = os.path.join(work, "c_out")
    os.makedirs(cout, exist_ok=True)
    if not ("--kv-bits" in flags and "prefill" in meta):
        rc, log, _ = sh([exe, *x0, "--weights", wbin, "--out", cout])
        if rc:
            return {**res, "status": "bug", "msg": "generated C: " + log[-400:]}
        # qcc run refuses --threads (its bits are the same; the C's must be)
        qf_run = [f for i, f in enumerate(qf) if f != "--threads" and (i == 0 or qf[i - 1] != "--threads")]
        rc, log, _ = sh([qcc, "run", model, *run_in, "--out-dir", qrun] + qf_run)
        if rc:
            return {**res, "status": "bug", "msg": "qcc run: " + log[-300:]}
    if "--kv-bits" in flags and "prefill" in meta:
        # the caches are packed rows now: prefill from all-zero bytes (zeros),
        # then input_0's step with the caches the prefill returned, in the C
        # and in qcc run; logits against torch's prefill + step
        h = open(c[:-2] + ".h").read()
        ins = []
        for i, n in enumerate(meta["inputs"]):
            if n.startswith("past_"):
                shape = [int(v) for v in re.search(rf"_IN{i}_SHAPE {{([0-9, ]+)}}", h).group(1).split(",")]
                np.save(os.path.join(work, f"zero_{n}.npy"), np.zeros(shape, np.uint8))
                ins.append(os.path.join(work, f"zero_{n}.npy"))
            elif n == "pos":
                np.save(os.path.join(work, "pos0.npy"), np.zeros(1, np.int64))
                ins.append(os.path.join(work, "pos0.npy"))
            else:
                ins.append(os.path.join(d, meta["prefill"]))
        pre_c, pre_q = os.path.join(work, "c_pre"), os.path.join(work, "q_pre")
        os.makedirs(pre_c, exist_ok=True)
        os.makedirs(pre_q, exist_ok=True)
        rc, log, _ = sh([exe, *ins, "--weights", wbin, "--out", pre_c])
        if rc:
            return {**res, "status": "bug", "msg": "generated C prefill: " + log[-400:]}
        pin = [a for n, x in zip(meta["inputs"], ins) for a in ("--input", f"{n}={x}")]
        rc, log, _ = sh([qcc, "run", model, *pin, "--out-dir", pre_q] + qf)
        if rc:
            return {**res, "status": "bug", "msg": "qcc run prefill: " + log[-300:]}
        step_c = [x if not n.startswith("past_") else os.path.join(pre_c, f"out{i - 1}.npy")
                  for i, (n, x) in enumerate(zip(meta["inputs"], x0))]
        step_q = [x if not n.startswith("past_") else os.path.join(pre_q, f"present_{i - 2}.npy")
                  for i, (n, x) in enumerate(zip(meta["inputs"], x0))]
        rc, log, _ = sh([exe, *step_c, "--weights", wbin, "--out", cout])
        if rc:
            return {**res, "status": "bug", "msg": "generated C step: " + log[-400:]}
        rc, log, _ = sh([qcc, "run", model, *[a for n, x in zip(meta["inputs"], step_q) for a in ("--input", f"{n}={x}")],
                         "--out-dir", qrun] + qf)
        if rc:
            return {**res, "status": "bug", "msg": "qcc run step: " + log[-300:]}
    y_c = np.load(os.path.join(cout, "out0.npy"))
    y_q = np.load(os.path.join(qrun, meta["output"] + ".npy"))
    res["c_eq_run"] = y_c.tobytes() == y_q.tobytes()
    res["sqnr_db"] = round(sqnr(ref, y_c), 2)
    res["top1"] = top1(ref, y_c)
    if method in ("f32", "f32_aifs"):
        res["max_rel_err"] = float(np.abs(y_c - ref).max() / (ref.max() - ref.min()))
    res["status"] = "ok" if res["c_eq_run"] else "bug"
    if not res["c_eq_run"]:
        res["msg"] = f"generated C != qcc run (max diff {np.abs(y_c - y_q).max():.3g})"
    return res


def sweep(build, out, models, methods, resume=False):
    qcc = os.path.join(build, "qcc")
    path = os.path.join(out, "results.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    for mname in models:
        for meth in methods:
            if resume and meth in results.get(mname, {}):
                continue
            r = one(qcc, os.path.join(out, mname), meth, METHODS[meth], os.path.join(out, "work", mname, meth))
            results.setdefault(mname, {})[meth] = r
            print(f"{mname:10s} {meth:14s} {r['status']:8s} sqnr {r.get('sqnr_db', '-')!s:>7} top1 "
                  f"{r.get('top1', '-')!s:>6} {r.get('msg', '')[:200]}", flush=True)
            json.dump(results, open(path, "w"), indent=1)
    print_table(results)


def cell(r, key):
    if r is None:
        return ""
    if r["status"] != "ok":
        return r["status"]
    v = r.get(key)
    if v is None:
        return "ok"
    return "exact" if v == float("inf") else f"{v:.1f}"


def print_table(results, key="sqnr_db"):
    """key: sqnr_db (the generated C on the test input against torch) or
    report_sqnr_db (--report: qcc's quantized evaluator against its float
    one over the 32 calibration samples)"""
    meths = [m for m in METHODS if any(m in v for v in results.values())]
    print("| model | " + " | ".join(meths) + " |")
    print("|---" * (len(meths) + 1) + "|")
    for mname, v in results.items():
        print(f"| {mname} | " + " | ".join(cell(v.get(m), key) for m in meths) + " |")
    for mname, v in results.items():
        for m, r in v.items():
            if r["status"] not in ("ok", "n/a"):
                print(f"- {mname} {m} ({r['flags']}): {r['status']}: {r.get('msg', '')}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make")
    a.add_argument("dir")
    b = sub.add_parser("sweep")
    b.add_argument("build")
    b.add_argument("dir")
    b.add_argument("--models", default="bert_post,gqa_rope,gqa_outlier,gqa_kv,vit_cls,dwse_cnn,gru_lstm,mm_rope,"
                                      "vlm_prefix")
    b.add_argument("--methods", default=",".join(METHODS))
    b.add_argument("--resume", action="store_true", help="skip the cells results.json already has")
    c = sub.add_parser("table")
    c.add_argument("dir", nargs="+", help="sweep directories (results merged)")
    c.add_argument("--key", default="sqnr_db", choices=["sqnr_db", "report_sqnr_db", "top1", "report_top1"])
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.dir)
    elif args.cmd == "sweep":
        sweep(args.build, args.dir, args.models.split(","), args.methods.split(","), args.resume)
    else:
        results = {}
        for d in args.dir:
            results.update(json.load(open(os.path.join(d, "results.json"))))
        print_table(results, args.key)


if __name__ == "__main__":
    sys.exit(main())
