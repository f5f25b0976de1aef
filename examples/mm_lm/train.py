#!/usr/bin/python3
"""Train and export the mm_lm example: a tiny multimodal causal LM.

One causal sequence of 48 tokens mixes text characters and image-patch
tokens. Each image is an 8x8 glyph (one of 10 seeded class prototypes with
pixel noise) cut into four 4x4 patches, so it takes four consecutive tokens;
the text right after an image reads "=C" where C is the image's class digit,
and the rest of the sequence is English text from ../char_lm/corpus.txt.
Inputs (batch 1):
    ids  int64   [1, 48]       character ids (vocab.json); image tokens hold IMG_ID
    pix  float32 [1, 48, 16]   patch pixels; zero at text tokens
    mod  float32 [1, 48]       per-token modality: 0 text, 1 image
Model: x = tok(ids) * (1 - m) + vision(pix) * m + pos, then 2 pre-RMSNorm
blocks (4 heads, SwiGLU) and a linear head. The vision projector is
Linear(16,64)-GELU-Linear(64,64) whose output carries three massive channels
(x MASSIVE_GAIN plus a MASSIVE_OFFSET, folded into its last Linear at export),
as in real vision-language models, so the two modalities' activation ranges
differ by an order of magnitude.
Metrics: bits per character over text targets, and answer accuracy (the
argmax at each '=' token equals the class digit).

Regenerate with:   /usr/bin/python3 examples/mm_lm/train.py
Deterministic: fixed seeds, CPU, 2 torch threads (~2 minutes).
"""
import json
import math
import os
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
D = 64              # width
N_LAYERS = 2
H = 4
DH = D // H
D_FF = 128
EPS = 1e-5
MASK_VALUE = -1e4
MASSIVE = [5, 23, 47]   # projector output channels made massive
MASSIVE_GAIN = 6.0
MASSIVE_OFFSET = 30.0

BATCH = 32
STEPS = int(os.environ.get("MM_LM_STEPS", "3000"))
LR = 3e-3
WARMUP = 100
N_CALIB = 128
N_TEST = 64

torch.set_num_threads(2)
torch.manual_seed(SEED)


# data: mm_data.py
from mm_data import P, T, load_text, make_set  # noqa: E402


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
        self.batch = -1
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

    def forward(self, x, mask):
        B = self.batch
        h = self.norm1(x)
        q = self.q(h).reshape(B, T, H, DH).transpose(1, 2)
        k = self.k(h).reshape(B, T, H, DH).transpose(1, 2)
        v = self.v(h).reshape(B, T, H, DH).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-2, -1)) * self.scale + mask
        a = torch.matmul(torch.softmax(s, dim=-1), v).transpose(1, 2).reshape(B, T, D)
        x = x + self.o(a)
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Vision(nn.Module):
    """Patch projector; its output has massive channels (gain and offset,
    applied as fixed buffers in training and folded into fc2 at export)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(P, D)
        self.fc2 = nn.Linear(D, D)
        gain = torch.ones(D)
        offset = torch.zeros(D)
        gain[MASSIVE] = MASSIVE_GAIN
        offset[MASSIVE] = MASSIVE_OFFSET
        self.register_buffer("gain", gain)
        self.register_buffer("offset", offset)
        self.folded = False

    def fold(self):
        with torch.no_grad():
            self.fc2.weight.mul_(self.gain[:, None])
            self.fc2.bias.mul_(self.gain).add_(self.offset)
        self.folded = True

    def forward(self, pix):
        y = self.fc2(F.gelu(self.fc1(pix)))
        return y if self.folded else y * self.gain + self.offset


class MMLM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.tok = nn.Embedding(vocab, D)
        self.vision = Vision()
        self.pos = nn.Parameter(torch.randn(1, T, D) * 0.02)
        self.blocks = nn.ModuleList([Block() for _ in range(N_LAYERS)])
        self.norm_f = RMSNorm(D)
        self.head = nn.Linear(D, vocab, bias=False)
        self.register_buffer("mask", torch.triu(torch.full((T, T), MASK_VALUE), diagonal=1))
        nn.init.normal_(self.tok.weight, std=0.5)
        for b in self.blocks:
            nn.init.normal_(b.o.weight, std=0.02 / math.sqrt(2 * N_LAYERS))
            nn.init.normal_(b.down.weight, std=0.02 / math.sqrt(2 * N_LAYERS))

    def set_batch(self, b):
        for blk in self.blocks:
            blk.batch = b

    def forward(self, ids, pix, mod):
        m = mod.unsqueeze(-1)
        x = self.tok(ids) * (1 - m) + self.vision(pix) * m + self.pos
        for b in self.blocks:
            x = b(x, self.mask)
        return self.head(self.norm_f(x))


# --------------------------------------------------------------------------- metrics
def evaluate(model, ids, pix, mod, labels, ans, bs=64):
    """(bits per text character, answer accuracy, answers counted)."""
    model.eval()
    model.set_batch(-1)
    nll, n, right, asked = 0.0, 0, 0, 0
    with torch.no_grad():
        for i in range(0, len(ids), bs):
            lg = model(torch.from_numpy(ids[i:i + bs]), torch.from_numpy(pix[i:i + bs]),
                       torch.from_numpy(mod[i:i + bs]))
            lb = torch.from_numpy(labels[i:i + bs])
            nll += F.cross_entropy(lg.reshape(-1, lg.shape[-1]), lb.reshape(-1), ignore_index=-1,
                                   reduction="sum").item()
            n += int((lb >= 0).sum())
            pred = lg.argmax(-1).numpy()
            for k, a in enumerate(ans[i:i + bs]):
                for pos, digit in a:
                    if pos >= 0:
                        asked += 1
                        right += int(pred[k, pos] == digit)
    return nll / n / math.log(2), right / max(asked, 1), asked


# --------------------------------------------------------------------------- training
def make_optimizer(model):
    """AdamW; weight decay on the matrices but the position table."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and n != "pos"]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and n != "pos")]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                             lr=LR, betas=(0.9, 0.95))


def lr_at(step, steps):
    """Linear warm-up, then cosine decay to 5% over the remaining steps."""
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return LR * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def update(model, opt, loss, step, steps, run):
    """One optimizer step at the schedule's rate, gradients clipped to norm
    1; returns the running loss."""
    for g in opt.param_groups:
        g["lr"] = lr_at(step, steps)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item() if step == 0 else 0.98 * run + 0.02 * loss.item()


def main():
    train_text, eval_text, chars = load_text()
    stoi = {c: i for i, c in enumerate(chars)}
    img_id = len(chars)                 # one extra id: the image placeholder
    V = len(chars) + 1
    train_ids = np.array([stoi[c] for c in train_text], np.int64)
    eval_ids = np.array([stoi[c] for c in eval_text], np.int64)

    model = MMLM(V)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params: {n_params}")
    opt = make_optimizer(model)
    rng = np.random.RandomState(SEED)
    t0 = time.time()
    run = 0.0
    for step in range(STEPS):
        model.train()
        model.set_batch(-1)
        ids, pix, mod, labels, ans = make_set(rng, BATCH, train_ids, stoi, img_id)
        lg = model(torch.from_numpy(ids), torch.from_numpy(pix), torch.from_numpy(mod))
        loss = F.cross_entropy(lg.reshape(-1, V), torch.from_numpy(labels).reshape(-1), ignore_index=-1)
        run = update(model, opt, loss, step, STEPS, run)
        if step % 250 == 0 or step == STEPS - 1:
            print(f"step {step:5d} loss {run:.3f} ({run / math.log(2):.3f} bpc) {time.time() - t0:.0f}s", flush=True)
    train_time = time.time() - t0

    test = make_set(np.random.RandomState(SEED + 1), N_TEST, eval_ids, stoi, img_id)
    big = make_set(np.random.RandomState(SEED + 3), 1024, eval_ids, stoi, img_id)
    model.vision.fold()
    bpc_test, acc_test, asked = evaluate(model, *test)
    bpc_big, acc_big, asked_big = evaluate(model, *big)
    print(f"test: bpc {bpc_test:.4f}, answer accuracy {acc_test:.4f} ({asked} answers); "
          f"1024 eval sequences: bpc {bpc_big:.4f}, accuracy {acc_big:.4f} ({asked_big}); train {train_time:.0f}s")

    # massive channels: per-modality max |x| of the embedding stream
    with torch.no_grad():
        ids, pix, mod = (torch.from_numpy(a) for a in test[:3])
        m = mod.unsqueeze(-1)
        x = model.tok(ids) * (1 - m) + model.vision(pix) * m
        img_max = float(x[mod > 0].abs().max())
        txt_max = float(x[mod == 0].abs().max())
    print(f"embedding stream max|x|: image tokens {img_max:.1f}, text tokens {txt_max:.2f}")

    model.set_batch(1)
    path = os.path.join(HERE, "model.onnx")
    args = tuple(torch.from_numpy(a[0:1]) for a in test[:3])
    torch.onnx.export(model, args, path, opset_version=17, do_constant_folding=True,
                      input_names=["ids", "pix", "mod"], output_names=["logits"])
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = Counter(n.op_type for n in m.graph.node)
    print("ops:", dict(ops))

    for d in ("calib", "test"):
        os.makedirs(os.path.join(HERE, d), exist_ok=True)
    cal = make_set(np.random.RandomState(SEED + 2), N_CALIB, train_ids, stoi, img_id)
    for name, a in zip(("ids", "pix", "mod"), cal[:3]):
        np.save(os.path.join(HERE, "calib", f"{name}.npy"), a[:, None])
    for name, a in zip(("ids", "pix", "mod"), test[:3]):
        np.save(os.path.join(HERE, "test", f"{name}.npy"), a[:, None])
    np.save(os.path.join(HERE, "test", "labels.npy"), test[3])
    np.save(os.path.join(HERE, "test", "answers.npy"), test[4])
    with torch.no_grad():
        e0 = model(*args).numpy().astype(np.float32)
    for name, a in zip(("ids", "pix", "mod"), args):
        np.save(os.path.join(HERE, f"input_0_{name}.npy"), a.numpy())
    np.save(os.path.join(HERE, "expected_0.npy"), e0)

    ref = {
        "model": "mm_lm",
        "metric": "bits_per_character+answer_accuracy",
        "test_bpc": bpc_test,
        "test_answer_accuracy": acc_test,
        "test_answers": asked,
        "test_sequences": N_TEST,
        "eval1024_bpc": bpc_big,
        "eval1024_answer_accuracy": acc_big,
        "embedding_max_abs": {"image": img_max, "text": txt_max},
        "params": n_params,
        "train_steps": STEPS,
        "train_seconds": round(train_time),
        "inputs": [{"name": "ids", "shape": [1, T], "dtype": "int64"},
                   {"name": "pix", "shape": [1, T, P], "dtype": "float32"},
                   {"name": "mod", "shape": [1, T], "dtype": "float32"}],
        "output": {"name": "logits", "shape": [1, T, V], "dtype": "float32"},
        "ops": dict(sorted(ops.items())),
        "opset": 17,
        "torch_version": torch.__version__,
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
