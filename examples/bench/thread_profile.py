#!/usr/bin/python3
"""Where a --threads build's time goes, independent of the machine's load:
the serial fraction of a model and the speed-up it allows on N threads.

qcc compiles the model with --threads N and --emit-main; this script wraps
every kernel call of the generated NAME_run_ws in a clock reading and
installs (NAME_set_parallel_for) a parallel-for that runs the tasks one
after another on the calling thread, timing each. So one thread does all the
work, with the split an N-thread build makes, and for every call we know

  - its time (the one-thread time: the tasks plus what runs outside them);
  - the time inside its parallel tasks, and their makespan on N threads when
    each thread takes the next task as soon as it is free (what the pool
    does: qrt_parallel.c).

Each call's numbers are those of its fastest run (--stat min; each of the
time, the time outside tasks and the makespan taken alone): preemption on
a busy machine only adds time, so the minimum is what the code costs.
The serial fraction is (time outside tasks) / (one-thread time): Amdahl's
law bounds the N-thread speed-up by 1 / (serial + (1 - serial) / N). The
"predicted" time adds the makespans to the serial time; it leaves out what a
real pool adds (waking threads, cache traffic between cores), which the
measured wall time on an idle machine shows.

With --measured it instead times every call as the program really runs it:
the same instrumented C built with -DQRT_THREADS=1 and with the real pool
of N threads (no hook), run alternately (--rounds), each call's least time
over all rounds; it prints, per kernel and per call, the one-thread and the
N-thread time and what the split gained or lost. That shows where a pool
loses on a given machine (hand-offs, cache traffic between cores), which
the prediction above leaves out.

With --require-split K1,K2,... it exits 1 unless every call of those
kernels made a parallel-for (test/codegen/threads.test uses it, with the
split thresholds set to 1 in --cflags, to show that every split path runs).

usage: examples/bench/thread_profile.py MODEL.onnx INPUT.npy [--qcc build/qcc] [--threads 2]
           [--iters 300] [--cflags "-O3 -march=native"] [--top 12] [--require-split KERNELS]
           [--measured [--rounds 5]]
           [-- QCC FLAGS...]
e.g.   examples/bench/thread_profile.py examples/char_lm/model.onnx examples/char_lm/input_0.npy -- --fma
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Pasted before NAME_run_ws: per-call clocks and the timing parallel-for.
PRELUDE = r"""
#include <stdio.h>
#include <time.h>
#define PROF_CALLS %(calls)d
#define PROF_W %(threads)d
/* per call: sums over runs (t, in tasks, makespan), the fastest run's
 * values (each minimum taken alone: preemption only adds time), and the
 * parallel-fors and tasks of the last run */
static double prof_t[PROF_CALLS], prof_task[PROF_CALLS], prof_span[PROF_CALLS];
static double prof_tmin[PROF_CALLS], prof_sermin[PROF_CALLS], prof_spanmin[PROF_CALLS];
static long prof_for_n[PROF_CALLS], prof_tasks[PROF_CALLS], prof_runs;
static double prof_cur_task, prof_cur_span;
static int prof_cur = -1;
static double prof_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
/* Runs the tasks in order; their makespan on PROF_W threads that each take
 * the next task when free. */
static void prof_for(void *user, int64_t n, void (*task)(void *, int64_t), void *ctx) {
  double busy[PROF_W] = {0}, span = 0.0;
  int64_t i;
  int t, best;
  (void)user;
  for (i = 0; i < n; ++i) {
    const double t0 = prof_now();
    double dt;
    task(ctx, i);
    dt = prof_now() - t0;
    for (best = 0, t = 1; t < PROF_W; ++t) if (busy[t] < busy[best]) best = t;
    busy[best] += dt;
    prof_cur_task += dt;
  }
  for (t = 0; t < PROF_W; ++t) if (busy[t] > span) span = busy[t];
  prof_cur_span += span;
  if (prof_cur >= 0) { prof_for_n[prof_cur]++; prof_tasks[prof_cur] += n; }
}
__attribute__((constructor)) static void prof_init(void) {
  int k;
#ifndef PROF_REAL_POOL
  %(name)s_set_parallel_for(prof_for, 0, PROF_W);
#endif
  for (k = 0; k < PROF_CALLS; ++k) prof_tmin[k] = prof_sermin[k] = prof_spanmin[k] = 1e30;
}
__attribute__((destructor)) static void prof_report(void) {
  int k;
  for (k = 0; k < PROF_CALLS; ++k)
    fprintf(stderr, "PROF %%d %%.9g %%.9g %%.9g %%ld %%ld %%ld %%.9g %%.9g %%.9g\n", k, prof_t[k], prof_task[k],
            prof_span[k], prof_for_n[k], prof_tasks[k], prof_runs, prof_tmin[k], prof_sermin[k], prof_spanmin[k]);
}
static void prof_done(int k, double t) {
  prof_t[k] += t;
  prof_task[k] += prof_cur_task;
  prof_span[k] += prof_cur_span;
  if (t < prof_tmin[k]) prof_tmin[k] = t;
  if (t - prof_cur_task < prof_sermin[k]) prof_sermin[k] = t - prof_cur_task;
  if (prof_cur_span < prof_spanmin[k]) prof_spanmin[k] = prof_cur_span;
}
#define PROF_CALL(k, ...) do { const double prof_t0 = prof_now(); prof_cur = (k); if ((k) == 0) prof_runs++; \
    prof_cur_task = prof_cur_span = 0.0; __VA_ARGS__; prof_done(k, prof_now() - prof_t0); prof_cur = -1; } while (0)
"""


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{(r.stdout + r.stderr)[-3000:]}")
    return r


def instrument(src, name, threads):
    """Wraps each kernel call of NAME_run_ws; returns (source, [(kernel, node)])."""
    lines = src.split("\n")
    start = next(i for i, l in enumerate(lines) if re.match(rf"int {name}_run_ws\(", l))
    calls, out, node = [], [], ""
    depth = 0
    for i, l in enumerate(lines):
        if i < start:
            out.append(l)
            continue
        m = re.match(r"\s*/\* (q\.\w+ node '[^']*')", l)
        if m:
            node = m.group(1)
        m = re.match(r"(\s*)(qrt_\w+)\((.*);\s*$", l)
        if m and depth >= 0:
            out.append(f"{m.group(1)}PROF_CALL({len(calls)}, {m.group(2)}({m.group(3)});")
            calls.append((m.group(2), node))
        else:
            out.append(l)
        if i > start and l.startswith("}"):
            depth = -1  # past the function
    out.insert(start, PRELUDE % {"calls": max(len(calls), 1), "threads": threads, "name": name})
    return "\n".join(out), calls


def instrumented_source(a, extra, name, tmp):
    """qcc's C of the model (weights in a file: a small C file compiles in
    seconds) with every kernel call timed: (c, main_c, weights, calls)."""
    c, main_c, wfile = (os.path.join(tmp, f) for f in ("prof.c", "prof_main.c", "prof.bin"))
    run([a.qcc, a.model, "-o", c, "--name", name, "--emit-main", main_c, "--threads", str(a.threads),
         "--weights-file", wfile, *extra])
    src, calls = instrument(open(c).read(), name, a.threads)
    open(c, "w").write(src)
    return c, main_c, wfile, calls


def prof_rows(stderr):
    """The PROF lines a run printed, split into fields (the tag dropped)."""
    return [l.split()[1:] for l in stderr.splitlines() if l.startswith("PROF ")]


def per_call_min(rows):
    """{call: least time in us} from the PROF lines of several runs."""
    best = {}
    for r in rows:
        k, t = int(r[0]), 1e6 * float(r[7])
        best[k] = min(best.get(k, t), t)
    return best


def measured(a, extra, name):
    """--measured: each call's least time, one-thread build against the real N-thread pool."""
    with tempfile.TemporaryDirectory() as tmp:
        c, main_c, wfile, calls = instrumented_source(a, extra, name, tmp)
        exes = {}
        for t in (1, a.threads):
            exes[t] = os.path.join(tmp, f"prof{t}")
            run(["cc", "-std=gnu99", *a.cflags.split(), "-DPROF_REAL_POOL", f"-DQRT_THREADS={t}", c, main_c,
                 "-lm", "-pthread", "-o", exes[t]])
        rows = {1: [], a.threads: []}
        for r in range(a.rounds):
            for t in (sorted(rows) if r % 2 == 0 else sorted(rows, reverse=True)):
                err = run([exes[t], *a.inputs, "--weights", wfile, "--bench", str(a.iters)]).stderr
                rows[t] += prof_rows(err)
    one, many = per_call_min(rows[1]), per_call_min(rows[a.threads])
    by = {}
    for k, (kern, _) in enumerate(calls):
        b = by.setdefault(kern, [0, 0.0, 0.0])
        b[0] += 1
        b[1] += one[k]
        b[2] += many[k]
    t1, tn = sum(one.values()), sum(many.values())
    print(f"{a.model}: {len(calls)} kernel calls, least of {a.rounds} rounds of {a.iters} runs, "
          f"one thread vs the real pool of {a.threads} {' '.join(extra)}")
    print(f"{'kernel':28s} {'calls':>5s} {'1 thread us':>11s} {f'{a.threads} threads us':>12s} {'speed-up':>8s}")
    for kern, b in sorted(by.items(), key=lambda kv: -kv[1][1]):
        print(f"{kern:28s} {b[0]:5d} {b[1]:11.1f} {b[2]:12.1f} {b[1] / b[2]:7.2f}x")
    print(f"sum of calls: one thread {t1:.1f} us, {a.threads} threads {tn:.1f} us: {t1 / tn:.2f}x")
    print("calls that lost the most:")
    for k in sorted(one, key=lambda k: one[k] - many[k])[:a.top]:
        print(f"  {one[k]:7.2f} -> {many[k]:7.2f} us  {calls[k][0]:22s} {calls[k][1]}")


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--qcc", default=os.path.join(ROOT, "build", "qcc"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--cflags", default="-O3 -march=native")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--require-split", default="")
    ap.add_argument("--detail", action="store_true", help="print every call")
    ap.add_argument("--stat", choices=["min", "mean"], default="min",
                    help="each call's fastest run (default: robust on a loaded machine) or the mean")
    ap.add_argument("--measured", action="store_true",
                    help="time each call with the real pool against a one-thread build")
    ap.add_argument("--rounds", type=int, default=5, help="with --measured: alternate runs of the two builds")
    a = ap.parse_args(argv)
    name = "prof"
    if a.measured:
        return measured(a, extra, name)
    with tempfile.TemporaryDirectory() as tmp:
        c, main_c, wfile, calls = instrumented_source(a, extra, name, tmp)
        exe = os.path.join(tmp, "prof")
        run(["cc", "-std=gnu99", *a.cflags.split(), c, main_c, "-lm", "-pthread", "-o", exe])
        err = run([exe, *a.inputs, "--weights", wfile, "--bench", str(a.iters)]).stderr
    rows = prof_rows(err)
    runs = int(rows[0][6]) if rows else 0
    if not runs:
        sys.exit("no timed runs")
    per = []  # (kernel, node, t, in tasks, makespan, fors, tasks) per run, in microseconds
    for r in rows:
        k = int(r[0])
        if a.stat == "mean":
            t, task, span = (1e6 * float(x) / runs for x in r[1:4])
        else:  # the fastest run of each call: t, t - serial, makespan
            t, ser, span = (1e6 * float(x) for x in r[7:10])
            task = t - ser
        per.append((calls[k][0], calls[k][1], t, task, span, int(r[4]) / runs, int(r[5]) / runs))
    total = sum(p[2] for p in per)
    serial = sum(p[2] - p[3] for p in per)
    pred = sum(p[2] - p[3] + p[4] for p in per)
    fors = sum(p[5] for p in per)
    by = {}
    for kern, _, t, task, span, nf, nt in per:
        b = by.setdefault(kern, [0, 0.0, 0.0, 0.0, 0.0])
        b[0] += 1
        b[1] += t
        b[2] += t - task
        b[3] += t - task + span
        b[4] += nf
    print(f"{a.model}: {len(calls)} kernel calls, {runs} runs ({a.stat} per call), --threads {a.threads} "
          f"{' '.join(extra)}")
    print(f"{'kernel':28s} {'calls':>5s} {'1-thread us':>11s} {'share':>6s} {'serial us':>9s} "
          f"{'pred us':>8s} {'splits':>6s}")
    for kern, b in sorted(by.items(), key=lambda kv: -kv[1][1]):
        print(f"{kern:28s} {b[0]:5d} {b[1]:11.1f} {100 * b[1] / total:5.1f}% {b[2]:9.1f} {b[3]:8.1f} {b[4]:6.0f}")
    print(f"one thread {total:.1f} us; serial (outside parallel tasks) {serial:.1f} us = "
          f"{100 * serial / total:.1f}%; parallel-for calls per run {fors:.0f}")
    amdahl = 1.0 / (serial / total + (1 - serial / total) / a.threads)
    print(f"predicted on {a.threads} threads (no pool cost) {pred:.1f} us: speed-up {total / pred:.2f}x "
          f"(Amdahl bound {amdahl:.2f}x)")
    if a.detail:
        print(f"{'1-thread us':>11s} {'in tasks':>8s} {'makespan':>8s} {'tasks':>5s}  call")
        for kern, node, t, task, span, nf, nt in per:
            print(f"{t:11.2f} {task:8.2f} {span:8.2f} {nt:5.0f}  {kern} {node}")
    print(f"largest serial calls:")
    for kern, node, t, task, span, nf, nt in sorted(per, key=lambda p: -(p[2] - p[3]))[:a.top]:
        print(f"  {t - task:8.1f} us  {kern:22s} {node}")
    need = [k for k in a.require_split.split(",") if k]
    missing = [k for k in need if k not in by]
    serial_calls = [f"{kern} {node}" for kern, node, _, _, _, nf, _ in per if kern in need and nf == 0]
    if missing or serial_calls:
        sys.exit("--require-split: " + "; ".join([f"no {k} call" for k in missing] +
                                                 [f"not split: {c}" for c in serial_calls]))
    if need:
        print(f"every call of {', '.join(need)} split")


if __name__ == "__main__":
    main()
