#!/usr/bin/python3
"""Compile, build and decode a make_llama.py model with qcc, and measure each stage (issue 14's linear-cost table).

For each scheme: qcc's wall time, CPU time and peak RSS (/usr/bin/time
-v) against the model's weight bytes, the sizes of model.c and the
weights file, cc's time (-O3 -march=native), and greedy decoding with
examples/bench/llama_decode.c (a prompt of single-token steps, then -n
steps: tokens/s).  With --ort, ONNX Runtime (test/tools/ort_run.js, one
thread) runs the same graph as one prefill of the prompt from empty
caches: the float build's prompt logits are compared with it (max |diff|
against the logits' range), and ORT's single-token step is timed (its
tokens/s, from the median of --ort-iters steps at position 0: the static
cache makes every position cost the same).

w8a8 needs calibration inputs: --calib-samples K writes K single-token
samples (random tokens at positions 0..K-1, empty caches) to
WORK/calib.

usage: bench_llama.py MODEL_DIR WORK_DIR [--qcc build/qcc] [--schemes f32,w4a16,w8a8]
                      [--prompt-len 8] [-n 32] [--ort] [--ort-iters 5] [--calib-samples 4]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"bench_llama: {' '.join(cmd)} failed:\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
    return r


def model_info(path):
    """Layers, vocabulary, cache shape and weight bytes (initializers,
    external ones by their recorded length) of a make_llama.py model."""
    m = onnx.load(path, load_external_data=False)
    weight_bytes = 0
    for t in m.graph.initializer:
        ext = {kv.key: kv.value for kv in t.external_data}
        weight_bytes += int(ext["length"]) if "length" in ext else len(t.raw_data)
    caches = [i for i in m.graph.input if i.name.startswith("past_")]
    shape = [d.dim_value for d in caches[0].type.tensor_type.shape.dim]
    vocab = m.graph.output[0].type.tensor_type.shape.dim[2].dim_value
    return len(caches) // 2, vocab, shape, weight_bytes


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (wall s, user + sys s, peak RSS bytes, stderr)."""
    r = run(["/usr/bin/time", "-v"] + cmd)
    field = lambda name: re.search(rf"{name}: (.*)", r.stderr).group(1)
    wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(field(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\)").split(":"))))
    cpu = float(field("User time \\(seconds\\)")) + float(field("System time \\(seconds\\)"))
    return wall, cpu, int(field("Maximum resident set size \\(kbytes\\)")) * 1024, r.stderr


def write_calib(work, vocab, shape, layers, k, seed=0):
    d = os.path.join(work, "calib")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    np.save(os.path.join(d, "tokens.npy"), rng.integers(0, vocab, (k, 1, 1), dtype=np.int64))
    np.save(os.path.join(d, "pos.npy"), np.arange(k, dtype=np.int64)[:, None])
    zeros = np.zeros([k] + shape, np.float32)
    for l in range(layers):
        for kv in "kv":
            np.save(os.path.join(d, f"past_{kv}_{l}.npy"), zeros)
    return d


def ort_inputs(work, prompt, shape, layers):
    d = os.path.join(work, "ort_in")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "prompt.npy"), np.array([prompt], np.int64))
    np.save(os.path.join(d, "one.npy"), np.array([prompt[:1]], np.int64))
    np.save(os.path.join(d, "pos.npy"), np.zeros(1, np.int64))
    np.save(os.path.join(d, "zeros.npy"), np.zeros(shape, np.float32))
    caches = [a for l in range(layers) for kv in "kv" for a in ("--input", f"past_{kv}_{l}=" + os.path.join(d, "zeros.npy"))]
    return d, ["--input", "pos=" + os.path.join(d, "pos.npy")] + caches


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("work")
    ap.add_argument("--qcc", default=os.path.join(SRC, "build", "qcc"))
    ap.add_argument("--schemes", default="w4a16")
    ap.add_argument("--prompt-len", type=int, default=8)
    ap.add_argument("-n", type=int, default=32)
    ap.add_argument("--ort", action="store_true")
    ap.add_argument("--ort-iters", type=int, default=5)
    ap.add_argument("--calib-samples", type=int, default=4)
    a = ap.parse_args()
    model = os.path.join(a.model_dir, "model.onnx")
    layers, vocab, shape, weight_bytes = model_info(model)
    os.makedirs(a.work, exist_ok=True)
    prompt = [int(t) for t in np.random.default_rng(1).integers(0, vocab, a.prompt_len)]
    results = {"weight_bytes": weight_bytes, "layers": layers, "vocab": vocab, "cache": shape, "prompt": prompt}
    print(f"model: {layers} layers, vocabulary {vocab}, cache {shape}, {weight_bytes} bytes of weights")
    ref = None
    if a.ort:
        d, common = ort_inputs(a.work, prompt, shape, layers)
        out = os.path.join(a.work, "ort_out")
        run(["node", os.path.join(SRC, "test/tools/ort_run.js"), model, "--input", "tokens=" + os.path.join(d, "prompt.npy"),
             "--out-dir", out] + common)
        ref = np.load(os.path.join(out, "logits.npy"))[0]
        r = run(["node", os.path.join(SRC, "test/tools/ort_run.js"), model, "--input", "tokens=" + os.path.join(d, "one.npy"),
                 "--out-dir", out + "_step", "--bench", str(a.ort_iters), "--warmup", "1"] + common)
        ms = float(re.search(r"ort_ms_per_run (\S+)", r.stdout).group(1))
        results["ort"] = {"step_ms": ms, "tokens_per_s": 1e3 / ms}
        print(f"ort f32: one step {ms:.1f} ms: {1e3 / ms:.2f} tokens/s")
    for scheme in a.schemes.split(","):
        d = os.path.join(a.work, scheme)
        os.makedirs(d, exist_ok=True)
        flags = [] if scheme == "f32" else ["-q", scheme]
        if scheme == "w8a8":
            flags += ["--calib", write_calib(a.work, vocab, shape, layers, a.calib_samples)]
        wall, cpu, rss, err = timed([a.qcc, model, "-o", os.path.join(d, "step.c"), "--name", "step", "--shape",
                                     "tokens=1x1", "--weights-file", os.path.join(d, "step.bin"), "-v"] + flags)
        phases = re.search(r"remark: time: (.*)", err).group(1)
        t0 = time.time()
        run(["cc", "-std=c99", "-O3", "-march=native", f"-DLAYERS={layers}", "-I", d,
             os.path.join(HERE, "llama_decode.c"), os.path.join(d, "step.c"), "-o", os.path.join(d, "decode"), "-lm"])
        cc_s = time.time() - t0
        r = run([os.path.join(d, "decode"), "--weights", os.path.join(d, "step.bin"), "--prompt",
                 ",".join(map(str, prompt)), "-n", str(a.n), "--logits", os.path.join(d, "logits.bin")])
        tps = float(re.search(r"([0-9.]+) tokens/s", r.stderr).group(1))
        res = {"qcc_wall_s": wall, "qcc_cpu_s": cpu, "qcc_peak_rss": rss, "rss_over_weights": rss / weight_bytes,
               "phases": phases, "model_c_bytes": os.path.getsize(os.path.join(d, "step.c")),
               "bin_bytes": os.path.getsize(os.path.join(d, "step.bin")), "cc_s": cc_s, "tokens_per_s": tps,
               "decode": r.stderr.strip()}
        if ref is not None:
            logits = np.fromfile(os.path.join(d, "logits.bin"), np.float32).reshape(-1, vocab)[:len(prompt)]
            res["max_diff_vs_ort"] = float(np.abs(logits - ref).max())
            res["ort_range"] = float(ref.max() - ref.min())
        results[scheme] = res
        print(f"{scheme}: " + json.dumps(res))
    with open(os.path.join(a.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
