#!/usr/bin/python3
"""Issue 11's table: on the multimodal example (examples/mm_lm), accuracy and
latency of the generated C for three ways of scaling activations

  per-tensor static   -q S --attention-scales static   one calibrated scale per tensor
  MSQ static + AIFS   -q S --aifs mod --msq     one calibrated scale per modality,
                                                tokens reordered so each modality
                                                is one block of rows
  per-token dynamic   -q S --act-scale token    a scale per row at run time

at W8A8, W4A8 and W4A4, each without and with --rotate hadamard, in one run:
bits per text character and answer accuracy on the test split (through the
generated C, check_multimodal.py), and the C's CPU time per run (built with
-O2 -march=native; its --emit-main --bench, the same input): every program
is built first, then timed in --rounds rounds, each running all of them
once (every other round in reverse order), so that the host's load drifts
over all alike; a program's time is the least of its rounds' medians (on
a shared host a round's median jumps by a third when another job runs:
the least is the quiet machine's).

It prints the table as Markdown, then the issue's bars: at W4A4 without
rotation MSQ closes at least a quarter of per-tensor static's bits-per-char
gap to per-token dynamic; at W4A8 MSQ is not worse than per-tensor static;
MSQ runs about as fast as per-tensor static and faster than per-token.

--example DIR runs it on another model in mm_lm's layout (reference.json,
calib/, test/, input_0_*.npy), with --msq-flags giving how that model's
tokens get their modalities, e.g. the LLaVA-style model of
examples/bench/train_prefix_vlm.py (image patches concatenated in front of
the text):  --example OUT --msq-flags "--aifs-static image=0:4 --msq".

usage: examples/bench/msq_table.py [--build DIR] [--runs N] [--rounds R]
       [--example DIR --msq-flags FLAGS]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples", "mm_lm")
# per-tensor static keeps attention's matmuls per-tensor static as MSQ does
# (--msq's attention reads int8 codes; measured MXINT8 attention scales,
# the default otherwise, would change more than the activation scaling)
METHODS = [("per-tensor static", "--attention-scales static"), ("MSQ static + AIFS", "--aifs mod --msq"), ("per-token dynamic", "--act-scale token")]
SCHEMES = ["w8a8", "w4a8", "w4a4"]
ROTATIONS = [("none", ""), ("hadamard", "--rotate hadamard")]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def measure(build, ex, work, flags, test_dir=None):
    """(bpc, accuracy, native program) of the generated C with these qcc flags."""
    metrics = os.path.join(work, "metrics.txt")
    run(["/usr/bin/python3", os.path.join(ROOT, "test/e2e/check_multimodal.py"), build, ex, work, flags,
         "--metrics-file", metrics, "--detail-file", os.path.join(work, "detail.npz"),
         *(["--test-dir", test_dir] if test_dir else [])])
    bpc, acc = (float(v) for v in open(metrics).read().split())
    # timed with the machine's SIMD paths (the int8 kernels pick them at
    # compile time), as a deployment would build it: one self-contained C
    # file (check_multimodal links quantized builds to the build's libqrt.a,
    # compiled for the baseline ISA; their final IR gives the same C with
    # the runtime pasted in, no pass run again)
    fast, c = os.path.join(work, "model_native"), os.path.join(work, "model.c")
    if flags:
        c = os.path.join(work, "model_self.c")
        run([os.path.join(build, "qcc"), os.path.join(work, "final.mlir"), "-o", c, "--name", "model"])
    run(["cc", "-std=c99", "-O2", "-march=native", c, os.path.join(work, "main.c"), "-lm", "-o", fast])
    return bpc, acc, fast


def paired(work_a, work_b):
    """B's bits/char minus A's on the same targets, with its standard error
    (sequences as the independent units: targets of one sequence move
    together), and the answers B got right that A did not, and the reverse."""
    a, b = (np.load(os.path.join(w, "detail.npz")) for w in (work_a, work_b))
    d = b["bits"] - a["bits"]                       # [N, T], NaN where no target
    n = np.isfinite(d).sum()
    per_seq = np.nansum(d, axis=1)
    mean = per_seq.sum() / n
    se = np.sqrt(len(per_seq) * per_seq.var(ddof=1)) / n
    return mean, se, int((b["right"] & ~a["right"]).sum()), int((a["right"] & ~b["right"]).sum())


def time_interleaved(programs, inputs, runs, rounds):
    """The least over rounds of each program's --bench median (ms per run)."""
    times = {p: [] for p in programs}
    for r in range(rounds):
        for p in (programs if r % 2 == 0 else programs[::-1]):
            out = run([p, *inputs, "--bench", str(runs)])
            times[p].append(float(re.search(r"c_ms_per_run ([0-9.eE+-]+)", out).group(1)))
    return {p: min(t) for p, t in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--example", default=EX)
    ap.add_argument("--msq-flags", default=METHODS[1][1])
    ap.add_argument("--test-dir", help="another split in test/'s layout (examples/mm_lm/eval_split.py)")
    ap.add_argument("--schemes", default=",".join(SCHEMES), help="a subset of " + ",".join(SCHEMES))
    a = ap.parse_args()
    schemes = a.schemes.split(",")
    if not set(schemes) <= set(SCHEMES):
        sys.exit(f"--schemes: expected some of {','.join(SCHEMES)}, got '{a.schemes}'")
    methods = [METHODS[0], (METHODS[1][0], a.msq_flags), METHODS[2]]
    ref = json.load(open(os.path.join(a.example, "reference.json")))
    if a.test_dir:
        ref.update(json.load(open(os.path.join(a.test_dir, "reference.json"))))
    inputs = [os.path.join(a.example, f"input_0_{i['name']}.npy") for i in ref["inputs"]]
    rows, works, pairs = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        fbpc, facc, fprog = measure(a.build, a.example, os.path.join(tmp, "f32"), "", a.test_dir)
        for scheme in schemes:
            for rname, rflags in ROTATIONS:
                for mname, mflags in methods:
                    flags = " ".join(f for f in (f"-q {scheme}", rflags, mflags) if f)
                    work = os.path.join(tmp, re.sub(r"[^a-z0-9]+", "_", flags))
                    rows[scheme, rname, mname] = measure(a.build, a.example, work, flags, a.test_dir)
                    works[scheme, rname, mname] = work
                    print(f"{flags}: {rows[scheme, rname, mname][:2]}", file=sys.stderr, flush=True)
        if "w4a8" in schemes:
            for rname, _ in ROTATIONS:
                pairs[rname] = paired(works["w4a8", rname, METHODS[0][0]], works["w4a8", rname, METHODS[1][0]])
        ms = time_interleaved([fprog] + [r[2] for r in rows.values()], inputs, a.runs, a.rounds)
    fms = ms[fprog]
    rows = {k: (b, acc, ms[p]) for k, (b, acc, p) in rows.items()}
    print(f"{ref['model']}: float C {fbpc:.4f} bits/char, answer accuracy {facc:.3f}, {1000 * fms:.1f} us/run "
          f"(PyTorch {ref['test_bpc']:.4f}, {ref['test_answer_accuracy']:.3f})\n")
    print(f"MSQ flags: {a.msq_flags}\n")
    print("| scheme | rotation | activation scales | bits/char | answer acc. | us/run |")
    print("|---|---|---|---|---|---|")
    for scheme in schemes:
        for rname, _ in ROTATIONS:
            for mname, _ in methods:
                b, acc, ms = rows[scheme, rname, mname]
                print(f"| {scheme} | {rname} | {mname} | {b:.4f} | {acc:.3f} | {1000 * ms:.1f} |")
    print()
    if "w4a4" in schemes:
        t, q, d = (rows["w4a4", "none", m][0] for m, _ in methods)
        closed = (t - q) / (t - d) if t > d else float("nan")
        print(f"W4A4, no rotation: MSQ closes {100 * closed:.0f}% of per-tensor static's gap to per-token dynamic "
              f"({t:.4f} -> {q:.4f}, per-token {d:.4f}); bar: 25%: {'met' if closed >= 0.25 else 'NOT met'}")
    for rname, _ in ROTATIONS if "w4a8" in schemes else []:
        t, q = rows["w4a8", rname, METHODS[0][0]], rows["w4a8", rname, METHODS[1][0]]
        print(f"W4A8, rotation {rname}: MSQ {q[0]:.4f} bits/char, {q[1]:.3f} accuracy vs per-tensor {t[0]:.4f}, "
              f"{t[1]:.3f}: {'not worse' if q[0] <= t[0] else 'WORSE'} in bits/char, "
              f"{'not worse' if q[1] >= t[1] else 'WORSE'} in accuracy")
        mean, se, gained, lost = pairs[rname]
        print(f"  paired: MSQ - per-tensor {mean:+.2e} bits/char (standard error {se:.1e}, sequences as units; "
              f"{abs(mean) / se:.1f} s.e.); answers MSQ got and per-tensor missed {gained}, the reverse {lost}")
    for scheme in schemes:
        t, q, d = (rows[scheme, "none", m][2] for m, _ in methods)
        print(f"{scheme} latency: MSQ+AIFS {q / t:.2f}x per-tensor static, {q / d:.2f}x per-token dynamic")


if __name__ == "__main__":
    main()
