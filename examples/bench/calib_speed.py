#!/usr/bin/env python3
"""Calibration throughput against the generated code (issue 13's bar:
calibration at least half as fast per sample as the generated float C
per run).

For each example: the generated float C (qcc MODEL -o f.c --emit-main,
cc -O2 -march=native), timed with its own --bench (the least batch time
per run over the rounds); then `qcc MODEL -q w8a8 --calib DIR -v` with
--calib-threads 1 and with each other count asked, whose calibrate
remark gives CPU and wall-clock milliseconds per sample. Every program
runs once per round, rounds interleaved; a figure is the least over the
rounds (this host is shared: a round's time jumps when another job runs).

    /usr/bin/python3 examples/bench/calib_speed.py [--rounds 3] [--threads 2]
        [--observer mse] [--examples digits_transformer,char_lm,mm_lm]

Prints one row per example and thread count: C ms per run, calibration
CPU and wall ms per sample, and their ratios to the C (the bar: wall
<= 2x)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QCC = os.path.join(ROOT, "build", "qcc")
BENCH_RUNS = {"digits_cnn": 20000, "digits_transformer": 20000, "char_lm": 2000, "mm_lm": 4000, "outlier_lm": 300}


def inputs_of(ex_dir):
    """The example's input_0*.npy files, in the order the generated main
    takes them (the model's input order: ids, pix, mod for mm_lm)."""
    names = sorted(f for f in os.listdir(ex_dir) if re.fullmatch(r"input_0(_\w+)?\.npy", f))
    order = {"input_0_ids.npy": 0, "input_0_pix.npy": 1, "input_0_mod.npy": 2}
    return [os.path.join(ex_dir, f) for f in sorted(names, key=lambda f: order.get(f, 0))]


def c_ms(binary, inputs, runs):
    out = subprocess.run([binary] + inputs + ["--bench", str(runs)], capture_output=True, text=True, check=True)
    # last line: c_ms_per_run MEDIAN MIN
    return float(out.stdout.strip().splitlines()[-1].split()[2])


def calib_ms(model, calib, observer, threads, work):
    out = subprocess.run([QCC, model, "-o", os.path.join(work, "q.c"), "-q", "w8a8", "--calib", calib,
                          "--observer", observer, "--calib-threads", str(threads), "-v"],
                         capture_output=True, text=True, check=True)
    m = re.search(r"calibrate: \d+ samples .* ([0-9.]+) ms CPU and ([0-9.]+) ms wall clock per sample", out.stderr)
    if not m:
        sys.exit("calib_speed: no calibrate remark in qcc -v's output")
    return float(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default=str(min(os.cpu_count() or 1, 8)),
                    help="comma-separated thread counts besides 1")
    ap.add_argument("--observer", default="mse")
    ap.add_argument("--examples", default="digits_transformer,char_lm,mm_lm")
    a = ap.parse_args()
    counts = [1] + [int(t) for t in a.threads.split(",") if int(t) != 1]
    work = tempfile.mkdtemp(prefix="calib_speed_")
    best = {}
    builds = {}
    for ex in a.examples.split(","):
        d = os.path.join(ROOT, "examples", ex)
        b = os.path.join(work, ex)
        os.makedirs(b, exist_ok=True)
        subprocess.run([QCC, os.path.join(d, "model.onnx"), "-o", os.path.join(b, "f.c"), "--emit-main",
                        os.path.join(b, "main.c")], check=True)
        subprocess.run(["cc", "-std=c99", "-O2", "-march=native", os.path.join(b, "f.c"), os.path.join(b, "main.c"),
                        "-lm", "-o", os.path.join(b, "f")], check=True)
        builds[ex] = (d, b)
    for r in range(a.rounds):
        for ex, (d, b) in builds.items():
            t = c_ms(os.path.join(b, "f"), inputs_of(d), BENCH_RUNS.get(ex, 2000))
            best[(ex, "c")] = min(best.get((ex, "c"), t), t)
            for n in counts:
                cpu, wall = calib_ms(os.path.join(d, "model.onnx"), os.path.join(d, "calib"), a.observer, n, b)
                old = best.get((ex, n), (cpu, wall))
                best[(ex, n)] = (min(old[0], cpu), min(old[1], wall))
    print(f"observer {a.observer}, least of {a.rounds} rounds, {os.cpu_count()} CPUs")
    print("| example | generated C per run | calibration threads | CPU per sample | wall per sample | CPU / C | wall / C |")
    print("|---|---|---|---|---|---|---|")
    for ex in builds:
        c = best[(ex, "c")]
        for n in counts:
            cpu, wall = best[(ex, n)]
            print(f"| {ex} | {c:.4f} ms | {n} | {cpu:.4f} ms | {wall:.4f} ms | {cpu / c:.2f} | {wall / c:.2f} |")


if __name__ == "__main__":
    main()
