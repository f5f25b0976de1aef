#!/usr/bin/python3
"""The fuse-attention pass keeps every bit (test/passes/fuse-attention.test).

The model is compiled to C twice, with the pass (the default) and with
--no-fuse-attention, each built with CC (the sanitized %cc of lit; the
model code only, linked with the runtime built once under the sanitizers,
QCC_BUILD_DIR/test/libqrt_san.a) and run on the same inputs; the outputs
must be the same bytes, and `qcc run` (which fuses too) must give them as
well. Prints how many q.attention ops
the fused build has.

usage: check_fuse_attention.py QCC_BUILD_DIR MODEL.onnx WORK_DIR [--input NAME=FILE.npy ...] [--qflags "..."] -- CC...
Inputs not given are drawn from a fixed seed (float: standard normal)."""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def main():
    argv = sys.argv[1:]
    cut = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("model")
    ap.add_argument("work")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--qflags", default="")
    a = ap.parse_args(argv[:cut])
    cc = argv[cut + 1:]
    os.makedirs(a.work, exist_ok=True)
    qcc = os.path.join(a.build, "qcc")
    src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    m = onnx.load(a.model)
    inits = {i.name for i in m.graph.initializer}
    given = dict(s.split("=", 1) for s in a.input)
    rng = np.random.default_rng(7)
    files = []
    for v in m.graph.input:
        if v.name in inits:
            continue
        if v.name not in given:
            shape = [d.dim_value for d in v.type.tensor_type.shape.dim]
            f = os.path.join(a.work, f"in_{len(files)}.npy")
            np.save(f, rng.standard_normal(shape).astype(np.float32))
            given[v.name] = f
        files.append((v.name, given[v.name]))
    qflags = a.qflags.split()
    outs = {}
    for tag, extra in (("fused", []), ("unfused", ["--no-fuse-attention"])):
        c, main_c, exe, wf = (os.path.join(a.work, f"{tag}{s}") for s in (".c", "_main.c", "", ".bin"))
        # weights in a file and the runtime linked: the C is the model's
        # code only, so the sanitized builds are quick
        run([qcc, a.model, "-o", c, "--emit-main", main_c, "--weights-file", wf, "--runtime=external", *qflags,
             *extra])
        run([*cc, c, main_c, f"-I{src_root}/runtime", os.path.join(a.build, "test", "libqrt_san.a"), "-lm", "-o",
             exe])
        out = os.path.join(a.work, f"out_{tag}")
        os.makedirs(out, exist_ok=True)
        run([exe, *[f for _, f in files], "--weights", wf, "--out", out])
        outs[tag] = [np.load(os.path.join(out, f"out{k}.npy")) for k in range(len(m.graph.output))]
    n_fused = open(os.path.join(a.work, "fused.c")).read().count("qrt_attention_f32(&")
    print(f"fused build: {n_fused} qrt_attention_f32 call(s)")
    for k, (x, y) in enumerate(zip(outs["fused"], outs["unfused"])):
        if x.tobytes() != y.tobytes():
            sys.exit(f"FAIL: output {k}: fused C differs from unfused C (max diff {np.abs(x - y).max()})")
    print("fused C == unfused C, bit for bit")
    ev = os.path.join(a.work, "out_run")
    run([qcc, "run", a.model, *[x for n, f in files for x in ("--input", f"{n}={f}")], "--out-dir", ev, *qflags])
    for k, o in enumerate(m.graph.output):
        if np.load(os.path.join(ev, f"{o.name}.npy")).tobytes() != outs["fused"][k].tobytes():
            sys.exit(f"FAIL: output {k}: qcc run differs from the generated C")
    print("qcc run == generated C, bit for bit")


if __name__ == "__main__":
    main()
