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
equal `qcc run --no-float-epilogues` bit for bit (the accelerator's
epilogues are integer).

With --cycle-schemes A,B,... the i-th model gets `-q` of the (i mod n)-th
scheme added to its flags: one run covers every block format on models of
all shapes.

The generated C of every 8th model pastes the runtime; the others link
one sanitized build of runtime/ made at the start, or the one
--runtime-lib names (ctest passes the build's qrt_san) (run.py's
INLINE_EVERY; --all-inline pastes it everywhere).

usage: test/conformance/quantized.py [--qcc PATH] [--node PATTERN] [--jobs N] [--cycle-schemes LIST] [--npu]
           [--all-inline] [--runtime-lib LIB] -- QCC_FLAGS...
prints one line per failure and "N compared, N refused, N failed"; exit 1
if any failed."""
import argparse
import concurrent.futures as cf
import glob
import os
import shutil
import subprocess
import sys
import tempfile

# the conformance runner's data dir, TensorProto reader and prebuilt runtime
from run import DATA, INLINE_EVERY, ROOT, build_runtime_lib, read_pb, runtime_flags  # noqa: E402

SAN_CFLAGS = ["-std=c99", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]


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


def check(d, qcc, flags, npu=False, inline=True, lib=None):
    """(status, message) for one test dir: compared, refused or failed.
    The generated C pastes the runtime (inline) or links lib (run.py's
    runtime_flags)."""
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
            # the accelerator keeps integer epilogues: its reference is
            # `qcc run` without the float ones (docs/npu.md)
            return compare(qcc, model, m, inputs, flags + ["--no-float-epilogues"], d, tmp,
                           lambda k, o: f"{o.name}.npy", "qcc sim")
        c, main_c, exe = (os.path.join(tmp, s) for s in ("m.c", "main.c", "m"))
        rt_qcc, rt_cc = runtime_flags(inline, lib)
        r = subprocess.run([qcc, model, "-o", c, "--emit-main", main_c, *flags, *rt_qcc, "--calib", d],
                           capture_output=True, text=True, timeout=300)
        if r.returncode == 1 and r.stderr.count("error:") >= 1:
            return "refused", ""
        if r.returncode:
            return "failed", f"qcc exit {r.returncode}: {r.stderr.strip()[-200:]}"
        r = subprocess.run(["cc", *SAN_CFLAGS, c, main_c, *rt_cc, "-lm", "-o", exe], capture_output=True, text=True,
                           timeout=300)
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
    ap.add_argument("--all-inline", action="store_true",
                    help=f"paste the runtime into every model's C (default: every {INLINE_EVERY}th; the others "
                         "link one sanitized build of runtime/)")
    ap.add_argument("--runtime-lib", help="a sanitized build of runtime/ (SAN_CFLAGS; the build's qrt_san) "
                    "to link instead of building one here")
    ap.add_argument("flags", nargs="*")
    a = ap.parse_args()
    dirs = sorted(glob.glob(DATA + "/pytorch-converted/*") + glob.glob(DATA + "/pytorch-operator/*"))
    for p in a.node:
        dirs += sorted(d for d in glob.glob(DATA + "/node/test_*") if p in os.path.basename(d))
    dirs = [d for d in dirs if os.path.isdir(os.path.join(d, "test_data_set_0"))]
    counts = {"compared": 0, "refused": 0, "failed": 0}
    cycle = a.cycle_schemes.split(",") if a.cycle_schemes else []
    flags = [a.flags + (["-q", cycle[i % len(cycle)]] if cycle else []) for i in range(len(dirs))]
    lib, own_lib = None, False  # NPU streams link no C; --all-inline pastes the runtime
    if not (a.npu or a.all_inline):
        lib, own_lib = (a.runtime_lib, False) if a.runtime_lib else (build_runtime_lib("cc", SAN_CFLAGS, a.jobs), True)
    try:
        with cf.ThreadPoolExecutor(a.jobs) as ex:
            results = ex.map(lambda i: check(dirs[i], a.qcc, flags[i], a.npu, i % INLINE_EVERY == 0, lib),
                             range(len(dirs)))
            for d, f, (status, msg) in zip(dirs, flags, results):
                counts[status] += 1
                if status == "failed":
                    print(f"FAIL {os.path.relpath(d, DATA)} ({' '.join(f)}): {msg}")
    finally:
        if own_lib:
            shutil.rmtree(os.path.dirname(lib), ignore_errors=True)
    print(f"{counts['compared']} compared, {counts['refused']} refused, {counts['failed']} failed "
          f"(flags: {' '.join(a.flags)}{', -q cycling ' + a.cycle_schemes if cycle else ''}{', --npu' if a.npu else ''})")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
