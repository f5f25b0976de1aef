#!/usr/bin/python3
"""Float equivalence of the rotate pass: a model compiled with --rotate KIND
(float, no -q) computes the same outputs as without, within 1e-4 relative
(max |y_rot - y| <= 1e-4 * max |y|), on every sample of the example's
calibration set, through `qcc run` (the evaluator, which equals the
generated C bit for bit). Prints the worst relative error.

usage: check_rotation.py QCC_BUILD_DIR EXAMPLE_DIR WORK_DIR "ROTATE FLAGS"
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np

TOL = 1e-4


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def main():
    build, ex, work, flags = sys.argv[1:5]
    name = os.path.basename(os.path.normpath(ex))
    ref = json.load(open(os.path.join(ex, "reference.json")))
    in_name, out_name = ref["input"]["name"], ref["output"]["name"]
    model = os.path.join(ex, "model.onnx")
    calib = os.path.join(ex, "calib")
    xs = np.load(os.path.join(calib, f"{in_name}.npy"))
    os.makedirs(work, exist_ok=True)
    worst = 0.0
    for i in range(min(len(xs), 8)):
        x = os.path.join(work, "x.npy")
        np.save(x, xs[i])
        outs = []
        for extra in ([], flags.split() + ["--calib", calib]):
            d = os.path.join(work, "rot" if extra else "ref")
            os.makedirs(d, exist_ok=True)
            run([f"{build}/qcc", "run", model, "--input", f"{in_name}={x}", "--out-dir", d, *extra])
            outs.append(np.load(os.path.join(d, f"{out_name}.npy")).astype(np.float64))
        err = float(np.abs(outs[1] - outs[0]).max() / np.abs(outs[0]).max())
        worst = max(worst, err)
    print(f"{name}: {flags}: max relative output difference {worst:.3g} (bound {TOL:g})")
    if not worst <= TOL:
        sys.exit(f"FAIL {name}: rotated model differs by {worst} > {TOL}")
    print(f"{name}: rotation is float-equivalent")


if __name__ == "__main__":
    main()
