#!/usr/bin/python3
"""Train and export the digits_transformer example.

A tiny pre-LayerNorm transformer encoder classifier on sklearn's load_digits:
the 8 image rows are 8 tokens of 8 features each.

Regenerate with:   /usr/bin/python3 examples/digits_transformer/train.py
Deterministic: fixed seeds, CPU training (~1-2 minutes on 2 cores).
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
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
N_TEST = 360
N_CALIB = 64
EPOCHS = 80
BATCH = 32

T = 8          # tokens (image rows)
F_IN = 8       # features per token (pixels per row)
D = 64         # model width
H = 4          # heads
DH = D // H    # head dim
D_MLP = 128    # MLP hidden
N_LAYERS = 2

torch.set_num_threads(2)
torch.manual_seed(SEED)
np.random.seed(SEED)


class Block(nn.Module):
    """Pre-LN encoder block, written out by hand. All reshapes use literal ints
    (batch is -1 while training, set to 1 before export) so the exported graph has
    no Shape/Gather/Concat chains and every Reshape target is a fully static constant."""

    def __init__(self):
        super().__init__()
        self.batch = -1
        self.ln1 = nn.LayerNorm(D)
        self.q = nn.Linear(D, D)
        self.k = nn.Linear(D, D)
        self.v = nn.Linear(D, D)
        self.o = nn.Linear(D, D)
        self.ln2 = nn.LayerNorm(D)
        self.fc1 = nn.Linear(D, D_MLP)
        self.fc2 = nn.Linear(D_MLP, D)
        self.scale = 1.0 / math.sqrt(DH)

    def forward(self, x):                                    # [B,T,D]
        B = self.batch
        h = self.ln1(x)
        q = self.q(h).reshape(B, T, H, DH).transpose(1, 2)   # [B,H,T,DH]
        k = self.k(h).reshape(B, T, H, DH).transpose(1, 2)
        v = self.v(h).reshape(B, T, H, DH).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-2, -1)) * self.scale   # [B,H,T,T]
        att = torch.softmax(att, dim=-1)
        a = torch.matmul(att, v)                             # [B,H,T,DH]
        a = a.transpose(1, 2).reshape(B, T, D)              # [B,T,D]
        x = x + self.o(a)
        h = self.ln2(x)
        h = self.fc2(F.gelu(self.fc1(h)))                   # exact (erf) GELU
        return x + h


class DigitsTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(F_IN, D)
        self.pos = nn.Parameter(torch.randn(1, T, D) * 0.02)
        self.blocks = nn.ModuleList([Block() for _ in range(N_LAYERS)])
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, 10)

    def forward(self, x):                 # [B,8,8]
        x = self.embed(x) + self.pos      # [B,T,D]
        for b in self.blocks:
            x = b(x)
        x = self.ln_f(x)
        x = x.mean(dim=1)                 # [B,D]
        return self.head(x)               # [B,10]


def load_data():
    d = load_digits()
    X = d.images.astype(np.float32) / 16.0                     # [N,8,8] in [0,1]
    y = d.target.astype(np.int64)
    # same split as examples/digits_cnn (same seed, size, stratification)
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=N_TEST, random_state=SEED, stratify=y)
    return Xtr, Xte, ytr, yte


def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(X)).argmax(1).numpy()
    return float((pred == y).mean())


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


def main():
    t0 = time.time()
    Xtr, Xte, ytr, yte = load_data()
    model = DigitsTransformer()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    steps_per_epoch = (len(Xtr) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=EPOCHS * steps_per_epoch)
    g = torch.Generator().manual_seed(SEED)
    Xtr_t, ytr_t = torch.from_numpy(Xtr), torch.from_numpy(ytr)
    for ep in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(Xtr), generator=g)
        tot = 0.0
        for i in range(0, len(Xtr), BATCH):
            idx = perm[i:i + BATCH]
            xb = Xtr_t[idx]
            # light augmentation: random shift by up to 1 pixel
            dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(1, 2))
            loss = F.cross_entropy(model(xb), ytr_t[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        if ep % 10 == 9 or ep == EPOCHS - 1:
            print(f"epoch {ep+1:3d} loss {tot/len(Xtr):.4f} test acc {accuracy(model, Xte, yte):.4f}")
    train_time = time.time() - t0
    model.eval()
    acc = accuracy(model, Xte, yte)
    print(f"final test accuracy {acc:.4f} ({len(yte)} samples), train time {train_time:.1f}s")

    # ---- export (batch fixed at 1) ----
    for b in model.blocks:
        b.batch = 1
    dummy = torch.from_numpy(Xte[0:1])
    path = os.path.join(HERE, "model.onnx")
    torch.onnx.export(model, dummy, path, opset_version=17, do_constant_folding=True,
                      input_names=["input"], output_names=["logits"])
    m, ops, problems = check_onnx(path)
    print("ops:", dict(ops))
    print("shape problems:", problems or "none")
    assert not problems, problems

    # ---- data files ----
    os.makedirs(os.path.join(HERE, "calib"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "test"), exist_ok=True)
    rng = np.random.RandomState(SEED)
    calib_idx = rng.choice(len(Xtr), N_CALIB, replace=False)
    calib = Xtr[calib_idx][:, None]                         # [64,1,8,8]
    np.save(os.path.join(HERE, "calib", "input.npy"), calib.astype(np.float32))
    np.save(os.path.join(HERE, "test", "input.npy"), Xte[:, None].astype(np.float32))   # [360,1,8,8]
    np.save(os.path.join(HERE, "test", "labels.npy"), yte.astype(np.int64))
    x0 = Xte[0:1].astype(np.float32)
    with torch.no_grad():
        e0 = model(torch.from_numpy(x0)).numpy().astype(np.float32)
    np.save(os.path.join(HERE, "input_0.npy"), x0)
    np.save(os.path.join(HERE, "expected_0.npy"), e0)

    ref = {
        "model": "digits_transformer",
        "metric": "accuracy",
        "test_accuracy": acc,
        "test_samples": int(len(yte)),
        "test_correct": int(round(acc * len(yte))),
        "input": {"name": "input", "shape": [1, 8, 8], "dtype": "float32"},
        "output": {"name": "logits", "shape": [1, 10], "dtype": "float32"},
        "label_0": int(yte[0]),
        "ops": dict(sorted(ops.items())),
        "opset": 17,
        "torch_version": torch.__version__,
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
