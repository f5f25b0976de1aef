#!/usr/bin/python3
"""ONNX conformance runner for qcc.

Runs the ONNX backend test data (Debian's libonnx-testdata) through qcc in two
ways and checks both against the expected outputs:

  1. compiled:  qcc MODEL.onnx -o m.c --emit-main main.c; cc ...; ./prog IN.npy ... --out DIR
  2. evaluator: qcc run MODEL.onnx --input NAME=IN.npy ... --out-dir DIR

Tolerance (the same as ONNX's own backend tests, onnx/backend/test/runner):
    floating point outputs: |got - want| <= ATOL + RTOL * |want|, RTOL = 1e-3, ATOL = 1e-7,
                            NaN positions must match, infinities must be equal;
    bool / integer outputs: exact;
    bfloat16 outputs (stored as their uint16 bits): at most one unit in the last
                            place apart, NaN positions must match, infinities must be
                            equal.  The suite's expected bfloat16 values come from
                            truncating float32 (onnx 1.12's cast.py); ONNX's reference
                            (onnx.helper.float32_to_bfloat16) and qcc round to nearest
                            even, which is one unit above truncation or equal to it.

Tests whose models are out of scope for qcc are skipped by the rules in
SKIP_RULES, decided by inspecting the model (op types, attributes, value types).

Bound inputs: qcc compiles static shapes ahead of time, so an operand that
decides an output shape by its values (Slice starts, Pad pads, ReduceSum axes,
Compress condition, ...) must be a compile-time constant.  When the compile
fails with "input I (...) must be a compile-time constant" and that operand of
the named node is a graph input or is computed from graph inputs (e.g.
Range's limit as Cast(x)), the runner binds those inputs to their values in
test_data_set_0 (`--bind NAME=FILE.npy`, the .pb converted to .npy) and
compiles again, until the compile succeeds or the error names no further such
input.  Bound inputs
are not passed to the program or to `qcc run` (which gets the same --bind
flags); the result records them ("bound": names, reason "bound: a, b"), and
the summary counts the tests that passed with bound inputs.

Usage: /usr/bin/python3 test/conformance/run.py [--suite node|pytorch-converted|pytorch-operator|simple|all]
           [--filter SUBSTRING] [--jobs N] [--timeout SECONDS] [--list-failures-by-reason] [--json FILE]
           [--qcc PATH] [--write-passing FILE] [--check-passing FILE]
Prints one line per failing test, then `N passed (N with bound inputs), N failed, N skipped`.
Exit status: 0 if nothing failed, 1 otherwise.  With --check-passing FILE (the
CI regression gate, see docs/conformance.md): 1 only if a test listed in FILE
(one SUITE/NAME per line, as written by --write-passing) was run and did not
pass, 0 otherwise.
"""

import argparse
import collections
import glob
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RTOL = 1e-3
ATOL = 1e-7

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
QCC = os.environ.get("QCC", os.path.join(ROOT, "build", "qcc"))
CC = os.environ.get("CC", "cc")
# -O0: the tests are tiny, so compile time dominates (see docs/conformance.md).
CFLAGS = os.environ.get("QCC_CONFORMANCE_CFLAGS", "-std=c99 -O0").split()
DATA = os.environ.get("ONNX_TESTDATA", "/usr/share/libonnx-testdata/data")

# Every INLINE_EVERY-th test (in sorted order) pastes the runtime into its
# generated C (--runtime=inline, the default build); the others include
# "qrt.h" (--runtime=external) and link one build of runtime/ made at the
# start with the same compiler flags, so that each test compiles only its
# model's code: the pasted kernels were most of each compile (about three
# quarters of the sanitized builds of quantized.py).  Same sources, same
# flags, so the same bits; the sample keeps the pasted form exercised on
# models of every kind.
INLINE_EVERY = 8


def build_runtime_lib(cc, cflags, jobs):
    """runtime/qrt_*.c compiled with cflags into a static library in a new
    temporary directory; returns the library's path (its directory is the
    caller's to remove)."""
    import concurrent.futures
    out = tempfile.mkdtemp(prefix="qcc-conf-rt-")
    srcs = sorted(glob.glob(os.path.join(ROOT, "runtime", "qrt_*.c")))

    def compile_one(src):
        obj = os.path.join(out, os.path.basename(src)[:-2] + ".o")
        p = subprocess.run([cc] + cflags + ["-I", os.path.join(ROOT, "runtime"), "-c", src, "-o", obj],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode:
            sys.exit("cannot build the runtime library: %s" % p.stdout.strip()[-300:])
        return obj

    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
        objs = list(ex.map(compile_one, srcs))
    lib = os.path.join(out, "libqrt.a")
    subprocess.run(["ar", "rcs", lib] + objs, check=True)
    return lib


def runtime_flags(inline, lib):
    """(qcc flags, extra cc arguments) of a test's build: pasted runtime,
    or the prebuilt library (lib None: always pasted)."""
    if inline or not lib:
        return [], []
    return ["--runtime=external"], ["-I", os.path.join(ROOT, "runtime"), lib]
SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]

# ---------------------------------------------------------------------------
# Skip rules: out of scope for qcc.  Each rule is decided from the model.
# ---------------------------------------------------------------------------
SKIP_RULES = {
    "training": "training ops are out of scope (Adagrad/Adam/Momentum/Gradient, the "
                "ai.onnx.preview.training domain, Dropout or BatchNormalization in training mode, "
                "including is_test=0 before opset 7)",
    "non-tensor-type": "sequence/optional/map types are out of scope",
    "string": "string tensors are out of scope",
    "random": "random ops are out of scope (RandomNormal*, RandomUniform*, Bernoulli, Multinomial)",
    "control-flow": "graph attributes of ops other than If, Loop and Scan",
    "invalid-test-data": "an input in test_data_set_* contradicts the static shape the model declares "
                         "for it (no compiled program, nor ONNX Runtime, accepts it)",
}

TRAINING_OPS = {"Adagrad", "Adam", "Momentum", "Gradient"}
TRAINING_DOMAINS = {"ai.onnx.preview.training"}
RANDOM_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
              "Bernoulli", "Multinomial"}
# Ops whose inputs or outputs are sequences/optionals (caught by value types
# where the model declares them; these catch the undeclared intermediates).
NON_TENSOR_OPS = {"SequenceConstruct", "SequenceEmpty", "SequenceInsert", "SequenceAt",
                  "SequenceErase", "SequenceLength", "SplitToSequence", "ConcatFromSequence",
                  "Optional", "OptionalGetElement", "OptionalHasElement"}
STRING_OPS = {"StringNormalizer"}


def _value_type_problem(tp):
    """Skip rule for a TypeProto, or None for a plain non-string tensor."""
    kind = tp.WhichOneof("value")
    if kind is None:
        return None
    if kind != "tensor_type":
        return "non-tensor-type"
    if tp.tensor_type.elem_type == 8:  # STRING
        return "string"
    return None


def skip_rule(model):
    """The SKIP_RULES key that applies to MODEL, or None."""
    opset = ([o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] or [0])[0]
    return _graph_rule(model.graph, opset)


def _graph_rule(g, opset):
    """skip_rule for graph G; If branches and Loop/Scan bodies are checked like the main graph."""
    for v in list(g.input) + list(g.output) + list(g.value_info):
        r = _value_type_problem(v.type)
        if r:
            return r
    for t in g.initializer:
        if t.data_type == 8:
            return "string"
    const_false = set()
    for t in g.initializer:
        if t.data_type == 9 and len(t.int32_data) == 1 and not t.int32_data[0]:
            const_false.add(t.name)
        elif t.data_type == 9 and t.raw_data == b"\x00":
            const_false.add(t.name)
    for n in g.node:
        if (opset < 7 and n.op_type in ("BatchNormalization", "Dropout")
                and not any(a.name == "is_test" and a.i for a in n.attribute)):
            return "training"  # before opset 7, is_test=0 (the default) is training mode
        if n.domain in TRAINING_DOMAINS or n.op_type in TRAINING_OPS:
            return "training"
        if n.op_type in RANDOM_OPS:
            return "random"
        if n.op_type in NON_TENSOR_OPS:
            return "non-tensor-type"
        if n.op_type in STRING_OPS:
            return "string"
        for a in n.attribute:
            if ((n.op_type == "If" and a.name in ("then_branch", "else_branch")) or
                    (n.op_type in ("Loop", "Scan") and a.name == "body")) and a.type == 5:
                r = _graph_rule(a.g, opset)
                if r:
                    return r
                continue
            if a.type in (5, 10) or a.g.ByteSize() or len(a.graphs):  # GRAPH, GRAPHS
                return "control-flow"
            if a.name == "value" and a.t.data_type == 8 and n.op_type == "Constant":
                return "string"
            if n.op_type == "Cast" and a.name == "to" and a.i == 8:
                return "string"
            if n.op_type == "BatchNormalization" and a.name == "training_mode" and a.i:
                return "training"
        if n.op_type == "Dropout" and len(n.input) >= 3 and n.input[2] and n.input[2] not in const_false:
            return "training"
    return None


# ---------------------------------------------------------------------------
# Running one test
# ---------------------------------------------------------------------------
class Fail(Exception):
    def __init__(self, kind, detail=""):
        Exception.__init__(self, kind)
        self.kind = kind      # category: unsupported op, compile error, cc error, crash, timeout, wrong result, evaluator differs
        self.detail = detail  # the rest of the line

    def line(self):
        if not self.detail:
            return self.kind
        sep = " " if self.kind == "unsupported op" or self.detail.startswith("at ") else ": "
        return self.kind + sep + self.detail


def sanitize(name):
    return re.sub(r"[^A-Za-z0-9.-]", "_", name)


def first_error_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    for l in lines:
        if "error" in l:
            return l.strip()
    return lines[0].strip() if lines else ""


def run_proc(argv, deadline, cwd=None):
    left = deadline - time.monotonic()
    if left <= 0:
        raise Fail("timeout", "per-test time limit")
    try:
        p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=left, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise Fail("timeout", "%s ran past the per-test time limit" % os.path.basename(argv[0]))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def fmt_val(x):
    if isinstance(x, float):
        return "%.9g" % x
    return repr(x)


def bf16_close(np, g, w):
    """Element-wise match of bfloat16 bit patterns (uint16 arrays): at most
    one unit in the last place apart, NaNs where the other is NaN, infinities
    equal (see the module docstring)."""
    g, w = g.astype(np.int64), w.astype(np.int64)
    gn = ((g & 0x7f80) == 0x7f80) & ((g & 0x7f) != 0)
    wn = ((w & 0x7f80) == 0x7f80) & ((w & 0x7f) != 0)
    inf = ((g & 0x7fff) == 0x7f80) | ((w & 0x7fff) == 0x7f80)
    # codes in value order: sign and magnitude to a signed integer (+0 == -0)
    gv = np.where(g & 0x8000, -(g & 0x7fff), g)
    wv = np.where(w & 0x8000, -(w & 0x7fff), w)
    return np.where(gn | wn, gn == wn, np.where(inf, g == w, np.abs(gv - wv) <= 1))


def compare(np, got, want, what, bf16=False):
    """None if GOT matches WANT, else a reason string.  BF16: the output is
    bfloat16, both arrays hold its bits as uint16."""
    if got.dtype != want.dtype:
        return "%s dtype %s, want %s" % (what, got.dtype, want.dtype)
    if got.shape != want.shape:
        return "%s shape %s, want %s" % (what, tuple(got.shape), tuple(want.shape))
    g = got.reshape(-1)
    w = want.reshape(-1)
    if bf16 and want.dtype == np.uint16:
        ok = bf16_close(np, g, w)
    elif want.dtype.kind in "fc":
        g = g.astype(np.complex128 if want.dtype.kind == "c" else np.float64)
        w = w.astype(np.complex128 if want.dtype.kind == "c" else np.float64)
        gn, wn = np.isnan(g), np.isnan(w)
        with np.errstate(invalid="ignore", over="ignore"):
            inf = np.isinf(g) | np.isinf(w)
            close = np.abs(g - w) <= ATOL + RTOL * np.abs(w)
        ok = np.where(gn | wn, gn == wn, np.where(inf, g == w, close))
    else:
        ok = g == w
    if ok.all():
        return None
    i = int(np.argmin(ok))
    gi, wi = g[i].item(), w[i].item()
    return "%s at index %d (got %s, want %s)" % (what, i, fmt_val(gi), fmt_val(wi))


def data_contradicts_model(onnx, model, in_names, sets):
    """A reason string if an input of a test_data_set has a shape the model
    declares otherwise (rank, or a dim given as a number), else None."""
    declared = {v.name: v.type.tensor_type for v in model.graph.input if v.type.HasField("tensor_type")}
    for sdir in sets:
        for i, name in enumerate(in_names):
            p = os.path.join(sdir, "input_%d.pb" % i)
            tt = declared.get(name)
            if not os.path.exists(p) or tt is None or not tt.HasField("shape"):
                continue
            t = onnx.TensorProto()
            with open(p, "rb") as f:
                t.ParseFromString(f.read())
            want = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            if len(want) != len(t.dims) or any(d is not None and d != g for d, g in zip(want, t.dims)):
                return "%s input '%s' has shape %s, the model declares %s" % (
                    os.path.basename(sdir), name, list(t.dims), ["?" if d is None else d for d in want])
    return None


def read_pb(onnx, nh, path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return nh.to_array(t)


CONST_OPERAND = re.compile(r"^(\w+)(?: node '([^']*)')? \(opset \d+\): input (\d+)\b.*must be a compile-time constant")


def inputs_to_bind(model, line, bindable, bound):
    """Graph inputs that LINE (a qcc compile error, without "qcc: error: ")
    says must be compile-time constants: operand I of the named node (of every
    node of that op type when the node has no name) where it is a graph input
    in BINDABLE and not yet in BOUND.  [] when the error is anything else."""
    m = CONST_OPERAND.match(line)
    if not m:
        return []
    op, node_name, i = m.group(1), m.group(2), int(m.group(3))
    producer = {o: n for n in model.graph.node for o in n.output}
    new = []

    def visit(v, seen):
        # the graph inputs v is computed from (its whole ancestor cone)
        if v in seen:
            return
        seen.add(v)
        if v in bindable and v not in bound and v not in new:
            new.append(v)
        elif v in producer:
            for u in producer[v].input:
                visit(u, seen)

    for n in model.graph.node:
        if n.op_type == op and (node_name is None or n.name == node_name) and i < len(n.input):
            visit(n.input[i], set())
    return new


def run_test(args):
    """Worker: run one test dir. Returns a dict (pickled back to the parent)."""
    suite, tdir, timeout, qcc, inline, lib = args
    rt_qcc, rt_cc = runtime_flags(inline, lib)
    import numpy as np
    import onnx
    from onnx import numpy_helper as nh

    name = os.path.basename(tdir)
    res = {"suite": suite, "name": name, "status": "fail", "reason": "", "kind": "", "ops": [], "bound": []}
    t0 = time.monotonic()
    deadline = t0 + timeout
    tmp = None
    try:
        model_path = os.path.join(tdir, "model.onnx")
        try:
            model = onnx.load(model_path)
        except Exception as e:  # noqa: BLE001
            raise Fail("compile error", "cannot load model with onnx: %s" % e)
        res["ops"] = sorted({n.op_type for n in model.graph.node})
        rule = skip_rule(model)
        if rule:
            res["status"], res["kind"], res["reason"] = "skip", rule, SKIP_RULES[rule]
            return res
        inits = {t.name for t in model.graph.initializer}
        in_names = [v.name for v in model.graph.input if v.name not in inits]
        out_names = [v.name for v in model.graph.output]
        out_bf16 = [v.type.tensor_type.elem_type == 16 for v in model.graph.output]  # BFLOAT16
        sets = sorted(glob.glob(os.path.join(tdir, "test_data_set_*")))
        why = data_contradicts_model(onnx, model, in_names, sets)
        if why:
            res["status"], res["kind"], res["reason"] = "skip", "invalid-test-data", why
            return res

        tmp = tempfile.mkdtemp(prefix="qcc-conf-")
        # 1. compile, binding graph inputs that must be constants (docstring)
        bound, bind_args = [], []
        while True:
            rc, _, err = run_proc([qcc, model_path, "-o", os.path.join(tmp, "m.c"),
                                   "--emit-main", os.path.join(tmp, "main.c")] + rt_qcc + bind_args, deadline)
            if rc == 0:
                break
            line = first_error_line(err) or "qcc exited with status %d" % rc
            line = re.sub(r"^qcc: error: ", "", line)
            new = inputs_to_bind(model, line, in_names, bound) if sets else []
            if not new:
                m = re.search(r"unsupported op '([^']+)'", line)
                if m:
                    raise Fail("unsupported op", m.group(1))
                raise Fail("compile error", line)
            for v in new:
                f = os.path.join(tmp, "bound_%d.npy" % in_names.index(v))
                np.save(f, read_pb(onnx, nh, os.path.join(sets[0], "input_%d.pb" % in_names.index(v))))
                bind_args += ["--bind", "%s=%s" % (v, f)]
            bound += new
        res["bound"] = bound
        prog = os.path.join(tmp, "prog")
        rc, out, err = run_proc([CC] + CFLAGS + ["-o", prog, os.path.join(tmp, "m.c"),
                                                  os.path.join(tmp, "main.c")] + rt_cc + ["-lm"], deadline)
        if rc != 0:
            raise Fail("cc error", first_error_line(err + out))

        ev_fail = None
        for si, sdir in enumerate(sets):
            sname = os.path.basename(sdir)
            ins = sorted(glob.glob(os.path.join(sdir, "input_*.pb")),
                         key=lambda p: int(re.search(r"input_(\d+)", p).group(1)))
            outs = sorted(glob.glob(os.path.join(sdir, "output_*.pb")),
                          key=lambda p: int(re.search(r"output_(\d+)", p).group(1)))
            in_files = []  # the inputs that are not bound, in order
            for i, p in enumerate(ins):
                arr = read_pb(onnx, nh, p)
                if i < len(in_names) and in_names[i] in bound:
                    if si and not np.array_equal(arr, np.load(os.path.join(tmp, "bound_%d.npy" % i))):
                        raise Fail("runner error", "%s: bound input %s differs from test_data_set_0"
                                   % (sname, in_names[i]))
                    continue
                f = os.path.join(tmp, "s%d_in%d.npy" % (si, i))
                np.save(f, arr)
                in_files.append(f)
            wants = [read_pb(onnx, nh, p) for p in outs]
            where = "%s " % sname if len(sets) > 1 else ""

            # compiled program
            odir = os.path.join(tmp, "out%d" % si)
            os.mkdir(odir)
            rc, out, err = run_proc([prog] + in_files + ["--out", odir], deadline)
            if rc != 0:
                how = ("signal %s" % signal.Signals(-rc).name) if rc < 0 else ("exit status %d" % rc)
                msg = first_error_line(err)
                raise Fail("crash", "%s%s%s" % (where, how, (": " + msg) if msg else ""))
            for k, want in enumerate(wants):
                f = os.path.join(odir, "out%d.npy" % k)
                if not os.path.exists(f):
                    raise Fail("crash", "%sprogram wrote no out%d.npy" % (where, k))
                why = compare(np, np.load(f), want, "%sout%d" % (where, k) if len(wants) > 1 or where else "",
                              k < len(out_bf16) and out_bf16[k])
                if why:
                    raise Fail("wrong result", why.strip())

            # evaluator
            if ev_fail is None:
                edir = os.path.join(tmp, "ev%d" % si)
                os.mkdir(edir)
                argv = [qcc, "run", model_path] + bind_args
                for n_, f in zip([n_ for n_ in in_names if n_ not in bound], in_files):
                    argv += ["--input", "%s=%s" % (n_, f)]
                argv += ["--out-dir", edir]
                rc, _, err = run_proc(argv, deadline)
                if rc != 0:
                    ev_fail = "%sqcc run failed: %s" % (where, first_error_line(err) or "status %d" % rc)
                    continue
                for k, want in enumerate(wants):
                    f = os.path.join(edir, sanitize(out_names[k]) + ".npy")
                    if not os.path.exists(f):
                        ev_fail = "%sqcc run wrote no %s" % (where, os.path.basename(f))
                        break
                    why = compare(np, np.load(f), want, "%sout%d" % (where, k) if len(wants) > 1 or where else "",
                                  k < len(out_bf16) and out_bf16[k])
                    if why:
                        ev_fail = why.strip()
                        break
        if ev_fail:
            raise Fail("evaluator differs", ev_fail)
        res["status"] = "pass"
        if bound:
            res["reason"] = "bound: " + ", ".join(bound)
    except Fail as f:
        res["kind"], res["reason"] = f.kind, f.line()
    except Exception as e:  # noqa: BLE001  (a bug in the runner or unreadable data)
        res["kind"], res["reason"] = "runner error", "runner error: %s: %s" % (type(e).__name__, e)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        res["seconds"] = round(time.monotonic() - t0, 3)
    return res


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------
def discover(suite, filt):
    suites = SUITES if suite == "all" else [suite]
    tests = []
    for s in suites:
        for d in sorted(glob.glob(os.path.join(DATA, s, "*"))):
            if os.path.isfile(os.path.join(d, "model.onnx")) and (not filt or filt in "%s/%s" % (s, os.path.basename(d))):
                tests.append((s, d))
    return tests


def run_all(tests, jobs, timeout, qcc=None, all_inline=False):
    lib = None if all_inline else build_runtime_lib(CC, CFLAGS, jobs)
    work = [(s, d, timeout, qcc or QCC, i % INLINE_EVERY == 0, lib) for i, (s, d) in enumerate(tests)]
    try:
        if jobs <= 1:
            return [run_test(w) for w in work]
        with multiprocessing.Pool(jobs) as pool:
            return list(pool.imap_unordered(run_test, work, chunksize=1))
    finally:
        if lib:
            shutil.rmtree(os.path.dirname(lib), ignore_errors=True)


def normalize_error(msg):
    msg = re.sub(r"(/[^\s:']+)+", "MODEL", msg)
    msg = re.sub(r" node '[^']*'", "", msg)
    return msg


def summarize(results, top=None):
    """Failure-reason summary lines (the --list-failures-by-reason table)."""
    lines = []
    fails = [r for r in results if r["status"] == "fail"]
    skips = [r for r in results if r["status"] == "skip"]

    def table(title, counter, extra=None):
        if not counter:
            return
        lines.append("")
        lines.append(title)
        items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        if top:
            items = items[:top]
        for k, v in items:
            lines.append("  %5d  %s%s" % (v, k, extra(k) if extra else ""))

    table("failures by category:", collections.Counter(r["kind"] for r in fails))

    # Ops that some test got through qcc's compile step with: known supported.
    compiled_ok = set()
    for r in results:
        if r["status"] == "pass" or r["kind"] in ("cc error", "crash", "wrong result", "evaluator differs"):
            compiled_ok.update(r["ops"])
    unsup = collections.Counter()
    unlock = collections.Counter()
    for r in fails:
        if r["kind"] == "unsupported op":
            op = r["reason"].split()[-1]
            unsup[op] += 1
            missing = set(r["ops"]) - compiled_ok
            missing.add(op)
            if len(missing) == 1:
                unlock[op] += 1
    table("unsupported ops (tests failing on it first; tests it alone blocks):", unsup,
          lambda op: "  (unlocks %d)" % unlock[op])
    table("compile errors by message:",
          collections.Counter(normalize_error(r["reason"][len("compile error: "):]) for r in fails
                              if r["kind"] == "compile error"))

    def by_op(kind):
        return collections.Counter("+".join(o for o in r["ops"] if o != "Constant") or "Constant"
                                   for r in fails if r["kind"] == kind)
    table("wrong results by op:", by_op("wrong result"))
    table("evaluator differs by op:", by_op("evaluator differs"))
    table("crashes by op:", by_op("crash"))
    table("cc errors by op:", by_op("cc error"))
    table("timeouts by op:", by_op("timeout"))
    table("runner errors:", collections.Counter(r["reason"] for r in fails if r["kind"] == "runner error"))
    table("skipped by rule:", collections.Counter(r["kind"] for r in skips),
          lambda k: "  (%s)" % SKIP_RULES[k])
    return lines


def main(argv=None):
    global QCC
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", default="all", choices=SUITES + ["all"])
    ap.add_argument("--filter", default="", help="only tests whose SUITE/NAME contains this")
    ap.add_argument("--jobs", type=int, default=2, help="parallel tests (default 2)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per test (default 60)")
    ap.add_argument("--list-failures-by-reason", action="store_true", help="print a summary table of failure reasons")
    ap.add_argument("--top", type=int, default=0, help="with --list-failures-by-reason: rows per table (0: all)")
    ap.add_argument("--json", metavar="FILE", help="also write every test's result to FILE")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print passing and skipped tests")
    ap.add_argument("--qcc", metavar="PATH", help="the qcc binary (default: $QCC or build/qcc)")
    ap.add_argument("--all-inline", action="store_true",
                    help="paste the runtime into every test's C (default: every %dth; the others link one "
                         "build of runtime/)" % INLINE_EVERY)
    ap.add_argument("--write-passing", metavar="FILE", help="write the passing tests' SUITE/NAME to FILE")
    ap.add_argument("--check-passing", metavar="FILE",
                    help="regression gate: exit 1 only if a test listed in FILE no longer passes")
    a = ap.parse_args(argv)
    if a.qcc:
        QCC = os.path.abspath(a.qcc)

    if not os.access(QCC, os.X_OK):
        sys.exit("run.py: %s not found; build qcc first (cmake --build build)" % QCC)
    t0 = time.monotonic()
    tests = discover(a.suite, a.filter)
    # Run a private copy of qcc, so that a rebuild during the run cannot break it.
    snap = tempfile.mkdtemp(prefix="qcc-conf-bin-")
    try:
        shutil.copy2(QCC, os.path.join(snap, "qcc"))
        QCC = os.path.join(snap, "qcc")
        results = run_all(tests, max(1, a.jobs), a.timeout, QCC, a.all_inline)
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    results.sort(key=lambda r: (SUITES.index(r["suite"]), r["name"]))
    wall = time.monotonic() - t0

    for r in results:
        if r["status"] == "fail":
            print("FAIL %s/%s: %s%s" % (r["suite"], r["name"], r["reason"],
                                        " [bound: %s]" % ", ".join(r["bound"]) if r["bound"] else ""))
        elif a.verbose:
            print("%s %s/%s%s" % (r["status"].upper(), r["suite"], r["name"],
                                  (": " + r["kind"]) if r["status"] == "skip" else
                                  (": " + r["reason"]) if r["reason"] else ""))
    counts = collections.Counter(r["status"] for r in results)
    if a.suite == "all":
        print("")
        for s in SUITES:
            c = collections.Counter(r["status"] for r in results if r["suite"] == s)
            print("  %-18s %4d passed, %4d failed, %4d skipped" % (s, c["pass"], c["fail"], c["skip"]))
    if a.list_failures_by_reason:
        for l in summarize(results, a.top or None):
            print(l)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"wall_seconds": round(wall, 2), "rtol": RTOL, "atol": ATOL, "results": results}, f, indent=1)
    print("")
    print("wall time %.1fs, %d jobs" % (wall, a.jobs))
    n_bound = sum(1 for r in results if r["status"] == "pass" and r["bound"])
    print("%d passed (%d with bound inputs), %d failed, %d skipped"
          % (counts["pass"], n_bound, counts["fail"], counts["skip"]))
    passing = sorted("%s/%s" % (r["suite"], r["name"]) for r in results if r["status"] == "pass")
    if a.write_passing:
        with open(a.write_passing, "w") as f:
            f.write("".join(t + "\n" for t in passing))
        print("wrote %d passing tests to %s" % (len(passing), a.write_passing))
    if a.check_passing:
        with open(a.check_passing) as f:
            listed = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        by_name = {"%s/%s" % (r["suite"], r["name"]): r for r in results}
        ran = [t for t in listed if t in by_name]
        lost = [t for t in ran if by_name[t]["status"] != "pass"]
        new = sorted(set(passing) - set(listed))
        for t in lost:
            print("REGRESSION %s: %s" % (t, by_name[t]["reason"] or by_name[t]["status"]))
        print("check-passing: %d of %d listed tests ran, %d regressed; %d pass but are not listed%s"
              % (len(ran), len(listed), len(lost), len(new),
                 " (update with --write-passing)" if new else ""))
        return 1 if lost else 0
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
