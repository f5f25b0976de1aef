#!/usr/bin/python3
"""The kernel cost table of -q auto's latency model (passes/sensitivity.c,
qcc_scheme_cost_table): picoseconds per multiply-accumulate of one matmul
layer under each scheme, measured through generated C on this machine.

One matmul [M, K] x [K, N] (M = 64 rows, K = N = 256 by default) is
exported to ONNX, compiled with qcc under every scheme (calibrated on random
inputs for the static ones), built with cc -O2 -march=native and timed with
the generated main's --bench; the float build is timed alongside, and the
table gives each scheme's ps per MAC and its ratio to float in one run.

usage: examples/bench/kernel_costs.py [--qcc build/qcc] [--m 64] [--k 256] [--n 256] [--iters 3000]
                                    [--schemes f32,w8a8,w8i16] [--repeat R]
(f32 always first: the ratios' base; --repeat keeps the fastest of R timings)
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SCHEMES = ["f32", "w8a8", "w4a8", "w8a16", "w4a16", "w8i16", "mxint8", "mxfp8", "mxfp6", "mxfp4", "nvfp4", "bbfp8",
           "bbfp4", "bfp8", "bfp4"]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qcc", default=os.path.join(os.path.dirname(__file__), "../../build/qcc"))
    ap.add_argument("--m", type=int, default=64)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--schemes", default=",".join(SCHEMES), help="comma-separated subset of the schemes")
    ap.add_argument("--repeat", type=int, default=1, help="time each build this many times, keep the fastest")
    a = ap.parse_args()
    schemes = ["f32"] + [s for s in a.schemes.split(",") if s != "f32"]
    for s in schemes:
        if s not in SCHEMES:
            raise SystemExit(f"--schemes: unknown scheme '{s}' (one of {', '.join(SCHEMES)})")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        w = numpy_helper.from_array(rng.standard_normal((a.k, a.n)).astype(np.float32) / np.sqrt(a.k), "w")
        g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [a.m, a.k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [a.m, a.n])], [w])
        model = os.path.join(tmp, "mm.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
        calib = os.path.join(tmp, "calib")
        os.makedirs(calib)
        np.save(os.path.join(calib, "x.npy"), rng.standard_normal((8, a.m, a.k)).astype(np.float32))
        x0 = os.path.join(tmp, "x0.npy")
        np.save(x0, rng.standard_normal((a.m, a.k)).astype(np.float32))
        macs = a.m * a.k * a.n
        rows = []
        for s in schemes:
            c, main_c, exe = (os.path.join(tmp, f"{s}{e}") for e in (".c", "_main.c", ""))
            flags = [] if s == "f32" else ["-q", s, "--calib", calib]
            run([a.qcc, model, "-o", c, "--emit-main", main_c, *flags])
            run(["cc", "-std=c99", "-O2", "-march=native", c, main_c, "-lm", "-o", exe])
            # the fastest of --repeat timings: on a shared machine the others only add load
            ms = min(float(run([exe, x0, "--bench", str(a.iters)]).split("c_ms_per_run")[1].split()[0])
                     for _ in range(a.repeat))
            rows.append((s, ms * 1e9 / macs))
        base = rows[0][1]
        print(f"matmul {a.m}x{a.k}x{a.n}, {macs} MACs, ps per MAC (ratio to f32):")
        for s, ps in rows:
            print(f"  {{\"{s}\", {ps:.2f}}}, /* {ps / base:.2f}x */")


if __name__ == "__main__":
    main()
