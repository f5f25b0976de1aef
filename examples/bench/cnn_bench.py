#!/usr/bin/python3
"""Benchmark on convolutional networks none of the examples is shaped like,
at 224x224 with random He-initialised weights (the timing does not depend
on them):
  resnet18     ResNet-18's layers (7x7/2 stem, 3x3/2 max pool, eight basic
               blocks of 3x3 convolutions with 1x1/2 projections, global
               average pool, 1000-way Gemm), 3.6 GFLOP per run;
  mobilenetv2  MobileNetV2's (inverted residuals: 1x1 expansion, 3x3
               depthwise, 1x1 projection, ReLU6 as Clip(0, 6)), 0.6 GFLOP.

It writes the ONNX model (numpy + onnx only), compiles it with qcc in float
and W8A8 (calibrated on 4 random images), builds both with cc (weights in a
--weights-file: the C of 47 MB of weights as text takes a minute to
compile), and times both and ONNX Runtime (onnxruntime-node, one thread,
all graph optimisations) in interleaved rounds; a program's time is the
least of its rounds' medians (--iters runs, minus a warm-up, per round).
It also checks that the float C matches ORT (max |c - ort| <= 1e-3 of the
output range) and prints the W8A8 logits' SQNR against the float C.

usage: examples/bench/cnn_bench.py [--model resnet18|mobilenetv2|all] [--build DIR] [--size 224]
                                   [--iters 10] [--rounds 3] [--cflags "..."]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


class Graph:
    """Nodes and He-initialised weights of a CNN being written."""

    def __init__(self):
        self.rng, self.nodes, self.inits, self.count = np.random.default_rng(0), [], [], 0
        self.inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"),
                       numpy_helper.from_array(np.array(6, np.float32), "six")]

    def weight(self, name, shape, fan):
        w = self.rng.standard_normal(shape) * np.sqrt(2.0 / fan)
        self.inits.append(numpy_helper.from_array(w.astype(np.float32), name))
        return name

    def conv(self, x, cin, cout, k, s, group=1, act="Relu"):
        self.count += 1
        n = f"conv{self.count}"
        self.nodes.append(helper.make_node("Conv", [x, self.weight(n + "_w", (cout, cin // group, k, k), cin // group * k * k),
                                                    self.weight(n + "_b", (cout,), 100)], [n], kernel_shape=[k, k],
                                           strides=[s, s], pads=[k // 2] * 4, group=group, name=n))
        if act == "Relu":
            self.nodes.append(helper.make_node("Relu", [n], [n + "_relu"], name=n + "_relu"))
            return n + "_relu"
        if act == "Relu6":
            self.nodes.append(helper.make_node("Clip", [n, "zero", "six"], [n + "_relu6"], name=n + "_relu6"))
            return n + "_relu6"
        return n

    def add(self, a, b, relu):
        self.count += 1
        n = f"add{self.count}"
        self.nodes.append(helper.make_node("Add", [a, b], [n], name=n))
        if not relu:
            return n
        self.nodes.append(helper.make_node("Relu", [n], [n + "_relu"], name=n + "_relu"))
        return n + "_relu"

    def head(self, x, c, path, size):
        self.nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"),
                       helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
                       helper.make_node("Gemm", ["flat", self.weight("fc_w", (1000, c), c),
                                                 self.weight("fc_b", (1000,), 100)], ["y"], transB=1, name="fc")]
        g = helper.make_graph(self.nodes, "cnn", [helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 3, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1000])], self.inits)
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def resnet18(path, size):
    g = Graph()

    def block(x, cin, cout, s):
        y = g.conv(g.conv(x, cin, cout, 3, s), cout, cout, 3, 1, act=None)
        short = g.conv(x, cin, cout, 1, s, act=None) if s != 1 or cin != cout else x
        return g.add(y, short, relu=True)

    x = g.conv("img", 3, 64, 7, 2)
    g.nodes.append(helper.make_node("MaxPool", [x], ["pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4,
                                    name="pool"))
    x, c = "pool", 64
    for cout, s in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
        x, c = block(x, c, cout, s), cout
    g.head(x, c, path, size)


def mobilenetv2(path, size):
    g = Graph()
    x, c = g.conv("img", 3, 32, 3, 2, act="Relu6"), 32
    for t, cout, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                          (6, 320, 1, 1)]:
        for i in range(n):
            stride, hidden = s if i == 0 else 1, c * t
            y = g.conv(x, c, hidden, 1, 1, act="Relu6") if t != 1 else x
            y = g.conv(y, hidden, hidden, 3, stride, group=hidden, act="Relu6")
            y = g.conv(y, hidden, cout, 1, 1, act=None)
            x, c = (g.add(x, y, relu=False) if stride == 1 and c == cout else y), cout
    g.head(g.conv(x, c, 1280, 1, 1, act="Relu6"), 1280, path, size)


MODELS = {"resnet18": resnet18, "mobilenetv2": mobilenetv2}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="all", choices=["all", *MODELS])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cflags", default="-O3 -march=native")
    a = ap.parse_args()
    rows = [bench(a, name) for name in (MODELS if a.model == "all" else [a.model])]
    print("| model | MFLOP | f32 C ms | w8a8 C ms | ORT float ms | f32/ORT | w8a8/ORT | f32 GFLOP/s | w8a8 SQNR dB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)


def bench(a, name):
    """Builds, checks and times one model; its table row."""
    with tempfile.TemporaryDirectory() as tmp:
        model, x0 = os.path.join(tmp, name + ".onnx"), os.path.join(tmp, "img.npy")
        MODELS[name](model, a.size)
        rng = np.random.default_rng(1)
        np.save(x0, rng.standard_normal((1, 3, a.size, a.size)).astype(np.float32))
        os.makedirs(os.path.join(tmp, "calib"))
        np.save(os.path.join(tmp, "calib", "img.npy"), rng.standard_normal((4, 1, 3, a.size, a.size)).astype(np.float32))
        progs = {}
        for scheme, q in (("f32", []), ("w8a8", ["-q", "w8a8", "--calib", os.path.join(tmp, "calib")])):
            c, main_c, w, exe = (os.path.join(tmp, scheme + s) for s in (".c", "_main.c", ".bin", ""))
            log = run([os.path.join(a.build, "qcc"), model, "-o", c, "--emit-main", main_c, "--weights-file", w, "-v", *q])
            mflop = float(re.search(r"([0-9.]+) MFLOP per run", log).group(1))
            run(["cc", "-std=c99", *a.cflags.split(), c, main_c, "-lm", "-pthread", "-o", exe])
            out = os.path.join(tmp, scheme + "_out")
            run([exe, x0, "--weights", w, "--out", out])
            progs[scheme] = ([exe, x0, "--weights", w, "--bench", str(a.iters)], np.load(os.path.join(out, "out0.npy")))
        ort_cmd = ["node", os.path.join(ROOT, "test/tools/ort_run.js"), model, "--input", f"img={x0}", "--bench",
                   str(a.iters), "--threads", "1"]
        ort_out = os.path.join(tmp, "ort")
        run(["node", os.path.join(ROOT, "test/tools/ort_run.js"), model, "--input", f"img={x0}", "--out-dir", ort_out])
        ref = np.load(os.path.join(ort_out, "y.npy"))
        err = float(np.abs(progs["f32"][1] - ref).max() / (ref.max() - ref.min()))
        if err > 1e-3:
            sys.exit(f"FAIL {name}: float C differs from ONNX Runtime by {err:.3g} of the output range")
        noise = progs["w8a8"][1] - progs["f32"][1]
        sqnr = 10 * np.log10(np.sum(progs["f32"][1] ** 2) / max(np.sum(noise ** 2), 1e-30))
        times = {k: [] for k in ("f32", "w8a8", "ort")}
        for r in range(a.rounds):
            for k in (("f32", "w8a8", "ort") if r % 2 == 0 else ("ort", "w8a8", "f32")):
                if k == "ort":
                    times[k].append(float(run(ort_cmd).split("ort_ms_per_run")[1].split()[0]))
                else:
                    times[k].append(float(run(progs[k][0]).split("c_ms_per_run")[1].split()[0]))
        f, q, o = (min(times[k]) for k in ("f32", "w8a8", "ort"))
        print(f"{name} {a.size}x{a.size}: float C == ORT within {err:.2g} of the output range", file=sys.stderr)
        return (f"| {name} {a.size} | {mflop:.0f} | {f:.2f} | {q:.2f} | {o:.2f} | {f / o:.2f} | {q / o:.2f} | "
                f"{mflop / f:.1f} | {sqnr:.1f} |")


if __name__ == "__main__":
    main()
