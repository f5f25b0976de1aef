#!/usr/bin/python3
"""Runs `qcc FILE -o OUT.c` on every file of test/fuzz/regressions (inputs
the fuzzer once crashed qcc with, minimized) and fails unless each ends in
exit 0, or exit 1 with exactly one 'qcc: error:' line: never a signal, a
sanitizer report, a hang, or a refusal without its reason.
Usage: run_regressions.py QCC REGRESSIONS_DIR OUT_DIR"""
import os
import subprocess
import sys

qcc, folder, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
bad = []
files = sorted(f for f in os.listdir(folder) if not f.startswith("."))
for name in files:
    cmd = [qcc, os.path.join(folder, name), "-o", os.path.join(out, "out.c")]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=60)
    except subprocess.TimeoutExpired:
        bad.append(f"{name}: hang (over 60 s)")
        continue
    errors = [l for l in r.stderr.splitlines() if l.startswith("qcc: error:")]
    if r.returncode == 0:
        continue
    if r.returncode != 1:
        bad.append(f"{name}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    elif len(errors) != 1:
        bad.append(f"{name}: exit 1 with {len(errors)} error lines: {r.stderr.strip()[-300:]}")
for b in bad:
    print(b)
print(f"{len(files) - len(bad)} of {len(files)} fuzz regressions end cleanly")
sys.exit(1 if bad else 0)
