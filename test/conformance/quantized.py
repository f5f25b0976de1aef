#!/usr/bin/python3
"""Quantized compiles of graphs nobody tuned for: every model of the ONNX
pytorch-converted and pytorch-operator suites (and, with --node PATTERN,
node tests whose name contains PATTERN) is compiled with the given
quantization flags, calibrated on its own test_data_set_* folders. Where
qcc compiles it, the generated C is built under ASan + UBSan and run on
test_data_set_0, and its outputs must equal `qcc run`'s bit for bit; a
compile that fails must fail with a one-line error (exit 1), never a crash.
A model qcc refuses is counted, not failed (float conformance is run.py's
job).

With --npu the model is compiled to an NPU command stream instead
(--target npu) and `qcc sim` (the reference executor, docs/npu.md) must
equal `qcc run` bit for bit.

With --cycle-schemes A,B,... the i-th model gets `-q` of the (i mod n)-th
scheme added to its flags: one run covers every block format on models of
all shapes.

usage: test/conformance/quantized.py [--qcc PATH] [--node PATTERN] [--jobs N] [--cycle-schemes LIST] [--npu] -- QCC_FLAGS...
prints one line per failure and "N compared, N refused, N failed"; exit 1
if any failed."""
import argparse
import concurrent.futures as cf
import glob
import os
import subprocess
import sys
import tempfile

from run import DATA, ROOT, read_pb  # the conformance runner's data dir and TensorProto reader


def run_npu(qcc, model, inputs, flags, d, tmp):
    """Compiles model to a stream and runs it with `qcc sim` into tmp/c;
    (status, message) when it does not get that far."""
    qcs = os.path.join(tmp, "m.qcs")
    r = subprocess.run([qcc, model, "-o", qcs, "--target", "npu", *flags, "--calib", d], capture_output=True,
                       text=True, timeout=300)
    if r.returncode == 1 and r.stderr.count("error:") >= 1:
        return "refused", ""
    if r.returncode:
        return "failed", f"qcc --target npu exit {r.returncode}: {r.stderr.strip()[-200:]}"
    r = subprocess.run([qcc, "sim", qcs, *inputs, "--out-dir", os.path.join(tmp, "c")], capture_output=True,
                       text=True, timeout=300)
    if r.returncode:
        return "failed", f"qcc sim exit {r.returncode}: {r.stderr.strip()[-200:]}"
    return None


def check(d, qcc, flags, npu=False):
    """(status, message) for one test dir: compared, refused or failed."""
    import numpy as np
    import onnx
    from onnx import numpy_helper as nh
    ds = os.path.join(d, "test_data_set_0")
    model = os.path.join(d, "model.onnx")
    m = onnx.load(model)
    inits = {i.name for i in m.graph.initializer}
    names = [i.name for i in m.graph.input if i.name not in inits]
    with tempfile.TemporaryDirectory() as tmp:
        files, inputs = [], []
        for k, name in enumerate(names):
            path = os.path.join(tmp, f"in{k}.npy")
            np.save(path, read_pb(onnx, nh, os.path.join(ds, f"input_{k}.pb")))
            files.append(path)
            inputs += ["--input", f"{name}={path}"]
        if npu:
            failed = run_npu(qcc, model, inputs, flags, d, tmp)
            if failed:
                return failed
            return compare(qcc, model, m, inputs, flags, d, tmp, lambda k, o: f"{o.name}.npy", "qcc sim")
        c, main_c, exe = (os.path.join(tmp, s) for s in ("m.c", "main.c", "m"))
        r = subprocess.run([qcc, model, "-o", c, "--emit-main", main_c, *flags, "--calib", d], capture_output=True,
                           text=True, timeout=300)
        if r.returncode == 1 and r.stderr.count("error:") >= 1:
            return "refused", ""
        if r.returncode:
            return "failed", f"qcc exit {r.returncode}: {r.stderr.strip()[-200:]}"
        r = subprocess.run(["cc", "-std=c99", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", c,
                            main_c, "-lm", "-o", exe], capture_output=True, text=True, timeout=300)
        if r.returncode:
            return "failed", "cc: " + r.stderr.strip()[-300:]
        os.makedirs(os.path.join(tmp, "c"))
        os.makedirs(os.path.join(tmp, "e"))
        r = subprocess.run([exe, *files, "--out", os.path.join(tmp, "c")], capture_output=True, text=True,
                           timeout=300)
        if r.returncode:
            return "failed", "generated C: " + r.stderr.strip()[-300:]
        return compare(qcc, model, m, inputs, flags, d, tmp, lambda k, o: f"out{k}.npy", "generated C")


def compare(qcc, model, m, inputs, flags, d, tmp, file_of, what):
    """Runs `qcc run` into tmp/e and compares each output with tmp/c."""
    import numpy as np
    os.makedirs(os.path.join(tmp, "e"), exist_ok=True)
    r = subprocess.run([qcc, "run", model, *inputs, "--out-dir", os.path.join(tmp, "e"), *flags, "--calib", d],
                       capture_output=True, text=True, timeout=300)
    if r.returncode:
        return "failed", "qcc run: " + r.stderr.strip()[-200:]
    for k, o in enumerate(m.graph.output):
        a = np.load(os.path.join(tmp, "c", file_of(k, o)))
        b = np.load(os.path.join(tmp, "e", f"{o.name}.npy"))
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            return "failed", f"output {k} ({o.name}): {what} != qcc run"
    return "compared", ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qcc", default=os.path.join(ROOT, "build", "qcc"))
    ap.add_argument("--node", action="append", default=[], help="also node tests whose name contains this")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cycle-schemes", help="comma-separated -q schemes given to the models in turn")
    ap.add_argument("--npu", action="store_true", help="compare `qcc sim` of an NPU stream, not generated C")
    ap.add_argument("flags", nargs="*")
    a = ap.parse_args()
    dirs = sorted(glob.glob(DATA + "/pytorch-converted/*") + glob.glob(DATA + "/pytorch-operator/*"))
    for p in a.node:
        dirs += sorted(d for d in glob.glob(DATA + "/node/test_*") if p in os.path.basename(d))
    dirs = [d for d in dirs if os.path.isdir(os.path.join(d, "test_data_set_0"))]
    counts = {"compared": 0, "refused": 0, "failed": 0}
    cycle = a.cycle_schemes.split(",") if a.cycle_schemes else []
    flags = [a.flags + (["-q", cycle[i % len(cycle)]] if cycle else []) for i in range(len(dirs))]
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        for d, f, (status, msg) in zip(dirs, flags, ex.map(lambda df: check(df[0], a.qcc, df[1], a.npu), zip(dirs, flags))):
            counts[status] += 1
            if status == "failed":
                print(f"FAIL {os.path.relpath(d, DATA)} ({' '.join(f)}): {msg}")
    print(f"{counts['compared']} compared, {counts['refused']} refused, {counts['failed']} failed "
          f"(flags: {' '.join(a.flags)}{', -q cycling ' + a.cycle_schemes if cycle else ''}{', --npu' if a.npu else ''})")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
