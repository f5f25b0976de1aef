#!/usr/bin/python3
"""End-to-end check of one example model (examples/<name>/).

1. qcc compiles the model to C (+ --emit-main, weights in a --weights-file),
   cc builds it strictly: the float build with the runtime pasted in, a
   quantized one linked with the runtime library (--runtime=external).
2. The generated C equals `qcc run` (the evaluator) bit for bit on input_0:
   for a quantized build, `qcc run` of the final IR the compile wrote
   (--emit-mlir), so that calibration and its searches run once.
3. The generated C matches ONNX Runtime (onnxruntime-node) on input_0:
   max |c - ort| <= 1e-4 * (max(ort) - min(ort)), and PyTorch's exported
   expected_0.npy within the same bound.
4. On the whole test split the generated C's metric (accuracy, or bits per
   character) equals the evaluator-independent reference from reference.json
   within 0.5 point / 1% (float rounding may flip a near-tie).

With --scheme w8a8 (static int8, calibrated on the example's calib/) the
model is quantized: 2. still holds bit for bit; 3. is skipped (ORT runs
the float model); 4. becomes the issue's accuracy budget: at most 0.5 point
of accuracy lost, or bits per character at most 1% above the float model's.

Budgets per scheme (accuracy points lost, relative bpc increase), from the
issue: w8a8 and w8a16 0.5 point / 1%, w4a16 1 point / 2%; w4a8 and w4a4
are measured and reported, with a loose bound that only catches breakage
(5 points / 10%, w4a4 25 points / 60%).  Extra qcc flags (e.g.
--act-scale token) follow --qflags as one string.

--bytes-file FILE writes the generated C's constant bytes (from qcc -v).
--metric-file FILE writes the test-split metric (accuracy or bits per
character, one number) to FILE, so that a test can compare two builds (e.g.
--weight-quant gptq against rtn).  --no-worse-than FILE fails unless the
metric is at least as good as the one a previous run wrote there.

usage: check_example.py QCC_BUILD_DIR EXAMPLE_DIR WORK_DIR [--scheme S] [--qflags "FLAGS"]
                        [--metric-file FILE] [--no-worse-than FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

TOL_REL_RANGE = 1e-4
BUDGETS = {"f32": (0.005, 0.01), "w8a8": (0.005, 0.01), "w8a16": (0.005, 0.01), "w4a16": (0.01, 0.02),
           "w4a8": (0.05, 0.10), "w4a4": (0.25, 0.60), "w8i16": (0.005, 0.01),
           # block formats (weights and matmul inputs): 8-bit ones as int8,
           # the others only catch breakage; -q auto's budget depends on
           # --avg-bits, so tests pass --acc-budget / --bpc-budget
           "mxint8": (0.005, 0.01), "bfp8": (0.005, 0.01), "bbfp8": (0.005, 0.01), "mxfp8": (0.005, 0.01),
           "auto": (0.05, 0.10)}
LOOSE = (0.05, 0.10)


def run(cmd, stderr_too=False, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + (r.stderr if stderr_too else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("ex")
    ap.add_argument("work")
    ap.add_argument("--scheme", default="f32")
    ap.add_argument("--qflags", default="")
    ap.add_argument("--acc-budget", type=float, help="accuracy points (fraction) the scheme may lose")
    ap.add_argument("--bpc-budget", type=float, help="relative bits-per-character increase allowed")
    ap.add_argument("--metric-file")
    ap.add_argument("--bytes-file", help="write the generated C's constant bytes (qcc -v) to this file")
    ap.add_argument("--no-worse-than")
    args = ap.parse_args()
    build, ex, work, scheme = args.build, args.ex, args.work, args.scheme
    acc_budget, bpc_budget = BUDGETS.get(scheme, LOOSE)
    acc_budget = acc_budget if args.acc_budget is None else args.acc_budget
    bpc_budget = bpc_budget if args.bpc_budget is None else args.bpc_budget
    name = os.path.basename(os.path.normpath(ex))
    os.makedirs(work, exist_ok=True)
    ref = json.load(open(os.path.join(ex, "reference.json")))
    in_name, out_name = ref["input"]["name"], ref["output"]["name"]
    model = os.path.join(ex, "model.onnx")
    src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    c, main_c, exe, weights = (os.path.join(work, f) for f in ("model.c", "main.c", "model", "model.bin"))
    final_ir = os.path.join(work, "final.mlir")
    qflags = ["-q", scheme, "--calib", os.path.join(ex, "calib"), *args.qflags.split()]
    exact_float = scheme == "f32" and not args.qflags
    if exact_float:
        qflags = []
    # The weights go to a file: model.c is code only, so cc takes seconds
    # instead of parsing megabytes of numbers (the inline C is the same
    # bits: test/codegen/weights-file.test). The float build pastes the
    # runtime and qcc run compiles the model again; a quantized build links
    # the runtime library (cc in half a second instead of ten) and qcc run
    # evaluates the final IR it wrote (calibration, rotation and GPTQ are
    # not done twice): what is compared is still the C against the
    # evaluator on the same IR.
    runtime = [] if exact_float else ["--runtime=external", "--emit-mlir", final_ir]
    log = run([f"{build}/qcc", model, "-o", c, "--emit-main", main_c, "--weights-file", weights, "-v", *runtime,
               *qflags], stderr_too=True)
    if args.bytes_file:
        with open(args.bytes_file, "w") as f:
            f.write(re.search(r"weights ([0-9]+) bytes", log).group(1) + "\n")
    link = [] if exact_float else [f"-I{src_root}/runtime", f"{build}/libqrt.a"]
    run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror", c, main_c, *link, "-lm", "-o", exe])

    x0 = os.path.join(ex, "input_0.npy")
    out_c = os.path.join(work, "c_out")
    out_q = os.path.join(work, "qcc_out")
    out_o = os.path.join(work, "ort_out")
    for d in (out_c, out_q, out_o):
        os.makedirs(d, exist_ok=True)
    run([exe, x0, "--weights", weights, "--out", out_c])
    run([f"{build}/qcc", "run", model if exact_float else final_ir, "--input", f"{in_name}={x0}", "--out-dir", out_q])
    y_c = np.load(os.path.join(out_c, "out0.npy"))
    y_q = np.load(os.path.join(out_q, f"{out_name}.npy"))
    if y_c.tobytes() != y_q.tobytes():
        sys.exit(f"FAIL {name}: generated C differs from qcc run (max diff {np.abs(y_c - y_q).max()})")
    print(f"{name}: generated C == qcc run, bit for bit")

    # ONNX Runtime runs the float model: only the float build is compared
    # (-q f32 with flags that change arithmetic, --softmax-format, is not it)
    if exact_float:
        run(["node", os.path.join(src_root, "test/tools/ort_run.js"), model, "--input", f"{in_name}={x0}",
             "--out-dir", out_o])
        y_o = np.load(os.path.join(out_o, f"{out_name}.npy"))
        y_t = np.load(os.path.join(ex, "expected_0.npy"))
        bound = TOL_REL_RANGE * float(y_o.max() - y_o.min())
    for label, ref_y in (("ONNX Runtime", y_o), ("PyTorch", y_t)) if exact_float else ():
        err = float(np.abs(y_c.astype(np.float64) - ref_y).max())
        print(f"{name}: max |C - {label}| = {err:.3g} (bound {bound:.3g})")
        if not err <= bound:
            sys.exit(f"FAIL {name}: C vs {label} error {err} exceeds {bound}")

    # Metric on the test split, through the generated C.
    metric = ref["metric"]
    tdir = os.path.join(ex, "test")
    xs = np.load(os.path.join(tdir, "input.npy" if metric == "accuracy" else "tokens.npy"))
    labels = np.load(os.path.join(tdir, "labels.npy"))
    sample = os.path.join(work, "sample.npy")
    outs = []
    for i in range(xs.shape[0]):
        np.save(sample, xs[i])
        run([exe, sample, "--weights", weights, "--out", out_c])
        outs.append(np.load(os.path.join(out_c, "out0.npy")))
    outs = np.stack(outs)
    if metric == "accuracy":
        acc = float((outs.reshape(len(outs), -1).argmax(1) == labels).mean())
        want = ref["test_accuracy"]
        print(f"{name}: {scheme} {args.qflags} test accuracy {acc:.4f} (PyTorch float {want:.4f}, {len(outs)} samples)")
        if (abs(acc - want) if exact_float else want - acc) > acc_budget:
            sys.exit(f"FAIL {name}: accuracy {acc} is more than {100 * acc_budget:g} point(s) below {want}")
        metric_value, better = acc, lambda a, b: a >= b
    else:
        logits = outs.reshape(labels.shape + (-1,)).astype(np.float64)
        logits -= logits.max(-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        nll = -np.take_along_axis(logp, labels[..., None], -1).mean()
        bpc = float(nll / np.log(2))
        want = ref["test_bpc"]
        print(f"{name}: {scheme} {args.qflags} test bits per character {bpc:.4f} (PyTorch float {want:.4f}, "
              f"{100 * (bpc / want - 1):+.2f}%)")
        if (abs(bpc - want) if exact_float else bpc - want) > bpc_budget * want:
            sys.exit(f"FAIL {name}: bpc {bpc} is more than {100 * bpc_budget:g}% above {want}")
        metric_value, better = bpc, lambda a, b: a <= b
    if args.metric_file:
        with open(args.metric_file, "w") as f:
            f.write(f"{metric_value!r}\n")
    if args.no_worse_than:
        other = float(open(args.no_worse_than).read())
        if not better(metric_value, other):
            sys.exit(f"FAIL {name}: {metric} {metric_value:.4f} is worse than {other:.4f} from {args.no_worse_than}")
        print(f"{name}: {metric} {metric_value:.4f} is no worse than {other:.4f} ({os.path.basename(args.no_worse_than)})")
    print(f"{name}: PASS")


if __name__ == "__main__":
    main()
