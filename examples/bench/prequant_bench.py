#!/usr/bin/python3
"""Benchmark: a pre-quantized CNN (the layers of a MobileNet block stack:
3x3, depthwise 3x3 stride 2, pointwise; 32 -> 128 channels on a 56 x 56
uint8 input) in both of ONNX Runtime's quantized formats, QOperator
(QLinearConv) and QDQ (DequantizeLinear -> Conv -> Relu ->
QuantizeLinear), compiled by qcc with no flags (docs/quantization.md,
"Pre-quantized models") and run by ONNX Runtime (onnxruntime-node, one
thread), in one run. Prints per format the MFLOP, qcc's C and ORT's
milliseconds per run (least batch of --bench), their ratio, how many of
qcc's layers run on the int8 kernels (from -v) and the share of output
codes that differ from ORT's (and by at most how much).

    NODE_PATH=test/tools/node_modules /usr/bin/python3 examples/bench/prequant_bench.py [--iters 300]"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# (out channels, kernel, stride, group: 0 = depthwise)
LAYERS = [(64, 3, 1, 1), (64, 3, 2, 0), (128, 1, 1, 1), (128, 3, 1, 0), (128, 1, 1, 1)]


def build(fmt, path, rng):
    inits, nodes = [], []

    def c(name, v):
        inits.append(nh.from_array(np.asarray(v), name))
        return name

    x, cin, sx, zx = "x", 32, np.float32(0.02), np.uint8(128)
    for i, (co, k, s, g) in enumerate(LAYERS):
        group = cin if g == 0 else 1
        w = rng.integers(-127, 128, (co, cin // group, k, k)).astype(np.int8)
        sw = (rng.random(co) * 0.003 + 0.001).astype(np.float32)
        b = rng.integers(-2000, 2000, co).astype(np.int32)
        sy, zy = np.float32(0.05), np.uint8(0)  # after a Relu: codes from 0
        attrs = dict(pads=[k // 2] * 4, strides=[s, s], group=group, kernel_shape=[k, k])
        y = f"y{i}"
        if fmt == "qop":
            nodes.append(h.make_node("QLinearConv", [x, c(f"sx{i}", sx), c(f"zx{i}", zx), c(f"w{i}", w), c(f"sw{i}", sw),
                                                     c(f"zw{i}", np.zeros(co, np.int8)), c(f"sy{i}", sy),
                                                     c(f"zy{i}", zy), c(f"b{i}", b)], [y], **attrs))
        else:
            nodes += [
                h.make_node("DequantizeLinear", [x, c(f"sx{i}", sx), c(f"zx{i}", zx)], [f"xf{i}"]),
                h.make_node("DequantizeLinear", [c(f"w{i}", w), c(f"sw{i}", sw), c(f"zw{i}", np.zeros(co, np.int8))],
                            [f"wf{i}"], axis=0),
                h.make_node("DequantizeLinear", [c(f"b{i}", b), c(f"sb{i}", (sx * sw).astype(np.float32))], [f"bf{i}"],
                            axis=0),
                h.make_node("Conv", [f"xf{i}", f"wf{i}", f"bf{i}"], [f"cv{i}"], **attrs),
                h.make_node("Relu", [f"cv{i}"], [f"r{i}"]),
                h.make_node("QuantizeLinear", [f"r{i}", c(f"sy{i}", sy), c(f"zy{i}", zy)], [y]),
            ]
        x, cin, sx, zx = y, co, sy, zy
    g = h.make_graph(nodes, fmt, [h.make_tensor_value_info("x", T.UINT8, [1, 32, 56, 56])],
                     [h.make_tensor_value_info(x, T.UINT8, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--cflags", default="-O3 -march=native")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'format':8s} {'MFLOP':>8s} {'qcc C ms':>9s} {'ORT ms':>9s} {'C/ORT':>6s} {'int8 layers':>11s} "
          f"{'codes != ORT':>12s} {'max diff':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        x = os.path.join(tmp, "x.npy")
        np.save(x, rng.integers(0, 256, (1, 32, 56, 56)).astype(np.uint8))
        for fmt in ("qop", "qdq"):
            model, c, main_c, exe = (os.path.join(tmp, fmt + s) for s in (".onnx", ".c", "_main.c", ""))
            build(fmt, model, rng)
            log = run([os.path.join(a.build, "qcc"), model, "-o", c, "--emit-main", main_c, "-v"])
            mflop = float(re.search(r"([0-9.]+) MFLOP per run", log).group(1))
            adopted = sum(1 + int(m.group(1) or 0) for m in re.finditer(
                r"runs on the int8 \w+ kernels with the model's scales(?: \(and (\d+) more)?", log))
            run(["cc", "-std=c99", *a.cflags.split(), c, main_c, "-lm", "-pthread", "-o", exe])
            c_ms = float(run([exe, x, "--bench", str(a.iters)]).split("c_ms_per_run")[1].split()[1])
            ort = run(["node", os.path.join(ROOT, "test/tools/ort_run.js"), model, "--input", f"x={x}", "--bench",
                       str(a.iters), "--threads", "1"])
            ort_ms = float(ort.split("ort_ms_per_run")[1].split()[1])
            qd, od = os.path.join(tmp, fmt + "_q"), os.path.join(tmp, fmt + "_o")
            run([os.path.join(a.build, "qcc"), "run", model, "--input", f"x={x}", "--out-dir", qd])
            run(["node", os.path.join(ROOT, "test/tools/ort_run.js"), model, "--input", f"x={x}", "--out-dir", od])
            f = sorted(os.listdir(od))[0]
            qy, oy = np.load(os.path.join(qd, f)).astype(int), np.load(os.path.join(od, f)).astype(int)
            print(f"{fmt:8s} {mflop:8.1f} {c_ms:9.4f} {ort_ms:9.4f} {c_ms / ort_ms:6.2f} {adopted:5d} of {len(LAYERS)} "
                  f"{(qy != oy).mean():12.2e} {np.abs(qy - oy).max():8d}")


if __name__ == "__main__":
    main()
