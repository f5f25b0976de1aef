#!/usr/bin/python3
"""Time one softmax over the last axis through generated C under each
softmax arithmetic: float (qrt_softmax_f32, vectorized exp), the DBFP
lookup-table softmax (--softmax-format dbfp8 / dbfp4: runtime/qrt_dbfp.c)
and the int8 integer-only softmax (-q w8a8 --integer-only: quantize, table
softmax, dequantize, since the model's input and output are float).

A Softmax node on x [rows, L] is exported to ONNX, compiled with qcc, built
with cc --cflags (default -O2 -march=native; -O2 alone: the portable loops)
and timed with the generated main's --bench; the table gives ns per row and
the ratio to float.

usage: examples/bench/softmax_costs.py [--qcc build/qcc] [--rows 256] [--lens 64,512] [--iters 2000] [--repeat R]
                                       [--cflags "-O2 -march=native"]
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

VARIANTS = [("float", []), ("dbfp8", ["--softmax-format", "dbfp8"]), ("dbfp4", ["--softmax-format", "dbfp4"]),
            ("int8 (w8a8 --integer-only)", ["-q", "w8a8", "--integer-only"])]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qcc", default=os.path.join(os.path.dirname(__file__), "../../build/qcc"))
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--lens", default="64,512", help="comma-separated row lengths")
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1, help="time each build this many times, keep the fastest")
    ap.add_argument("--cflags", default="-O2 -march=native")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for L in (int(v) for v in a.lens.split(",")):
            g = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], "sm",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [a.rows, L])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [a.rows, L])])
            model = os.path.join(tmp, f"sm{L}.onnx")
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
            # attention-like logits: spread of a few units
            calib = os.path.join(tmp, f"calib{L}")
            os.makedirs(calib)
            np.save(os.path.join(calib, "x.npy"), (2 * rng.standard_normal((8, a.rows, L))).astype(np.float32))
            x0 = os.path.join(tmp, "x0.npy")
            np.save(x0, (2 * rng.standard_normal((a.rows, L))).astype(np.float32))
            rows = []
            for name, flags in VARIANTS:
                c, main_c, exe = (os.path.join(tmp, f"v{len(rows)}{e}") for e in (".c", "_main.c", ""))
                if "-q" in flags:
                    flags = flags + ["--calib", calib]
                run([a.qcc, model, "-o", c, "--emit-main", main_c, *flags])
                run(["cc", "-std=c99", *a.cflags.split(), c, main_c, "-lm", "-o", exe])
                ms = min(float(run([exe, x0, "--bench", str(a.iters)]).split("c_ms_per_run")[1].split()[0])
                         for _ in range(a.repeat))
                rows.append((name, ms * 1e6 / a.rows))
            base = rows[0][1]
            print(f"softmax of {a.rows} rows of {L} ({a.cflags}): ns per row (ratio to float)")
            for name, ns in rows:
                print(f"  {name}: {ns:.1f} ({ns / base:.2f}x)")


if __name__ == "__main__":
    main()
