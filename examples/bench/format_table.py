#!/usr/bin/python3
"""Formats x (accuracy, bytes, latency) on the example models, in one run.

For every example and every scheme: the test-split metric through the
generated C (test/e2e/check_example.py, which also checks C == qcc run bit
for bit), the constant bytes of the generated C (qcc -v), and the median
time per run of the generated C (--bench, cc -O2 -march=native), with the
ratio to the float build timed in the same run.

usage: examples/bench/format_table.py [--build build] [--iters 300] [--examples digits_transformer,char_lm]
                                      [--schemes f32,w8a8,...] [--auto-bits 8,4.5]
Takes minutes (char_lm's -q auto measures 300+ variants); not run by CI.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMES = "f32,w8a8,w4a8,w8a16,w4a16,mxint8,mxfp8,mxfp6,mxfp4,nvfp4,bfp8,bfp6,bfp4,bbfp8,bbfp6,bbfp4"


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--examples", default="digits_transformer,char_lm")
    ap.add_argument("--schemes", default=SCHEMES)
    ap.add_argument("--auto-bits", default="8,4.5")
    ap.add_argument("--work", default="/tmp/qcc_format_table")
    a = ap.parse_args()
    qcc = os.path.join(a.build, "qcc")
    configs = [(s, []) for s in a.schemes.split(",")]
    configs += [("auto", ["--avg-bits", b]) for b in a.auto_bits.split(",") if b]
    for ex in a.examples.split(","):
        exdir = os.path.join(ROOT, "examples", ex)
        x0 = os.path.join(exdir, "input_0.npy")
        print(f"\n{ex}\n| scheme | metric | bytes | ms per run | vs f32 |\n|---|---|---|---|---|")
        base = None
        for s, extra in configs:
            name = s + "".join(extra).replace("--avg-bits", "-")
            work = os.path.join(a.work, ex, name)
            out = run(["/usr/bin/python3", os.path.join(ROOT, "test/e2e/check_example.py"), a.build, exdir, work,
                       "--scheme", s, "--qflags", " ".join(extra), "--acc-budget", "1", "--bpc-budget", "10"])
            metric = re.search(r"(test accuracy|test bits per character) ([0-9.]+)", out).group(2)
            flags = [] if s == "f32" else ["-q", s, "--calib", os.path.join(exdir, "calib"), *extra]
            c, main_c, exe = (os.path.join(work, f) for f in ("t.c", "t_main.c", "t"))
            v = run([qcc, os.path.join(exdir, "model.onnx"), "-o", c, "--emit-main", main_c, "-v", *flags])
            nbytes = int(re.search(r"weights ([0-9]+) bytes", v).group(1))
            run(["cc", "-std=c99", "-O2", "-march=native", c, main_c, "-lm", "-o", exe])
            ms = float(run([exe, x0, "--bench", str(a.iters)]).split("c_ms_per_run")[1].split()[0])
            base = ms if base is None else base
            print(f"| {s} {' '.join(extra)} | {metric} | {nbytes} | {ms:.4f} | {ms / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
