#!/usr/bin/python3
"""Float equivalence of graph rewrites on a multimodal example (inputs ids,
pix, mod as examples/mm_lm): the model compiled with FLAGS (e.g. "--aifs
mod", "--aifs-static image=4:12", "--rotate hadamard"), its final IR run
through `qcc run` (the evaluator, equal to the generated C bit for bit),
gives the outputs of the model compiled without them, max |y_flags - y|
<= TOL * (max y - min y), on every modality pattern: text only, image only,
alternating, random, one image block at the start / in the middle / at the
end, and the first calibration samples. Prints the worst error relative
to the output range.

usage: check_token_order.py QCC_BUILD_DIR EXAMPLE_DIR WORK_DIR "FLAGS" [--tol T]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def patterns(ref, calib):
    """(label, {input: array}) for each modality pattern."""
    ins = {i["name"]: i for i in ref["inputs"]}
    T = ins["mod"]["shape"][-1]
    P = ins["pix"]["shape"][-1]
    img_id = ref["output"]["shape"][-1] - 1
    rng = np.random.RandomState(7)
    text = rng.randint(0, img_id, size=T)
    mods = {
        "text only": np.zeros(T),
        "image only": np.ones(T),
        "alternating": np.arange(T) % 2,
        "random": (rng.rand(T) < 0.5).astype(np.float64),
        "image block first": (np.arange(T) < 8).astype(np.float64),
        "image block middle": ((np.arange(T) >= 20) & (np.arange(T) < 28)).astype(np.float64),
        "image block last": (np.arange(T) >= T - 8).astype(np.float64),
    }
    out = []
    for label, m in mods.items():
        ids = np.where(m > 0, img_id, text).astype(np.int64)[None]
        pix = (rng.rand(T, P) * (m[:, None] > 0)).astype(np.float32)[None]
        out.append((label, {"ids": ids, "pix": pix, "mod": m.astype(np.float32)[None]}))
    for k in range(3):
        out.append((f"calibration sample {k}", {n: calib[n][k] for n in calib}))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("ex")
    ap.add_argument("work")
    ap.add_argument("flags")
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    name = os.path.basename(os.path.normpath(args.ex))
    ref = json.load(open(os.path.join(args.ex, "reference.json")))
    model = os.path.join(args.ex, "model.onnx")
    out_name = ref["output"]["name"]
    calib = {i["name"]: np.load(os.path.join(args.ex, "calib", i["name"] + ".npy")) for i in ref["inputs"]}
    extra = args.flags.split()
    if any(f.startswith("--rotate") for f in extra) and "--calib" not in extra:
        extra += ["--calib", os.path.join(args.ex, "calib")]
    os.makedirs(args.work, exist_ok=True)
    # each build compiled once; its final IR (--emit-mlir) is what qcc run
    # evaluates on every pattern (rotation and AIFS do not depend on them)
    irs = []
    for tag, flags in (("without", []), ("with", extra)):
        irs.append(os.path.join(args.work, f"{tag}.mlir"))
        run([f"{args.build}/qcc", model, "-o", os.path.join(args.work, f"{tag}.c"), "--emit-mlir", irs[-1], *flags])
    worst, worst_label = 0.0, ""
    for label, arrays in patterns(ref, calib):
        feeds = []
        for n, a in arrays.items():
            p = os.path.join(args.work, f"{n}.npy")
            np.save(p, a)
            feeds.append(f"--input={n}={p}")
        ys = []
        for ir in irs:
            d = ir[:-len(".mlir")]
            os.makedirs(d, exist_ok=True)
            run([f"{args.build}/qcc", "run", ir, *feeds, "--out-dir", d])
            ys.append(np.load(os.path.join(d, f"{out_name}.npy")).astype(np.float64))
        err = float(np.abs(ys[1] - ys[0]).max() / (ys[0].max() - ys[0].min()))
        if err >= worst:
            worst, worst_label = err, label
        if not err <= args.tol:
            sys.exit(f"FAIL {name}: {args.flags}: {label}: outputs differ by {err:.3g} of the output range "
                     f"(bound {args.tol:g})")
    print(f"{name}: {args.flags}: worst output difference {worst:.3g} of the range ({worst_label}), "
          f"bound {args.tol:g}")
    print(f"{name}: float-equivalent on every modality pattern")


if __name__ == "__main__":
    main()
