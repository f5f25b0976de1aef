#!/usr/bin/python3
"""Train and export the char_lm example: a tiny character-level causal transformer LM.

Corpus: the Python 3.11 language-reference help topics shipped with Debian 12's
python3.11 (/usr/lib/python3.11/pydoc_data/topics.py, ~466 K characters of English
technical prose with code snippets). The last ~5% of the text is held out as eval.txt,
the rest is corpus.txt. Both files are kept in this folder; if they are missing they are
rebuilt deterministically from pydoc_data (needs the same python3.11 package version to
reproduce byte-for-byte; see README.md).

Regenerate with:   /usr/bin/python3 examples/char_lm/train.py
Deterministic: fixed seeds, CPU training with 2 threads (a few minutes).
"""
import json
import math
import os
import sys
import time
from collections import Counter

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
CTX = 64          # fixed context length
D = 128           # model width
N_LAYERS = 4
H = 4             # heads
DH = D // H       # head dim (32)
D_FF = 256        # SwiGLU hidden
EPS = 1e-5        # RMSNorm epsilon
MASK_VALUE = -1e4 # additive causal mask value (finite: fp16-safe, no inf in the graph)

BATCH = 32
STEPS = int(os.environ.get("CHAR_LM_STEPS", "1200"))
LR = 3e-3
WARMUP = 100
N_CALIB = 64
N_TEST = 32
EVAL_FRACTION = 0.05

torch.set_num_threads(2)
torch.manual_seed(SEED)
np.random.seed(SEED)


# --------------------------------------------------------------------------- corpus
def build_corpus():
    corpus_path = os.path.join(HERE, "corpus.txt")
    eval_path = os.path.join(HERE, "eval.txt")
    if os.path.exists(corpus_path) and os.path.exists(eval_path):
        with open(corpus_path, encoding="utf-8") as f:
            train = f.read()
        with open(eval_path, encoding="utf-8") as f:
            ev = f.read()
        return train, ev
    from pydoc_data.topics import topics
    text = "\n\n".join(topics[k].strip("\n") for k in sorted(topics)) + "\n"
    cut = int(len(text) * (1 - EVAL_FRACTION))
    cut = text.index("\n\n", cut) + 2      # split at a paragraph boundary
    train, ev = text[:cut], text[cut:]
    with open(corpus_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(train)
    with open(eval_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(ev)
    return train, ev


# --------------------------------------------------------------------------- model
class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + EPS) * self.weight


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.batch = -1                     # set to 1 before export -> all-literal reshape targets
        self.norm1 = RMSNorm(D)
        self.q = nn.Linear(D, D, bias=False)
        self.k = nn.Linear(D, D, bias=False)
        self.v = nn.Linear(D, D, bias=False)
        self.o = nn.Linear(D, D, bias=False)
        self.norm2 = RMSNorm(D)
        self.gate = nn.Linear(D, D_FF, bias=False)
        self.up = nn.Linear(D, D_FF, bias=False)
        self.down = nn.Linear(D_FF, D, bias=False)
        self.scale = 1.0 / math.sqrt(DH)

    def forward(self, x, mask):                                   # x [B,T,D], mask [T,T]
        B = self.batch
        h = self.norm1(x)
        q = self.q(h).reshape(B, CTX, H, DH).transpose(1, 2)      # [B,H,T,DH]
        k = self.k(h).reshape(B, CTX, H, DH).transpose(1, 2)
        v = self.v(h).reshape(B, CTX, H, DH).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-2, -1)) * self.scale + mask   # [B,H,T,T]
        p = torch.softmax(s, dim=-1)
        a = torch.matmul(p, v).transpose(1, 2).reshape(B, CTX, D)
        x = x + self.o(a)
        h = self.norm2(x)
        x = x + self.down(F.silu(self.gate(h)) * self.up(h))      # SwiGLU
        return x


class CharLM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.tok = nn.Embedding(vocab, D)
        self.pos = nn.Parameter(torch.randn(1, CTX, D) * 0.02)   # learned absolute positions
        self.blocks = nn.ModuleList([Block() for _ in range(N_LAYERS)])
        self.norm_f = RMSNorm(D)
        mask = torch.triu(torch.full((CTX, CTX), MASK_VALUE), diagonal=1)   # 0 on/below diag
        self.register_buffer("mask", mask)
        nn.init.normal_(self.tok.weight, std=0.02)
        for b in self.blocks:       # GPT-2 style scaled init of residual projections
            nn.init.normal_(b.o.weight, std=0.02 / math.sqrt(2 * N_LAYERS))
            nn.init.normal_(b.down.weight, std=0.02 / math.sqrt(2 * N_LAYERS))

    def set_batch(self, b):
        for blk in self.blocks:
            blk.batch = b

    def forward(self, tokens):              # [B,T] int64
        x = self.tok(tokens) + self.pos     # [B,T,D]
        for b in self.blocks:
            x = b(x, self.mask)
        x = self.norm_f(x)
        return F.linear(x, self.tok.weight)  # tied LM head -> [B,T,V]


# --------------------------------------------------------------------------- helpers
def windows(ids, starts):
    idx = np.asarray(starts)[:, None] + np.arange(CTX + 1)[None, :]
    w = ids[idx]
    return w[:, :-1].astype(np.int64), w[:, 1:].astype(np.int64)


def bpc(model, x, y, bs=64):
    model.eval()
    model.set_batch(-1)
    tot, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            logits = model(torch.from_numpy(x[i:i + bs]))
            tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   torch.from_numpy(y[i:i + bs]).reshape(-1),
                                   reduction="sum").item()
            n += y[i:i + bs].size
    return tot / n / math.log(2)


def check_onnx(path):
    m = onnx.load(path)
    onnx.checker.check_model(m)
    inf = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    vis = {v.name: v for v in list(inf.graph.value_info) + list(inf.graph.input) + list(inf.graph.output)}
    inits = {i.name for i in inf.graph.initializer}
    problems = []
    for node in inf.graph.node:
        for o in node.output:
            if o in inits:
                continue
            v = vis.get(o)
            if v is None or not v.type.tensor_type.HasField("shape"):
                problems.append(f"{node.op_type}:{o}: no shape")
                continue
            dims = v.type.tensor_type.shape.dim
            if any(not d.HasField("dim_value") for d in dims):
                problems.append(f"{node.op_type}:{o}: dynamic dim {[d.dim_param or d.dim_value for d in dims]}")
    for v in list(inf.graph.input) + list(inf.graph.output):
        dims = v.type.tensor_type.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            problems.append(f"io {v.name}: dynamic")
    ops = Counter(n.op_type for n in m.graph.node)
    return m, ops, problems


# --------------------------------------------------------------------------- main
def main():
    train_text, eval_text = build_corpus()
    chars = sorted(set(train_text) | set(eval_text))
    stoi = {c: i for i, c in enumerate(chars)}
    V = len(chars)
    with open(os.path.join(HERE, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({"type": "chars", "size": V, "chars": chars}, f, ensure_ascii=True, indent=0)
        f.write("\n")
    train_ids = np.array([stoi[c] for c in train_text], dtype=np.int64)
    eval_ids = np.array([stoi[c] for c in eval_text], dtype=np.int64)
    print(f"corpus: train {len(train_text)} chars, eval {len(eval_text)} chars, vocab {V}")

    # held-out evaluation sets
    ev_starts_all = np.arange(0, len(eval_ids) - CTX - 1, CTX)           # all non-overlapping windows
    ex_all, ey_all = windows(eval_ids, ev_starts_all)
    test_starts = np.linspace(0, len(eval_ids) - CTX - 1, N_TEST).round().astype(np.int64)
    tx, ty = windows(eval_ids, test_starts)

    model = CharLM(V)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params: {n_params}")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and n != "pos"]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and n != "pos")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95))

    def lr_at(step):
        if step < WARMUP:
            return LR * (step + 1) / WARMUP
        t = (step - WARMUP) / max(1, STEPS - WARMUP)
        return LR * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    rng = np.random.RandomState(SEED)
    t0 = time.time()
    model.train()
    run = 0.0
    for step in range(STEPS):
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step)
        starts = rng.randint(0, len(train_ids) - CTX - 1, size=BATCH)
        xb, yb = windows(train_ids, starts)
        logits = model(torch.from_numpy(xb))
        loss = F.cross_entropy(logits.reshape(-1, V), torch.from_numpy(yb).reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run = loss.item() if step == 0 else 0.98 * run + 0.02 * loss.item()
        if step % 250 == 0 or step == STEPS - 1:
            print(f"step {step:5d} lr {lr_at(step):.2e} train loss {run:.3f} "
                  f"({run / math.log(2):.3f} bpc)  {time.time() - t0:.0f}s", flush=True)
            model.train()
    train_time = time.time() - t0

    model.eval()
    bpc_test = bpc(model, tx, ty)
    bpc_eval = bpc(model, ex_all, ey_all)
    tr_starts = np.random.RandomState(SEED + 1).randint(0, len(train_ids) - CTX - 1, size=512)
    bpc_train = bpc(model, *windows(train_ids, tr_starts))
    print(f"bpc: test windows ({N_TEST}) {bpc_test:.4f}, all eval windows ({len(ex_all)}) {bpc_eval:.4f}, "
          f"train sample {bpc_train:.4f}; train time {train_time:.1f}s")

    # ---- export (batch fixed at 1, all reshape targets literal) ----
    model.set_batch(1)
    dummy = torch.from_numpy(tx[0:1])
    path = os.path.join(HERE, "model.onnx")
    torch.onnx.export(model, dummy, path, opset_version=17, do_constant_folding=True,
                      input_names=["tokens"], output_names=["logits"])
    m, ops, problems = check_onnx(path)
    print("ops:", dict(ops))
    print("shape problems:", problems or "none")
    assert not problems, problems

    # ---- data files ----
    os.makedirs(os.path.join(HERE, "calib"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "test"), exist_ok=True)
    cal_starts = np.random.RandomState(SEED + 2).randint(0, len(train_ids) - CTX - 1, size=N_CALIB)
    cx, _ = windows(train_ids, cal_starts)
    np.save(os.path.join(HERE, "calib", "tokens.npy"), cx[:, None].astype(np.int64))   # [64,1,64]
    np.save(os.path.join(HERE, "test", "tokens.npy"), tx[:, None].astype(np.int64))    # [32,1,64]
    np.save(os.path.join(HERE, "test", "labels.npy"), ty.astype(np.int64))             # [32,64]
    x0 = tx[0:1].astype(np.int64)
    with torch.no_grad():
        e0 = model(torch.from_numpy(x0)).numpy().astype(np.float32)
    np.save(os.path.join(HERE, "input_0.npy"), x0)
    np.save(os.path.join(HERE, "expected_0.npy"), e0)

    ref = {
        "model": "char_lm",
        "metric": "bits_per_character",
        "test_bpc": bpc_test,
        "test_windows": N_TEST,
        "test_note": "mean over all 32x64 next-char predictions in test/tokens.npy vs test/labels.npy, "
                     "natural-log cross-entropy / ln 2",
        "eval_bpc_all_windows": bpc_eval,
        "eval_windows": int(len(ex_all)),
        "train_sample_bpc": bpc_train,
        "vocab_size": V,
        "context": CTX,
        "params": n_params,
        "train_steps": STEPS,
        "batch": BATCH,
        "input": {"name": "tokens", "shape": [1, CTX], "dtype": "int64"},
        "output": {"name": "logits", "shape": [1, CTX, V], "dtype": "float32"},
        "ops": dict(sorted(ops.items())),
        "opset": 17,
        "torch_version": torch.__version__,
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
