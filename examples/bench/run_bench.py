#!/usr/bin/python3
"""Benchmark: generated float C (fused multiply-add, the default; also with
--no-fma: two roundings), generated W8A8 C (also with --integer-only) and ONNX Runtime
(onnxruntime-node, one thread), side by side in one run, on every example
model; with the weight bytes of the float and int8 builds.

For each model: qcc compiles it to C, cc builds it (-O3 -march=native by
default, --cflags to change), and the generated main times N runs
(median CPU ms). ORT is timed by test/tools/ort_run.js --bench with one
intra-op thread and all graph optimisations. Prints a table with the ratio
(C time / ORT time: below 1 means qcc is faster), the GFLOP/s the float C
reaches on the conv/matmul work, the int8 speed-ups over the float C (W8A8, and W8A8 --integer-only:
softmax, norms and functions on int8 too),
the int8 weights as a fraction of the float weights, and the W4A8 C
(int4 weights, int8 activations) against ORT.

With --threads N it also compiles the float model with --threads N
and times ONNX Runtime with N intra-op threads (wall-clock time, so run it
on an otherwise idle machine).

usage: examples/bench/run_bench.py [--build DIR] [--iters N] [--cflags "..."] [--threads N]
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
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    print(f"{'model':20s} {'MFLOP':>8s} {'f32 C ms':>9s} {'int8 C ms':>9s} {'ORT ms':>9s} {'f32/ORT':>7s} "
          f"{'int8/ORT':>8s} {'f32 GFLOP/s':>11s} {'int8 speedup':>12s} {'int-only ms':>11s} {'speedup':>7s} "
          f"{'weights f32':>11s} {'int8':>8s} {'ratio':>6s} {'nofma ms':>9s} {'nofma/ORT':>9s} {'w4a8 ms':>9s} {'w4a8/ORT':>8s}"
          + (f" {'f32 Nt ms':>9s} {'ORT Nt ms':>9s} {'Nt/ORT Nt':>9s}" if a.threads else ""))
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            ex = os.path.join(ROOT, "examples", name)
            ref = json.load(open(os.path.join(ex, "reference.json")))
            x0 = os.path.join(ex, "input_0.npy")
            res = {}
            for scheme in ("f32", "f32-nofma", "w8a8", "w8a8-io", "w4a8") + (("f32-threads",) if a.threads else ()):
                c, main_c, exe = (os.path.join(tmp, f"{name}_{scheme}{s}") for s in (".c", "_main.c", ""))
                q = [] if scheme.startswith("f32") else ["-q", scheme[:4], "--calib", os.path.join(ex, "calib")]
                if scheme == "f32-nofma":
                    q.append("--no-fma")
                if scheme == "f32-threads":
                    q += ["--threads", str(a.threads)]
                if scheme == "w8a8-io":
                    q.append("--integer-only")
                log = run([os.path.join(a.build, "qcc"), os.path.join(ex, "model.onnx"), "-o", c, "--emit-main", main_c,
                           "-v", *q])
                mflop = float(re.search(r"([0-9.]+) MFLOP per run", log).group(1))
                wbytes = int(re.search(r"weights ([0-9]+) bytes", log).group(1))
                run(["cc", "-std=c99", *a.cflags.split(), c, main_c, "-lm", "-pthread", "-o", exe])
                ms = float(run([exe, x0, "--bench", str(a.iters)]).split("c_ms_per_run")[1].split()[0])
                res[scheme] = (ms, mflop, wbytes)
            c_ms, mflop, fbytes = res["f32"]
            q_ms, _, qbytes = res["w8a8"]
            io_ms = res["w8a8-io"][0]
            ort = run(["node", os.path.join(ROOT, "test/tools/ort_run.js"), os.path.join(ex, "model.onnx"),
                       "--input", f"{ref['input']['name']}={x0}", "--bench", str(a.iters), "--threads", "1"])
            ort_ms = float(ort.split("ort_ms_per_run")[1].split()[0])
            gflops = mflop / c_ms if c_ms > 0 else float("nan")
            print(f"{name:20s} {mflop:8.3f} {c_ms:9.4f} {q_ms:9.4f} {ort_ms:9.4f} {c_ms / ort_ms:7.2f} {q_ms / ort_ms:8.2f} "
                  f"{gflops:11.2f} {c_ms / q_ms:12.2f} {io_ms:11.4f} {c_ms / io_ms:7.2f} {fbytes:11d} {qbytes:8d} "
                  f"{qbytes / fbytes:6.2f} {res['f32-nofma'][0]:9.4f} {res['f32-nofma'][0] / ort_ms:9.2f} "
                  f"{res['w4a8'][0]:9.4f} {res['w4a8'][0] / ort_ms:8.2f}" + threads_cols(a, res, ex, ref, x0))


def threads_cols(a, res, ex, ref, x0):
    """The --threads columns: the generated C and ORT with N threads."""
    if not a.threads:
        return ""
    ort = run(["node", os.path.join(ROOT, "test/tools/ort_run.js"), os.path.join(ex, "model.onnx"),
               "--input", f"{ref['input']['name']}={x0}", "--bench", str(a.iters), "--threads", str(a.threads)])
    ort_ms = float(ort.split("ort_ms_per_run")[1].split()[0])
    c_ms = res["f32-threads"][0]
    return f" {c_ms:9.4f} {ort_ms:9.4f} {c_ms / ort_ms:9.2f}"


if __name__ == "__main__":
    main()
