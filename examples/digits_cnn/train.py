#!/usr/bin/python3
"""Train and export the digits_cnn example (small CNN on sklearn's load_digits).

Regenerate with:   /usr/bin/python3 examples/digits_cnn/train.py
Deterministic: fixed seeds, single-threaded-ish CPU training (~1 minute).
"""
import json
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
EPOCHS = 40
BATCH = 32

torch.set_num_threads(2)
torch.manual_seed(SEED)
np.random.seed(SEED)


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):                      # x: [B,1,8,8]
        x = F.relu(self.bn1(self.conv1(x)))    # [B,16,8,8]
        x = F.relu(self.conv2(x))              # [B,32,8,8]
        x = self.pool(x)                       # [B,32,4,4]
        x = F.relu(self.conv3(x))              # [B,32,4,4]
        x = torch.flatten(x, 1)                # [B,512]
        x = self.drop(x)
        return self.fc(x)                      # [B,10]


def load_data():
    d = load_digits()
    X = (d.images.astype(np.float32) / 16.0)[:, None, :, :]   # [N,1,8,8] in [0,1]
    y = d.target.astype(np.int64)
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
    model = DigitsCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps_per_epoch = (len(Xtr) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=EPOCHS * steps_per_epoch)
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
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(model(xb), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        if ep % 5 == 4 or ep == EPOCHS - 1:
            print(f"epoch {ep+1:3d} loss {tot/len(Xtr):.4f} test acc {accuracy(model, Xte, yte):.4f}")
    train_time = time.time() - t0
    model.eval()
    acc = accuracy(model, Xte, yte)
    print(f"final test accuracy {acc:.4f} ({len(yte)} samples), train time {train_time:.1f}s")

    # ---- export ----
    dummy = torch.from_numpy(Xte[0:1])
    path = os.path.join(HERE, "model.onnx")
    torch.onnx.export(model, dummy, path, opset_version=17, do_constant_folding=True,
                      input_names=["input"], output_names=["logits"],
                      # PRESERVE (model is in eval mode) keeps an explicit inference-mode
                      # BatchNormalization node; the default EVAL mode would fold it into conv1.
                      training=torch.onnx.TrainingMode.PRESERVE)
    m, ops, problems = check_onnx(path)
    print("ops:", dict(ops))
    print("shape problems:", problems or "none")
    assert not problems, problems
    assert "Identity" not in ops and ops["BatchNormalization"] == 1, ops

    # ---- data files ----
    os.makedirs(os.path.join(HERE, "calib"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "test"), exist_ok=True)
    rng = np.random.RandomState(SEED)
    calib_idx = rng.choice(len(Xtr), N_CALIB, replace=False)
    calib = Xtr[calib_idx][:, None]                         # [64,1,1,8,8]
    np.save(os.path.join(HERE, "calib", "input.npy"), calib.astype(np.float32))
    np.save(os.path.join(HERE, "test", "input.npy"), Xte[:, None].astype(np.float32))   # [360,1,1,8,8]
    np.save(os.path.join(HERE, "test", "labels.npy"), yte.astype(np.int64))
    x0 = Xte[0:1].astype(np.float32)
    with torch.no_grad():
        e0 = model(torch.from_numpy(x0)).numpy().astype(np.float32)
    np.save(os.path.join(HERE, "input_0.npy"), x0)
    np.save(os.path.join(HERE, "expected_0.npy"), e0)

    ref = {
        "model": "digits_cnn",
        "metric": "accuracy",
        "test_accuracy": acc,
        "test_samples": int(len(yte)),
        "test_correct": int(round(acc * len(yte))),
        "input": {"name": "input", "shape": [1, 1, 8, 8], "dtype": "float32"},
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
