#!/usr/bin/python3
"""A tiny make_llama.py model end to end (examples/bench/llama_decode.c).

1. make_llama.py writes a 2-layer Llama-style step model (d64, 4 heads on
   2 key/value heads, RoPE, RMSNorm, SiLU-gated MLP) with external data.
2. qcc compiles it float, single-token steps, weights in a .bin file; the
   header must let every cache alias its output; llama_decode.c is built
   with CC (strict flags, sanitizers).
3. The program feeds a 12-token prompt one token at a time, then decodes
   8 more greedily: the logits of the prompt positions must equal ONNX
   Runtime's on the same graph run as one 12-token prefill (from empty
   caches) within 1e-4 of their range, and every decoded token must be
   the argmax of the logits before it (greedy) and in the vocabulary.
4. A second run gives the same tokens and logits bit for bit, and so
   does a self-contained build (weights and kernels inside step.c; the
   other builds link the sanitized runtime library).
5. -q w4a16 compiles and decodes, deterministic too; its prompt logits
   stay within 10% of the float range of ORT's (int4 weights in groups
   of 32 on random weights).

usage: check_llama.py QCC_BUILD_DIR SRC_DIR WORK_DIR CC...
"""
import os
import re
import subprocess
import sys

import numpy as np

LAYERS, VOCAB, CTX = 2, 96, 32
PROMPT = [3, 71, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46]
N_NEW = 8


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r


def build(qcc, src, work, cc, tag, flags, weights_file=True):
    """A weights-file build is the model's code only, linked with the
    runtime built once under the sanitizers (test/libqrt_san.a beside
    qcc); the self-contained one pastes weights and kernels into step.c."""
    d = os.path.join(work, tag)
    os.makedirs(d, exist_ok=True)
    wf = ["--weights-file", os.path.join(d, "step.bin"), "--runtime=external"] if weights_file else []
    rt = ["-I", os.path.join(src, "runtime"), os.path.join(os.path.dirname(qcc), "test", "libqrt_san.a")]
    r = run([qcc, os.path.join(work, "model", "model.onnx"), "-o", os.path.join(d, "step.c"), "--name", "step",
             "--shape", "tokens=1x1", "-v"] + wf + flags)
    header = open(os.path.join(d, "step.h")).read()
    pairs = sorted((int(i), int(o)) for i, o in re.findall(r"#define STEP_IN(\d+)_MAY_ALIAS_OUT(\d+) 1", header))
    if pairs != [(2 + c, 1 + c) for c in range(2 * LAYERS)]:
        sys.exit(f"FAIL: {tag}: cache aliasing not proven: {pairs}\n{r.stderr}")
    run(cc + [f"-DLAYERS={LAYERS}", "-I", d, os.path.join(src, "examples/bench/llama_decode.c"),
              os.path.join(d, "step.c")] + (rt if weights_file else []) + ["-o", os.path.join(d, "decode"), "-lm"])


def decode(work, tag, k, weights_file=True):
    d = os.path.join(work, tag)
    out = os.path.join(d, f"logits{k}.bin")
    wf = ["--weights", os.path.join(d, "step.bin")] if weights_file else []
    r = run([os.path.join(d, "decode"), "--prompt", ",".join(map(str, PROMPT)), "-n", str(N_NEW), "--logits", out]
            + wf)
    ids = [int(t) for t in r.stdout.strip().split(",")]
    return ids, np.fromfile(out, dtype=np.float32).reshape(len(ids), VOCAB)


def ort_prefill(src, work):
    d = os.path.join(work, "ort_in")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "tokens.npy"), np.array([PROMPT], np.int64))
    np.save(os.path.join(d, "pos.npy"), np.zeros(1, np.int64))
    np.save(os.path.join(d, "zeros.npy"), np.zeros((1, 2, CTX, 16), np.float32))
    inputs = ["--input", "tokens=" + os.path.join(d, "tokens.npy"), "--input", "pos=" + os.path.join(d, "pos.npy")]
    for l in range(LAYERS):
        for kv in "kv":
            inputs += ["--input", f"past_{kv}_{l}=" + os.path.join(d, "zeros.npy")]
    run(["node", os.path.join(src, "test/tools/ort_run.js"), os.path.join(work, "model", "model.onnx")] + inputs
        + ["--out-dir", os.path.join(work, "ort")])
    return np.load(os.path.join(work, "ort", "logits.npy"))[0]


def check_run(tag, ids, logits, ids2, logits2):
    n = len(PROMPT)
    if ids[:n] != PROMPT or len(ids) != n + N_NEW or not all(0 <= t < VOCAB for t in ids):
        sys.exit(f"FAIL: {tag}: decoded {ids}")
    if any(ids[p + 1] != int(np.argmax(logits[p])) for p in range(n - 1, len(ids) - 1)):
        sys.exit(f"FAIL: {tag}: a decoded token is not the argmax of the logits before it")
    if ids != ids2 or logits.tobytes() != logits2.tobytes():
        sys.exit(f"FAIL: {tag}: a second run differs")
    print(f"{tag}: greedy decoding, the same bits twice: {ids[n:]}")


def main():
    qcc_build, src, work, cc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    qcc = os.path.join(qcc_build, "qcc")
    run(["/usr/bin/python3", os.path.join(src, "examples/bench/make_llama.py"), "--out", os.path.join(work, "model"),
         "--layers", str(LAYERS), "--dim", "64", "--heads", "4", "--kv-heads", "2", "--mlp", "160", "--vocab",
         str(VOCAB), "--ctx", str(CTX), "--seed", "3"])
    ref = ort_prefill(src, work)
    rng = float(ref.max() - ref.min())
    build(qcc, src, work, cc, "f32", [])
    ids, logits = decode(work, "f32", 0)
    err = float(np.abs(logits[:len(PROMPT)] - ref).max())
    print(f"f32: prompt logits vs ONNX Runtime: max |diff| {err:.3g} (range {rng:.2f})")
    if not err <= 1e-4 * rng:
        sys.exit("FAIL: f32: differs from ONNX Runtime")
    print("f32: prompt logits == ONNX Runtime's within 1e-4 of their range")
    check_run("f32", ids, logits, *decode(work, "f32", 1))
    build(qcc, src, work, cc, "f32_inline", [], weights_file=False)
    ids_i, logits_i = decode(work, "f32_inline", 0, weights_file=False)
    if ids_i != ids or logits_i.tobytes() != logits.tobytes():
        sys.exit("FAIL: f32: the self-contained build differs from the --weights-file build")
    print("f32: --weights-file build == self-contained build, bit for bit")
    build(qcc, src, work, cc, "w4a16", ["-q", "w4a16", "--group-size", "32"])
    qids, qlogits = decode(work, "w4a16", 0)
    qerr = float(np.abs(qlogits[:len(PROMPT)] - ref).max())
    print(f"w4a16: prompt logits vs ONNX Runtime's float: max |diff| {qerr:.3g} (range {rng:.2f})")
    if not qerr <= 0.1 * rng:
        sys.exit("FAIL: w4a16: too far from the float model")
    check_run("w4a16", qids, qlogits, *decode(work, "w4a16", 1))
    print("llama: PASS")


if __name__ == "__main__":
    main()
