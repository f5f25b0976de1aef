#!/usr/bin/python3
"""End-to-end check of a multimodal example (examples/mm_lm: inputs ids,
pix, mod; metrics bits per text character and answer accuracy).

1. qcc compiles the model with FLAGS (+ --emit-main); cc builds it with
   -std=c99 -Wall -Wextra -pedantic -Werror (and with --sanitize, under
   ASan/UBSan). Without FLAGS the runtime is pasted into the C; with FLAGS
   the C links the runtime library (the build's libqrt.a, or with
   --sanitize its ASan/UBSan copy test/libqrt_san.a): cc in a second.
2. The generated C equals `qcc run` bit for bit on input_0: with FLAGS,
   `qcc run` of the final IR the compile wrote (--emit-mlir), so that
   calibration and rotation run once.
3. Float (no -q in FLAGS): the C output is within 1e-4 of the output range
   of PyTorch's expected_0.npy, and the test metrics equal reference.json's
   within 1% (bpc) and 1.5 points (accuracy: 69 answers, one flip is 1.4).
4. Quantized: the test metrics through the generated C are printed and,
   with --bpc-budget / --acc-budget, bounded against the float reference.

--metrics-file FILE writes "bpc accuracy" (one line) for tables and tests.
--detail-file FILE.npz keeps each text target's bits ([N, T], NaN where
none) and each answer's correctness, for paired comparisons of two builds
(examples/bench/msq_table.py).
--test-dir DIR measures another split in test/'s layout, whose float metrics
are DIR/reference.json's (examples/mm_lm/eval_split.py writes one).

usage: check_multimodal.py QCC_BUILD_DIR EXAMPLE_DIR WORK_DIR "FLAGS" [--sanitize]
       [--bpc-budget R] [--acc-budget P] [--metrics-file FILE] [--test-dir DIR]
       [--detail-file FILE.npz]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

TOL_REL_RANGE = 1e-4


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def metrics(logits, labels, answers, detail=None):
    """Bits per text character and answer accuracy of logits [N, T, V];
    with a dict `detail`, also each target's bits ([N, T], NaN where there
    is no text target) and each answer's correctness (in order)."""
    lg = logits.astype(np.float64)
    lg -= lg.max(-1, keepdims=True)
    logp = lg - np.log(np.exp(lg).sum(-1, keepdims=True))
    mask = labels >= 0
    nll = -np.take_along_axis(logp, np.where(mask, labels, 0)[..., None], -1)[..., 0]
    bpc = float(nll[mask].mean() / np.log(2))
    pred = logits.argmax(-1)
    hits = [bool(pred[k, pos] == digit) for k in range(len(answers)) for pos, digit in answers[k] if pos >= 0]
    if detail is not None:
        detail["bits"] = np.where(mask, nll / np.log(2), np.nan)
        detail["right"] = np.array(hits)
    return bpc, sum(hits) / len(hits)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("ex")
    ap.add_argument("work")
    ap.add_argument("flags")
    ap.add_argument("--sanitize", action="store_true")
    ap.add_argument("--bpc-budget", type=float)
    ap.add_argument("--acc-budget", type=float)
    ap.add_argument("--metrics-file")
    ap.add_argument("--test-dir")
    ap.add_argument("--detail-file")
    args = ap.parse_args()
    ex, work = args.ex, args.work
    name = os.path.basename(os.path.normpath(ex))
    os.makedirs(work, exist_ok=True)
    ref = json.load(open(os.path.join(ex, "reference.json")))
    names = [i["name"] for i in ref["inputs"]]
    out_name = ref["output"]["name"]
    model = os.path.join(ex, "model.onnx")
    flags = args.flags.split()
    quantized = "-q" in flags
    if quantized and "--calib" not in flags:
        flags += ["--calib", os.path.join(ex, "calib")]

    c, main_c, exe, final_ir = (os.path.join(work, f) for f in ("model.c", "main.c", "model", "final.mlir"))
    src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    external = ["--runtime=external", "--emit-mlir", final_ir] if flags else []
    run([f"{args.build}/qcc", model, "-o", c, "--emit-main", main_c, *external, *flags])
    cc = ["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror"]
    if args.sanitize:
        cc += ["-g", "-fsanitize=address,undefined", "-fno-sanitize-recover"]
    lib = os.path.join(args.build, "test/libqrt_san.a" if args.sanitize else "libqrt.a")
    run(cc + [c, main_c, *([f"-I{src_root}/runtime", lib] if flags else []), "-lm", "-o", exe])

    x0 = [os.path.join(ex, f"input_0_{n}.npy") for n in names]
    out_c, out_q = os.path.join(work, "c_out"), os.path.join(work, "qcc_out")
    os.makedirs(out_c, exist_ok=True)
    os.makedirs(out_q, exist_ok=True)
    run([exe, *x0, "--out", out_c])
    feeds = [f"--input={n}={p}" for n, p in zip(names, x0)]
    run([f"{args.build}/qcc", "run", *([final_ir] if flags else [model]), *feeds, "--out-dir", out_q])
    y_c = np.load(os.path.join(out_c, "out0.npy"))
    y_q = np.load(os.path.join(out_q, f"{out_name}.npy"))
    if y_c.tobytes() != y_q.tobytes():
        sys.exit(f"FAIL {name}: generated C differs from qcc run (max diff {np.abs(y_c - y_q).max()})")
    print(f"{name}: generated C == qcc run, bit for bit")
    if not quantized:
        y_t = np.load(os.path.join(ex, "expected_0.npy"))
        err = float(np.abs(y_c.astype(np.float64) - y_t).max())
        bound = TOL_REL_RANGE * float(y_t.max() - y_t.min())
        print(f"{name}: max |C - PyTorch| = {err:.3g} (bound {bound:.3g})")
        if not err <= bound:
            sys.exit(f"FAIL {name}: C vs PyTorch error {err} exceeds {bound}")

    tdir = args.test_dir or os.path.join(ex, "test")
    if args.test_dir:
        ref = json.load(open(os.path.join(tdir, "reference.json")))
    xs = [np.load(os.path.join(tdir, f"{n}.npy")) for n in names]
    labels = np.load(os.path.join(tdir, "labels.npy"))
    answers = np.load(os.path.join(tdir, "answers.npy"))
    samples = [os.path.join(work, f"sample_{n}.npy") for n in names]
    outs = []
    for i in range(len(labels)):
        for p, x in zip(samples, xs):
            np.save(p, x[i])
        run([exe, *samples, "--out", out_c])
        outs.append(np.load(os.path.join(out_c, "out0.npy"))[0])
    detail = {}
    bpc, acc = metrics(np.stack(outs), labels, answers, detail)
    if args.detail_file:
        np.savez(args.detail_file, **detail)
    want_bpc, want_acc = ref["test_bpc"], ref["test_answer_accuracy"]
    print(f"{name}: {args.flags}: test bits per text character {bpc:.4f} (PyTorch float {want_bpc:.4f}, "
          f"{100 * (bpc / want_bpc - 1):+.2f}%), answer accuracy {acc:.4f} (float {want_acc:.4f})")
    if args.metrics_file:
        with open(args.metrics_file, "w") as f:
            f.write(f"{bpc!r} {acc!r}\n")
    bpc_budget = 0.01 if not quantized else args.bpc_budget
    acc_budget = 0.015 if not quantized else args.acc_budget
    bpc_off = abs(bpc - want_bpc) if not quantized else bpc - want_bpc
    acc_off = abs(acc - want_acc) if not quantized else want_acc - acc
    if bpc_budget is not None and bpc_off > bpc_budget * want_bpc:
        sys.exit(f"FAIL {name}: bpc {bpc:.4f} is more than {100 * bpc_budget:g}% off {want_bpc:.4f}")
    if acc_budget is not None and acc_off > acc_budget:
        sys.exit(f"FAIL {name}: answer accuracy {acc:.4f} is more than {100 * acc_budget:g} points off {want_acc:.4f}")
    print(f"{name}: PASS")


if __name__ == "__main__":
    main()
