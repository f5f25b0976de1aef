#!/usr/bin/python3
"""A KV cache in int8 / int4 rows (qcc --kv-bits), end to end on char_lm.

export_kv.py's step model is compiled as `prefill` (16 tokens) and `step`
(1 token) with a float cache, --kv-bits 8 and --kv-bits 4, float and w8a8
(calibrated as in check_kv_decode.py), each with --weights-file (code-only
C: twelve sanitized builds of the 11.7 MB inline C would take minutes).
For each build:

1. every cache input may alias its output (the store stays in place), and
   the in-place and double-buffered runs of generate.c agree bit for bit;
2. the header declares the caches uint8_t rows of 4 + 32 (int8) or 8 + 16
   (int4) bytes: 3.6x / 5.3x smaller than float;
3. C == evaluator: `qcc run` of the prefill model on the first 16 tokens
   with an empty (zero) cache, then on the next 16 with the caches it
   returned, gives the logits generate.c computed, bit for bit;
4. accuracy: teacher-forced bits per character over the first 63
   characters of the N_WINDOWS (8) test windows (prompt = the window; logits
   of every prompt position) against the float-cache build of the same
   scheme: int8 rows within +0.3%, int4 within +1%.

usage: check_kv_bits.py [--lm DIR] [--runtime-lib LIB] QCC_BUILD_DIR SRC_DIR WORK_DIR CC...
  --lm DIR: another model of char_lm's architecture (model.onnx, vocab.json,
  calib/ and test/tokens.npy; e.g. examples/bench/train_outlier_lm.py's)
  instead of examples/char_lm
  --runtime-lib LIB: the builds use --runtime=external and link LIB (the
  runtime built once with CC's flags: lit's %qrt_san) instead of pasting
  the kernels into each C file (twelve sanitized compiles of the inline
  runtime were most of this check's time; check_kv_decode.py keeps the
  inline runtime)
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_kv_decode import CHUNK, build, calib, compile_models, generate_cmd, run  # noqa: E402

N_WINDOWS, LEN = 8, 63
def row_bytes(bits, dh):
    return {"": 4 * dh, "8": 4 + dh, "4": 8 + (dh + 1) // 2}[bits]
# bpc bounds of a quantized cache, relative to the same scheme with a float
# cache (measured: see docs/generated-c.md)
BOUNDS = {"8": 0.003, "4": 0.01}


def bpc(work, tag, vocab, prompts, ids):
    """Teacher-forced bits per character of the build over the prompts."""
    total, n = 0.0, 0
    for w, (prompt, tok) in enumerate(zip(prompts, ids)):
        out = os.path.join(work, tag, f"logits_{w}.bin")
        run(generate_cmd(work, tag) + [vocab, prompt, "-n", str(LEN + 1), "--logits", out])
        lg = np.fromfile(out, dtype=np.float32).reshape(LEN + 1, -1)[:LEN - 1].astype(np.float64)
        lg -= lg.max(axis=1, keepdims=True)
        logp = lg - np.log(np.exp(lg).sum(axis=1, keepdims=True))
        total -= logp[np.arange(LEN - 1), tok[1:LEN]].sum() / np.log(2)
        n += LEN - 1
    return total / n


def check_evaluator(qcc, work, tag, flags, bits, tok, logits, shape):
    """qcc run of the prefill model twice (empty cache, then its own
    output cache) == generate.c's logits for positions 0..31."""
    step = os.path.join(work, "step.onnx")
    caches = [f"past_{kv}_{l}" for l in range(4) for kv in "kv"]
    empty = np.zeros(shape[:3] + ((row_bytes(bits, shape[3]),) if bits else shape[3:]), np.uint8 if bits else np.float32)
    ev = os.path.join(work, tag, "ev")
    os.makedirs(ev, exist_ok=True)
    np.save(os.path.join(ev, "empty.npy"), empty)
    cache_files = {c: os.path.join(ev, "empty.npy") for c in caches}
    for call in range(2):
        np.save(os.path.join(ev, "tokens.npy"), np.asarray(tok[None, CHUNK * call:CHUNK * (call + 1)], np.int64))
        np.save(os.path.join(ev, "pos.npy"), np.array([CHUNK * call], np.int64))
        out = os.path.join(ev, f"out{call}")
        run([qcc, "run", step, "--shape", f"tokens=1x{CHUNK}", "--out-dir", out, "--input",
             "tokens=" + os.path.join(ev, "tokens.npy"), "--input", "pos=" + os.path.join(ev, "pos.npy")] + flags +
            [a for c in caches for a in ("--input", f"{c}={cache_files[c]}")])
        got = np.load(os.path.join(out, "logits.npy"))[0]
        want = logits[CHUNK * call:CHUNK * (call + 1)]
        if got.tobytes() != want.tobytes():
            sys.exit(f"FAIL: {tag}: qcc run differs from the generated C at call {call}: "
                     f"max |diff| {np.abs(got - want).max():.3g}")
        cache_files = {c: os.path.join(out, c[5:] + ".npy") for c in caches}
        k0 = np.load(cache_files["past_k_0"])
        if k0.dtype != empty.dtype or k0.shape != empty.shape:
            sys.exit(f"FAIL: {tag}: cache output is {k0.dtype} {k0.shape}, expected {empty.dtype} {empty.shape}")
    print(f"{tag}: qcc run == generated C, bit for bit (2 prefill calls, cache carried)")


def main():
    args = sys.argv[1:]
    lm = runtime_lib = None
    while args[0] in ("--lm", "--runtime-lib"):
        if args[0] == "--lm":
            lm = os.path.abspath(args[1])
        else:
            runtime_lib = os.path.abspath(args[1])
        args = args[2:]
    qcc_build, src, work, cc = args[0], args[1], args[2], args[3:]
    qcc = os.path.join(qcc_build, "qcc")
    lm = lm or os.path.join(src, "examples/char_lm")
    vocab = os.path.join(lm, "vocab.json")
    chars = json.load(open(vocab))["chars"]
    run(["/usr/bin/python3", os.path.join(src, "examples/char_lm/export_kv.py"), "--model",
         os.path.join(lm, "model.onnx"), "--out", os.path.join(work, "step.onnx")])
    import onnx
    inputs = onnx.load(os.path.join(work, "step.onnx")).graph.input
    shape = tuple(d.dim_value for d in inputs[2].type.tensor_type.shape.dim)  # [1, heads, context, head dim]
    n_caches = len(inputs) - 2
    test = np.load(os.path.join(lm, "test/tokens.npy"))[:N_WINDOWS, 0]
    prompts = ["".join(chars[i] for i in w[:LEN]) for w in test]
    pre, stp = calib(qcc, src, work, lm, shape)
    result = {}
    for scheme in ("f32", "w8a8"):
        for bits in ("", "8", "4"):
            tag = scheme + (f"_kv{bits}" if bits else "")
            os.makedirs(os.path.join(work, tag), exist_ok=True)
            qflags = [] if scheme == "f32" else ["-q", "w8a8"]
            kflags = ["--kv-bits", bits] if bits else []

            def flags(name):
                return qflags + (["--calib", pre if name == "prefill" else stp] if qflags else []) + kflags
            compile_models(qcc, work, tag, flags, weights_file=True, external=runtime_lib is not None)
            header = open(os.path.join(work, tag, "step.h")).read()
            ctype = "uint8_t" if bits else "float"
            rb = row_bytes(bits, shape[3]) // (1 if bits else 4)
            if f"#define STEP_IN2_SHAPE {{1, {shape[1]}, {shape[2]}, {rb}}}" not in header or \
                    f"#define STEP_IN2_TYPE {ctype}" not in header:
                sys.exit(f"FAIL: {tag}: the cache is not declared as {ctype} rows of {row_bytes(bits, shape[3])} bytes")
            build(cc, src, work, tag, runtime_lib)
            prompt = prompts[0]
            a = os.path.join(work, tag, "a.bin")
            b = os.path.join(work, tag, "b.bin")
            gen = generate_cmd(work, tag)
            ta = run(gen + [vocab, prompt, "-n", str(LEN + 1), "--logits", a]).stdout
            tb = run(gen + [vocab, prompt, "-n", str(LEN + 1), "--logits", b, "--no-alias"]).stdout
            la = np.fromfile(a, dtype=np.float32)
            if ta != tb or la.tobytes() != np.fromfile(b, dtype=np.float32).tobytes():
                sys.exit(f"FAIL: {tag}: in-place and double-buffered caches differ")
            check_evaluator(qcc, work, tag, flags("prefill"), bits, test[0], la.reshape(LEN + 1, -1), shape)
            result[(scheme, bits)] = bpc(work, tag, vocab, prompts, test)
            cache_bytes = n_caches * shape[1] * shape[2] * row_bytes(bits, shape[3])
            print(f"{tag}: in place == double-buffered; caches {cache_bytes} bytes; "
                  f"bpc {result[(scheme, bits)]:.4f}")
    ok = True
    for scheme in ("f32", "w8a8"):
        base = result[(scheme, "")]
        for bits, bound in sorted(BOUNDS.items(), reverse=True):
            rel = result[(scheme, bits)] / base - 1
            ok &= rel <= bound
            print(f"{scheme} --kv-bits {bits}: {100 * rel:+.2f}% vs its float cache (bound +{100 * bound:.1f}%): "
                  f"{'ok' if rel <= bound else 'FAIL'}")
    print(f"(w8a8 with a float cache: {100 * (result[('w8a8', '')] / result[('f32', '')] - 1):+.2f}% vs float)")
    if not ok:
        sys.exit("FAIL: kv-bits accuracy")
    print("kv-bits: PASS")


if __name__ == "__main__":
    main()
