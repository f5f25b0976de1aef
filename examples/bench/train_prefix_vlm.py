#!/usr/bin/python3
"""Train and export a LLaVA-style multimodal LM: a held-out layout for AIFS and MSQ.

examples/mm_lm, which the token-reordering and per-modality-scale methods
were built on, mixes modalities with a per-token modality input
(x = tok(ids) (1 - m) + vision(pix) m). Real vision-language models more
often assemble the sequence by concatenation: the projected image patches
in front, then the text embeddings. This script trains that layout with
mm_lm's pieces (imported from examples/mm_lm/train.py: glyphs, patches,
RMSNorm blocks, the projector with massive channels, same widths):

    x = Concat(vision(pix) [1, 4, 64], tok(ids) [1, 44, 64], axis=1) + pos
    inputs  pix float32 [1, 4, 16] (one 8x8 glyph as 4 patches),
            ids int64 [1, 44] (text: "=C" then English; C the glyph's digit)
    output  logits [1, 48, V]

and writes mm_lm's directory layout, so test/e2e/check_multimodal.py and
examples/bench/msq_table.py run on it (--example OUT_DIR --msq-flags
"--aifs-static image=0:4 --msq"):
    OUT/model.onnx, calib/{pix,ids}.npy [128, 1, ...], test/{pix,ids,labels,
    answers}.npy (64 sequences), input_0_{pix,ids}.npy, expected_0.npy,
    reference.json

Run: /usr/bin/python3 examples/bench/train_prefix_vlm.py OUT_DIR [--steps 3000]
(CPU, 2 threads, about 4 minutes; deterministic on one machine).
"""
import argparse
import importlib.util
import json
import math
import os
import sys
import time
from collections import Counter

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("mm_lm_train", os.path.join(ROOT, "examples", "mm_lm", "train.py"))
mm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mm)

NI = mm.PATCHES          # image tokens, in front
NT = mm.T - NI           # text tokens after them


def make_sample(rng, text_ids, stoi):
    """(pix [NI, P], ids [NT], labels [T], answer (position, digit id)): one
    glyph, then '=' and its digit, then text. Labels are next-token targets
    where the next token is text (the '=' after the last patch included)."""
    c = rng.randint(mm.N_CLASSES)
    pix = mm.patches(mm.glyph(rng, c))
    start = rng.randint(0, len(text_ids) - NT)
    ids = text_ids[start:start + NT].copy()
    ids[0], ids[1] = stoi["="], stoi[str(c)]
    labels = np.full(mm.T, -1, np.int64)
    labels[NI - 1:mm.T - 1] = ids
    return pix, ids, labels, (NI, stoi[str(c)])


def make_set(rng, n, text_ids, stoi):
    out = [make_sample(rng, text_ids, stoi) for _ in range(n)]
    pix, ids, labels = (np.stack([o[i] for o in out]) for i in range(3))
    ans = np.array([[o[3]] for o in out], np.int64)      # [sample, 1, (position, digit id)]
    return pix, ids, labels, ans


class PrefixVLM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.tok = nn.Embedding(vocab, mm.D)
        self.vision = mm.Vision()
        self.pos = nn.Parameter(torch.randn(1, mm.T, mm.D) * 0.02)
        self.blocks = nn.ModuleList([mm.Block() for _ in range(mm.N_LAYERS)])
        self.norm_f = mm.RMSNorm(mm.D)
        self.head = nn.Linear(mm.D, vocab, bias=False)
        self.register_buffer("mask", torch.triu(torch.full((mm.T, mm.T), mm.MASK_VALUE), diagonal=1))
        nn.init.normal_(self.tok.weight, std=0.5)
        for b in self.blocks:
            nn.init.normal_(b.o.weight, std=0.02 / math.sqrt(2 * mm.N_LAYERS))
            nn.init.normal_(b.down.weight, std=0.02 / math.sqrt(2 * mm.N_LAYERS))

    def set_batch(self, b):
        for blk in self.blocks:
            blk.batch = b

    def forward(self, pix, ids):
        x = torch.cat([self.vision(pix), self.tok(ids)], dim=1) + self.pos
        for b in self.blocks:
            x = b(x, self.mask)
        return self.head(self.norm_f(x))


def evaluate(model, pix, ids, labels, ans, bs=64):
    """(bits per text character, answer accuracy, answers)."""
    model.eval()
    model.set_batch(-1)
    nll, n, right = 0.0, 0, 0
    with torch.no_grad():
        for i in range(0, len(ids), bs):
            lg = model(torch.from_numpy(pix[i:i + bs]), torch.from_numpy(ids[i:i + bs]))
            lb = torch.from_numpy(labels[i:i + bs])
            nll += F.cross_entropy(lg.reshape(-1, lg.shape[-1]), lb.reshape(-1), ignore_index=-1,
                                   reduction="sum").item()
            n += int((lb >= 0).sum())
            pred = lg.argmax(-1).numpy()
            right += sum(int(pred[k, a[0][0]] == a[0][1]) for k, a in enumerate(ans[i:i + bs]))
    return nll / n / math.log(2), right / len(ids), len(ids)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=3000)
    a = ap.parse_args()
    out = a.out
    torch.manual_seed(mm.SEED)
    train_text, eval_text, chars = mm.load_text()
    stoi = {c: i for i, c in enumerate(chars)}
    V = len(chars)
    train_ids = np.array([stoi[c] for c in train_text], np.int64)
    eval_ids = np.array([stoi[c] for c in eval_text], np.int64)

    model = PrefixVLM(V)
    n_params = sum(p.numel() for p in model.parameters())
    opt = mm.make_optimizer(model)
    rng = np.random.RandomState(mm.SEED)
    t0, run = time.time(), 0.0
    for step in range(a.steps):
        model.train()
        model.set_batch(-1)
        pix, ids, labels, _ = make_set(rng, mm.BATCH, train_ids, stoi)
        lg = model(torch.from_numpy(pix), torch.from_numpy(ids))
        loss = F.cross_entropy(lg.reshape(-1, V), torch.from_numpy(labels).reshape(-1), ignore_index=-1)
        run = mm.update(model, opt, loss, step, a.steps, run)
        if step % 500 == 0 or step == a.steps - 1:
            print(f"step {step:5d} loss {run:.3f} ({run / math.log(2):.3f} bpc) {time.time() - t0:.0f}s", flush=True)
    train_time = time.time() - t0

    test = make_set(np.random.RandomState(mm.SEED + 1), mm.N_TEST, eval_ids, stoi)
    model.vision.fold()
    bpc, acc, asked = evaluate(model, *test)
    with torch.no_grad():
        img = model.vision(torch.from_numpy(test[0]))
        txt = model.tok(torch.from_numpy(test[1]))
    img_max, txt_max = float(img.abs().max()), float(txt.abs().max())
    print(f"test: bpc {bpc:.4f}, answer accuracy {acc:.4f} ({asked} answers); embedding max|x| image "
          f"{img_max:.1f}, text {txt_max:.2f}; train {train_time:.0f}s")

    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    os.makedirs(os.path.join(out, "test"), exist_ok=True)
    model.set_batch(1)
    args = (torch.from_numpy(test[0][0:1]), torch.from_numpy(test[1][0:1]))
    path = os.path.join(out, "model.onnx")
    torch.onnx.export(model, args, path, opset_version=17, do_constant_folding=True, input_names=["pix", "ids"],
                      output_names=["logits"])
    m = onnx.load(path)
    onnx.checker.check_model(m)
    cal = make_set(np.random.RandomState(mm.SEED + 2), mm.N_CALIB, train_ids, stoi)
    for name, k in (("pix", 0), ("ids", 1)):
        np.save(os.path.join(out, "calib", f"{name}.npy"), cal[k][:, None])
        np.save(os.path.join(out, "test", f"{name}.npy"), test[k][:, None])
        np.save(os.path.join(out, f"input_0_{name}.npy"), args[k].numpy())
    np.save(os.path.join(out, "test", "labels.npy"), test[2])
    np.save(os.path.join(out, "test", "answers.npy"), test[3])
    with torch.no_grad():
        np.save(os.path.join(out, "expected_0.npy"), model(*args).numpy().astype(np.float32))
    ref = {
        "model": "prefix_vlm", "metric": "bits_per_character+answer_accuracy", "test_bpc": bpc,
        "test_answer_accuracy": acc, "test_answers": asked, "test_sequences": mm.N_TEST,
        "embedding_max_abs": {"image": img_max, "text": txt_max}, "params": n_params, "train_steps": a.steps,
        "train_seconds": round(train_time),
        "inputs": [{"name": "pix", "shape": [1, NI, mm.P], "dtype": "float32"},
                   {"name": "ids", "shape": [1, NT], "dtype": "int64"}],
        "output": {"name": "logits", "shape": [1, mm.T, V], "dtype": "float32"},
        "ops": dict(sorted(Counter(n.op_type for n in m.graph.node).items())), "opset": 17,
        "torch_version": torch.__version__,
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
