#!/usr/bin/python3
"""Latency of measured attention scales (issue 16, passes/attention_scales.c):
mm_lm and char_lm at W8A8, all attention matmuls per-tensor static
(--attention-scales static) against the measured choice (--attention-scales
measure: MXINT8 where static measures 6 dB worse, encoded at run time by
runtime/qrt_bdot_enc.c).

Each build: qcc -q w8a8 --calib <example>/calib, cc -std=c99 -O2
-march=native (as examples/bench/msq_table.py), timed by the generated
main's --bench N (median ms per run). The four binaries run one after
another, ROUNDS times (interleaved, so machine load hits all alike); the
table gives each one's median and minimum over the rounds (on a loaded
machine the minimum is the steadier) and measure / static of both.

usage: examples/bench/attention_bench.py [--build DIR] [--rounds R] [--runs N]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = {
    "mm_lm": [f"input_0_{n}.npy" for n in ("ids", "pix", "mod")],
    "char_lm": ["input_0.npy"],
}
MODES = ["static", "measure"]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=1000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exes, picked = {}, {}
        for model in MODELS:
            ex = os.path.join(ROOT, "examples", model)
            for mode in MODES:
                c, main_c, exe = (os.path.join(tmp, f"{model}_{mode}{s}") for s in (".c", "_main.c", ""))
                log = run([os.path.join(a.build, "qcc"), os.path.join(ex, "model.onnx"), "-q", "w8a8", "--calib",
                           os.path.join(ex, "calib"), "--attention-scales", mode, "-v", "-o", c, "--emit-main", main_c])
                m = re.search(r"attention_scales: (\d+) of (\d+) run-time matmuls take mxint8", log)
                picked[model, mode] = f"{m.group(1)} of {m.group(2)}" if m else "0"
                run(["cc", "-std=c99", "-O2", "-march=native", c, main_c, "-lm", "-o", exe])
                exes[model, mode] = [exe, *(os.path.join(ex, i) for i in MODELS[model])]
        ms = {k: [] for k in exes}
        for _ in range(a.rounds):
            for k, cmd in exes.items():
                out = run([*cmd, "--bench", str(a.runs)])
                ms[k].append(float(re.search(r"c_ms_per_run ([0-9.eE+-]+)", out).group(1)))
    print(f"W8A8, cc -O2 -march=native, median of {a.rounds} interleaved rounds of --bench {a.runs}\n")
    print("| model | attention scales | MXINT8 matmuls | median ms/run | vs static | min ms/run | vs static |")
    print("|---|---|---|---|---|---|---|")
    for model in MODELS:
        med, low = statistics.median(ms[model, "static"]), min(ms[model, "static"])
        for mode in MODES:
            t, u = statistics.median(ms[model, mode]), min(ms[model, mode])
            print(f"| {model} | {mode} | {picked[model, mode]} | {t:.4f} | {t / med:.3f}x | {u:.4f} | {u / low:.3f}x |")


if __name__ == "__main__":
    main()
