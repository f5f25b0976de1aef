#!/usr/bin/python3
"""How far a quantized build's outputs are from the float model's, over an
example language model's test windows: for each variant (a list of qcc
flags), qcc compiles the model to C (--emit-main, --weights-file), cc builds
it, and every window of EXAMPLE/test/tokens.npy runs through it; the float
build (no -q) runs them too.  Printed per variant: the RMS difference of the
logits from the float build's, the mean KL divergence KL(float || variant)
of the next-character distributions, and the bits per character against
the labels.

Used for the float-epilogues pass (docs/quantization.md):
  examples/bench/output_error.py examples/char_lm \\
      "-q w8a8" "-q w8a8 --no-float-epilogues" "-q w4a8" "-q w4a8 --no-float-epilogues"
Each variant string is split on spaces; "--calib EXAMPLE/calib" is added to
any variant with -q.

usage: examples/bench/output_error.py EXAMPLE_DIR VARIANT... [--build DIR] [--work DIR]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")


def build(qcc, ex, flags, work):
    os.makedirs(work, exist_ok=True)
    c, main, exe, bin_ = (os.path.join(work, f) for f in ("model.c", "main.c", "model", "model.bin"))
    if "-q" in flags:
        flags = flags + ["--calib", os.path.join(ex, "calib")]
    run([qcc, os.path.join(ex, "model.onnx"), "-o", c, "--emit-main", main, "--weights-file", bin_] + flags)
    run(["cc", "-O2", "-march=native", "-I" + work, "-I" + os.path.join(ROOT, "runtime"), c, main, "-lm", "-o", exe])
    return exe, bin_


def logits(exe, bin_, windows, work):
    sample, out = os.path.join(work, "sample.npy"), os.path.join(work, "out")
    os.makedirs(out, exist_ok=True)
    rows = []
    for w in windows:
        np.save(sample, w)
        run([exe, sample, "--weights", bin_, "--out", out])
        rows.append(np.load(os.path.join(out, "out0.npy")))
    return np.stack(rows).astype(np.float64)


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("example")
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    qcc = os.path.join(a.build, "qcc")
    tdir = os.path.join(a.example, "test")
    windows, labels = np.load(os.path.join(tdir, "tokens.npy")), np.load(os.path.join(tdir, "labels.npy"))
    work = a.work or tempfile.mkdtemp(prefix="qcc_output_error_")
    ref = log_softmax(logits(*build(qcc, a.example, [], os.path.join(work, "f32")), windows, os.path.join(work, "f32")))
    print(f"{os.path.basename(os.path.abspath(a.example))}: {len(windows)} test windows")
    print(f"{'variant':44s} {'rms vs float':>12s} {'KL(float||q)':>13s} {'bits/char':>10s}")
    for i, v in enumerate([""] + a.variants):
        d = os.path.join(work, f"v{i}")
        lp = ref if not v else log_softmax(logits(*build(qcc, a.example, v.split(), d), windows, d))
        kl = (np.exp(ref) * (ref - lp)).sum(-1).mean()
        rms = np.sqrt(((lp - ref) ** 2).mean())
        bpc = -np.take_along_axis(lp.reshape(labels.shape + (-1,)), labels[..., None], -1).mean() / np.log(2)
        print(f"{v or 'float':44s} {rms:12.5f} {kl:13.6f} {bpc:10.5f}")


if __name__ == "__main__":
    main()
