#!/usr/bin/python3
"""Train and export a wider char LM with activation outliers, for quantization benchmarks.

The qcc quantization methods (block formats, mixed precision, rotation) were tuned on
examples/char_lm, a small model (d=128) trained briefly with weight decay, whose
activations are fairly tame.  This script trains a held-out test case that the methods
were not built for: the same architecture (imported from examples/char_lm/train.py) but
wider (d=256, SwiGLU 768), trained 5x longer with no weight decay, which lets large
activation outliers grow (in the MLP down-projection inputs and the residual stream).

It writes the same layout as examples/char_lm, so test/e2e/check_example.py runs on it:
    OUT/model.onnx, calib/tokens.npy [64,1,64], test/tokens.npy [32,1,64],
    test/labels.npy [32,64], input_0.npy, expected_0.npy, reference.json, vocab.json
and prints, per block, max|x|/std of the down-projection input and of the residual
stream (block output) on a few calibration windows.

Run (CUDA if available, else CPU; an H200 takes about 80 s, a CPU much longer):
    python3 examples/bench/train_outlier_lm.py OUT_DIR [--steps 6000] [--d 256]

The corpus is small (~440 K characters), so the default 6000 steps overfit on purpose:
train ~0.3 bpc, held-out ~2.4-2.6 bpc (the held-out minimum, ~1.5, is near step 1500),
while the outliers keep growing.  --steps 1500 gives an early-stopped model with milder
outliers, for comparison.  GPU training is not bit-reproducible from run to run.
"""
import argparse
import importlib.util
import inspect
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "char_lm_train", os.path.join(HERE, "..", "char_lm", "train.py"))
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)          # reuses CharLM, windows, bpc, check_onnx, build_corpus


def outliers(model, x):
    """Per block: max|x|/std of the down-projection input and of the block output."""
    stats, hooks = {}, []
    for i, blk in enumerate(model.blocks):
        hooks.append(blk.down.register_forward_pre_hook(
            lambda m, inp, i=i: stats.__setitem__(("down", i), inp[0].detach())))
        hooks.append(blk.register_forward_hook(
            lambda m, inp, out, i=i: stats.__setitem__(("resid", i), out.detach())))
    model.eval()
    model.set_batch(-1)
    with torch.no_grad():
        model(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    rows = []
    for i in range(len(model.blocks)):
        row = [i]
        for kind in ("down", "resid"):
            t = stats[(kind, i)]
            ch = t.abs().reshape(-1, t.shape[-1]).amax(0)      # per-channel max|x|
            row += [float(t.abs().max() / t.std()), int(ch.argmax()), float(ch.max() / ch.median())]
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    # model constants are module globals read when the model is built / run
    base.D, base.H, base.N_LAYERS = args.d, 4, 4
    base.DH, base.D_FF, base.STEPS = args.d // 4, 3 * args.d, args.steps
    out = args.out
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    os.makedirs(os.path.join(out, "test"), exist_ok=True)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(base.SEED)

    train_text, eval_text = base.build_corpus()          # examples/char_lm/{corpus,eval}.txt
    chars = sorted(set(train_text) | set(eval_text))
    stoi = {c: i for i, c in enumerate(chars)}
    V = len(chars)
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({"type": "chars", "size": V, "chars": chars}, f, ensure_ascii=True, indent=0)
        f.write("\n")
    train_ids = np.array([stoi[c] for c in train_text], dtype=np.int64)
    eval_ids = np.array([stoi[c] for c in eval_text], dtype=np.int64)
    CTX = base.CTX
    ex_all, ey_all = base.windows(eval_ids, np.arange(0, len(eval_ids) - CTX - 1, CTX))
    test_starts = np.linspace(0, len(eval_ids) - CTX - 1, base.N_TEST).round().astype(np.int64)
    tx, ty = base.windows(eval_ids, test_starts)

    model = base.CharLM(V).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"device {dev}, d={base.D} ff={base.D_FF} layers={base.N_LAYERS}, params {n_params}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)

    def lr_at(step):                                     # warmup, then cosine to 5%
        if step < base.WARMUP:
            return args.lr * (step + 1) / base.WARMUP
        t = (step - base.WARMUP) / max(1, args.steps - base.WARMUP)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    ex_dev, ey_dev = torch.from_numpy(ex_all).to(dev), torch.from_numpy(ey_all).to(dev)

    def heldout_bpc():                                   # all eval windows, on the training device
        model.eval()
        with torch.no_grad():
            loss = F.cross_entropy(model(ex_dev).reshape(-1, V), ey_dev.reshape(-1)).item()
        model.train()
        return loss / math.log(2)

    rng = np.random.RandomState(base.SEED)
    t0 = time.time()
    model.train()
    for step in range(args.steps):
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step)
        xb, yb = base.windows(train_ids, rng.randint(0, len(train_ids) - CTX - 1, size=args.batch))
        xb, yb = torch.from_numpy(xb).to(dev), torch.from_numpy(yb).to(dev)
        loss = F.cross_entropy(model(xb).reshape(-1, V), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step:5d} lr {lr_at(step):.2e} train {loss.item() / math.log(2):.3f} bpc, "
                  f"eval {heldout_bpc():.3f} bpc  "
                  f"{time.time() - t0:.0f}s", flush=True)
    train_time = time.time() - t0

    model = model.cpu().eval()                           # evaluate and export on CPU
    bpc_test, bpc_eval = base.bpc(model, tx, ty), base.bpc(model, ex_all, ey_all)
    tr = np.random.RandomState(base.SEED + 1).randint(0, len(train_ids) - CTX - 1, size=512)
    bpc_train = base.bpc(model, *base.windows(train_ids, tr))
    print(f"bpc: test {bpc_test:.4f}, all eval windows {bpc_eval:.4f}, train sample {bpc_train:.4f}; "
          f"train time {train_time:.1f}s")

    cal_starts = np.random.RandomState(base.SEED + 2).randint(0, len(train_ids) - CTX - 1, size=base.N_CALIB)
    cx, _ = base.windows(train_ids, cal_starts)
    print("outliers on 8 calibration windows (max|x|/std; channel of the largest max|x|, its max / median max):")
    print("block  down: max/std  ch  ch-ratio   resid: max/std  ch  ch-ratio")
    for i, a, ca, ra, b, cb, rb in outliers(model, cx[:8]):
        print(f"{i:5d}  {a:14.1f} {ca:4d} {ra:8.1f}   {b:14.1f} {cb:4d} {rb:8.1f}")

    model.set_batch(1)                                   # all-literal reshape targets
    path = os.path.join(out, "model.onnx")
    kw = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, torch.from_numpy(tx[0:1]), path, opset_version=17, do_constant_folding=True,
                      input_names=["tokens"], output_names=["logits"], **kw)
    m, ops, problems = base.check_onnx(path)
    print("ops:", dict(ops), "shape problems:", problems or "none")
    assert not problems, problems

    np.save(os.path.join(out, "calib", "tokens.npy"), cx[:, None])      # [64,1,64]
    np.save(os.path.join(out, "test", "tokens.npy"), tx[:, None])       # [32,1,64]
    np.save(os.path.join(out, "test", "labels.npy"), ty)                # [32,64]
    x0 = tx[0:1]
    with torch.no_grad():
        e0 = model(torch.from_numpy(x0)).numpy().astype(np.float32)
    np.save(os.path.join(out, "input_0.npy"), x0)
    np.save(os.path.join(out, "expected_0.npy"), e0)
    ref = {
        "model": "outlier_lm", "metric": "bits_per_character", "test_bpc": bpc_test,
        "test_windows": base.N_TEST,
        "test_note": "mean over all 32x64 next-char predictions in test/tokens.npy vs test/labels.npy, "
                     "natural-log cross-entropy / ln 2",
        "eval_bpc_all_windows": bpc_eval, "eval_windows": int(len(ex_all)),
        "train_sample_bpc": bpc_train, "vocab_size": V, "context": CTX, "params": n_params,
        "train_steps": args.steps, "batch": args.batch,
        "input": {"name": "tokens", "shape": [1, CTX], "dtype": "int64"},
        "output": {"name": "logits", "shape": [1, CTX, V], "dtype": "float32"},
        "ops": dict(sorted(ops.items())), "opset": 17, "torch_version": torch.__version__,
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
