#!/usr/bin/python3
"""Benchmark: generated C vs ONNX Runtime (onnxruntime-node, one thread),
side by side in one run, on every example model.

For each model: qcc compiles it to C, cc builds it (-O3 -march=native by
default, --cflags to change), and the generated main times N runs
(median CPU ms). ORT is timed by test/tools/ort_run.js --bench with one
intra-op thread and all graph optimisations. Prints a table with the ratio
(C time / ORT time: below 1 means qcc is faster) and the GFLOP/s reached on
the conv/matmul work.

usage: examples/bench/run_bench.py [--build DIR] [--iters N] [--cflags "..."]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = ["digits_cnn", "digits_transformer", "char_lm"]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--cflags", default="-O3 -march=native")
    a = ap.parse_args()
    print(f"{'model':20s} {'MFLOP':>8s} {'qcc C ms':>9s} {'ORT ms':>9s} {'C/ORT':>6s} {'C GFLOP/s':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            ex = os.path.join(ROOT, "examples", name)
            ref = json.load(open(os.path.join(ex, "reference.json")))
            c, main_c, exe = (os.path.join(tmp, f"{name}{s}") for s in (".c", "_main.c", ""))
            log = run([os.path.join(a.build, "qcc"), os.path.join(ex, "model.onnx"), "-o", c, "--emit-main", main_c, "-v"])
            mflop = float(re.search(r"([0-9.]+) MFLOP per run", log).group(1))
            run(["cc", "-std=c99", *a.cflags.split(), c, main_c, "-lm", "-o", exe])
            x0 = os.path.join(ex, "input_0.npy")
            c_ms = float(run([exe, x0, "--bench", str(a.iters)]).split("c_ms_per_run")[1].split()[0])
            ort = run(["node", os.path.join(ROOT, "test/tools/ort_run.js"), os.path.join(ex, "model.onnx"),
                       "--input", f"{ref['input']['name']}={x0}", "--bench", str(a.iters), "--threads", "1"])
            ort_ms = float(ort.split("ort_ms_per_run")[1].split()[0])
            gflops = mflop / c_ms if c_ms > 0 else float("nan")
            print(f"{name:20s} {mflop:8.3f} {c_ms:9.4f} {ort_ms:9.4f} {c_ms / ort_ms:6.2f} {gflops:10.2f}")


if __name__ == "__main__":
    main()
