#!/usr/bin/python3
"""KV-cache decoding of char_lm, end to end (examples/char_lm/generate.c).

1. export_kv.py writes step.onnx (a static-size KV cache, T tokens per call);
   qcc compiles it twice, `prefill` (--shape tokens=1x16) and `step`
   (tokens=1x1); both headers must let every cache input alias its output
   (NAME_INi_MAY_ALIAS_OUTj), and generate.c is built with CC (the strict,
   sanitized flags), the models' code only (--runtime=external, weights in
   --weights-file) linked with the runtime built once under the sanitizers
   (QCC_BUILD_DIR/test/libqrt_san.a).
2. generate greedily continues a 20-character prompt (16 by prefill, 4 by
   steps) to the full context of 64, with the caches updated in place, and
   again with two sets of caches (--no-alias): text and logits must be
   identical bit for bit.
3. The full-context model.onnx, run by `qcc run` on the generated text,
   must give the same logits at every position (within 1e-4 of their
   range) and pick every generated character as its argmax: the text is
   what greedy decoding with the original model gives.
4. w8a8: both
   models quantized (calibration: prefill inputs from 8 windows
   of calib/tokens.npy with empty caches; step inputs at positions 16..51
   after float prefills of the same windows by `qcc run`); they must
   alias, decode, give the same bits with and without aliasing, and agree
   with the float model's argmax (on the w8a8 text) at >= 85% of positions.

usage: check_kv_decode.py QCC_BUILD_DIR SRC_DIR WORK_DIR CC...
"""
import json
import os
import re
import subprocess
import sys

import numpy as np

PROMPT_LEN, CHUNK, N_CALIB = 20, 16, 8


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r


def compile_models(qcc, work, tag, flags, weights_file=False, external=False):
    """Compiles the tag's prefill and step builds; weights_file: with
    --weights-file (code-only C, quick to compile under the sanitizers);
    external: --runtime=external (the model code alone: build() links a
    runtime library)."""
    for name, t in (("prefill", CHUNK), ("step", 1)):
        d = os.path.join(work, tag)
        wf = ["--weights-file", os.path.join(d, name + ".bin")] if weights_file else []
        ext = ["--runtime=external"] if external else []
        r = run([qcc, os.path.join(work, "step.onnx"), "-o", os.path.join(d, name + ".c"), "--name", name,
                 "--shape", f"tokens=1x{t}", "-v"] + flags(name) + wf + ext)
        header = open(os.path.join(d, name + ".h")).read()
        pairs = re.findall(rf"#define {name.upper()}_IN(\d+)_MAY_ALIAS_OUT(\d+) 1", header)
        if sorted((int(i), int(o)) for i, o in pairs) != [(2 + c, 1 + c) for c in range(8)]:
            sys.exit(f"FAIL: {tag} {name}: cache aliasing not proven: {pairs}\n{r.stderr}")


def build(cc, src, work, tag, runtime_lib=None):
    """generate.c with the tag's prefill.c and step.c; runtime_lib: the
    runtime library that --runtime=external builds link."""
    d = os.path.join(work, tag)
    rt = ["-I", os.path.join(src, "runtime"), runtime_lib] if runtime_lib else []
    run(cc + ["-I", d, os.path.join(src, "examples/char_lm/generate.c"), os.path.join(d, "prefill.c"),
              os.path.join(d, "step.c")] + rt + ["-o", os.path.join(d, "generate"), "-lm"])


def generate_cmd(work, tag):
    """The tag's generate program (with --weights when its builds have
    weights files)."""
    d = os.path.join(work, tag)
    return [os.path.join(d, "generate")] + (["--weights", d] if os.path.exists(os.path.join(d, "prefill.bin")) else [])


def generate(work, tag, vocab, prompt, extra):
    out = os.path.join(work, tag, "logits" + "".join(extra) + ".bin")
    r = run(generate_cmd(work, tag) + [vocab, prompt, "-n", "64", "--logits", out] + extra)
    return r.stdout[:-1], np.fromfile(out, dtype=np.float32), r.stderr.strip()


def full_model(qcc, src, work, ids):
    np.save(os.path.join(work, "ids.npy"), np.asarray(ids, np.int64)[None])
    run([qcc, "run", os.path.join(src, "examples/char_lm/model.onnx"), "--input",
         "tokens=" + os.path.join(work, "ids.npy"), "--out-dir", os.path.join(work, "full")])
    return np.load(os.path.join(work, "full", "logits.npy"))[0]


def encode(text, chars):
    ids, i = [], 0
    while i < len(text):
        c = max((c for c in chars if text.startswith(c, i)), key=len)
        ids.append(chars.index(c))
        i += len(c)
    return ids


def calib(qcc, src, work, lm=None, cache_shape=(1, 4, 64, 32)):
    """Calibration inputs for both models, from LM/calib/tokens.npy (LM:
    examples/char_lm unless given; cache_shape: its step model's)."""
    lm = lm or os.path.join(src, "examples/char_lm")
    wins = np.load(os.path.join(lm, "calib/tokens.npy"))[:N_CALIB, 0]  # [N,64]
    zeros = np.zeros(cache_shape, np.float32)
    pre, stp = os.path.join(work, "calib_prefill"), os.path.join(work, "calib_step")
    for d in (pre, stp):
        os.makedirs(d, exist_ok=True)
    np.save(os.path.join(pre, "tokens.npy"), wins[:, None, :CHUNK])
    np.save(os.path.join(pre, "pos.npy"), np.zeros((N_CALIB, 1), np.int64))
    for l in range(4):
        for kv in "kv":
            np.save(os.path.join(pre, f"past_{kv}_{l}.npy"), np.zeros((N_CALIB,) + zeros.shape, np.float32))
    np.save(os.path.join(work, "zeros.npy"), zeros)
    np.save(os.path.join(work, "pos0.npy"), np.zeros(1, np.int64))
    samples = []
    for i, w in enumerate(wins):  # float prefill of 16 + 5 i tokens, then one step's inputs
        t = CHUNK + 5 * i
        np.save(os.path.join(work, "prefix.npy"), w[None, :t])
        out = os.path.join(work, "prefix_out")
        caches = [f"past_{kv}_{l}" for l in range(4) for kv in "kv"]
        run([qcc, "run", os.path.join(work, "step.onnx"), "--shape", f"tokens=1x{t}", "--out-dir", out,
             "--input", "tokens=" + os.path.join(work, "prefix.npy"), "--input", "pos=" + os.path.join(work, "pos0.npy")]
            + [a for c in caches for a in ("--input", f"{c}=" + os.path.join(work, "zeros.npy"))])
        samples.append({"tokens": w[None, t:t + 1], "pos": np.array([t], np.int64),
                        **{c: np.load(os.path.join(out, c[5:] + ".npy")) for c in caches}})
    for name in samples[0]:
        np.save(os.path.join(stp, name + ".npy"), np.stack([s[name] for s in samples]))
    return pre, stp


def main():
    qcc_build, src, work, cc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    qcc = os.path.join(qcc_build, "qcc")
    # the programs link the runtime built once under the sanitizers (cc is
    # lit's sanitized %cc): only the model code is compiled per build
    runtime_lib = os.path.join(qcc_build, "test", "libqrt_san.a")
    lm = os.path.join(src, "examples/char_lm")
    vocab = os.path.join(lm, "vocab.json")
    chars = json.load(open(vocab))["chars"]
    for tag in ("f32", "w8a8"):
        os.makedirs(os.path.join(work, tag), exist_ok=True)
    run(["/usr/bin/python3", os.path.join(lm, "export_kv.py"), "--out", os.path.join(work, "step.onnx")])
    test_ids = np.load(os.path.join(lm, "test/tokens.npy"))[0, 0]
    prompt = "".join(chars[i] for i in test_ids[:PROMPT_LEN])

    def decode(tag, flags_for, weights_file):
        """Builds the tag's prefill and step programs and decodes the
        prompt with the cache in place and double-buffered: the two must
        agree bit for bit. Returns the in-place run's text, logits, timing."""
        compile_models(qcc, work, tag, flags_for, weights_file, external=True)
        build(cc, src, work, tag, runtime_lib)
        text, logits, timing = generate(work, tag, vocab, prompt, [])
        text_b, logits_b, _ = generate(work, tag, vocab, prompt, ["--no-alias"])
        if text != text_b or logits.tobytes() != logits_b.tobytes():
            sys.exit(f"FAIL: {tag}: the in-place cache gives other results than two caches")
        print(f"{tag}: in-place cache == double-buffered cache, bit for bit")
        return text, logits, timing

    # 1-3: float
    text, logits, timing = decode("f32", lambda name: [], True)
    ids = encode(text, chars)
    if len(ids) != 64 or ids[:PROMPT_LEN] != list(test_ids[:PROMPT_LEN]):
        sys.exit(f"FAIL: f32: generated {len(ids)} tokens, expected 64 starting with the prompt: {text!r}")
    logits = logits.reshape(64, -1)
    full = full_model(qcc, src, work, ids)
    err, rng = float(np.abs(logits - full).max()), float(full.max() - full.min())
    greedy = all(int(np.argmax(full[p])) == ids[p + 1] for p in range(PROMPT_LEN - 1, 63))
    print(f"f32: prefill + steps vs model.onnx: max |diff| {err:.3g} (range {rng:.1f})")
    if err > 1e-4 * rng or not greedy:
        sys.exit(f"FAIL: f32: differs from the full-context model (greedy argmax {'ok' if greedy else 'differs'})")
    print(f"f32: generated text == greedy decoding with model.onnx: {text!r}")
    print(timing)

    # 4: w8a8
    pre, stp = calib(qcc, src, work)
    qtext, qlogits, timing = decode("w8a8", lambda name: ["-q", "w8a8", "--calib", pre if name == "prefill" else stp],
                                    True)
    qids = encode(qtext, chars)
    qfull = full_model(qcc, src, work, qids)
    agree = np.mean([int(np.argmax(qlogits.reshape(64, -1)[p])) == int(np.argmax(qfull[p])) for p in range(64)])
    print(f"w8a8: argmax agrees with the float model at {100 * agree:.0f}% of positions: {qtext!r}")
    if len(qids) != 64 or agree < 0.85:
        sys.exit("FAIL: w8a8 decoding is off")
    print(timing)
    print("kv-decode: PASS")


if __name__ == "__main__":
    main()
