#!/usr/bin/python3
"""Models with ONNX Loop and Scan for loop.test, with inputs and numpy's
expected outputs (ONNX semantics written out by hand).

  loop_models.py DIR     writes into DIR:
    rnn.onnx   a tanh RNN as Scan (opset 17): state h [2, 3], scan input
        x [2, 5, 4] read along axis 1 backwards (scan_input_directions 1);
        body h' = tanh(x_t W + h U + b), y_t = 2 h'; scan outputs y along
        axis 1 [2, 5, 3] and h' along axis 0 reversed [5, 2, 3] (the
        weights are outer initializers, read from inside the body)
    acc.onnx   Loop (M = 4, cond true, both initializers): carried acc
        [1, 3]; body row = Gather(table, i), a = 0.5 acc + row + x (x an
        outer graph input), then a nested If(i mod 2 == 0) adding +1 / -1;
        cond_out = i < 2, so the body's condition ends it after 3 of the 4
        iterations; scan output: acc per iteration [3, 1, 3]
    trip.onnx  acc.onnx with M a graph input (bind it: trip3.npy)
    rt_cond.onnx  a Loop (M = 8) whose condition depends on the input's
        values (v doubles while sum(v) < 10): not unrolled, a C loop with
        --unroll-max-ops 0; rt_x.npy, want_rt.npy
    while.onnx  the same Loop without M: a C loop bounded by its condition
    long.onnx  a Loop of 10^6 iterations whose body slices by the
        iteration number: neither a C loop nor within the unrolling budget
    big_loop.onnx  Loop, M = 5000 (a C loop): carried a, b [4] where b
        takes a's old value (a' = 0.5 a + 0.25 b + (i / 5000) w, b' = a, w
        an outer graph input, i the iteration number), scan output sum(a')
        [5000]; and sel = If(flag): a Loop of 3 iterations over a Loop of
        2000 (nested C loops, reading w), else 2 w; bl_w.npy,
        bl_true/false.npy, want_bl_*.npy
    big_scan.onnx  rnn.onnx's tanh RNN over 3000 steps (a C loop): scan
        input x [2, 3000, 4] read backwards along axis 1, outputs on axis 1
        and reversed on axis 0; bs_x.npy, bs_h0.npy, bs_calib/, want_bs_*.npy
    x.npy (rnn), h0.npy, calib/ (8 samples for rnn.onnx), ax.npy (acc),
    want_*.npy
  loop_models.py --compare GOT.npy WANT.npy [TOL]
    prints "equal" if dtype and shape agree and every element is within
    TOL (default 0: exact), else why.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from if_models import compare  # noqa: E402  (the same --compare as if.test's)

OPSET = [helper.make_opsetid("", 17)]
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def save(g, path):
    m = helper.make_model(g, opset_imports=OPSET)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def rnn(d, rng, steps=5, prefix="", name="rnn"):
    W = rng.standard_normal((4, 3)).astype(np.float32) * 0.5
    U = rng.standard_normal((3, 3)).astype(np.float32) * 0.5
    b = rng.standard_normal(3).astype(np.float32) * 0.1
    body = helper.make_graph(
        [helper.make_node("MatMul", ["xt", "W"], ["xw"]),
         helper.make_node("MatMul", ["h", "U"], ["hu"]),
         helper.make_node("Add", ["xw", "hu"], ["s0"]),
         helper.make_node("Add", ["s0", "b"], ["s1"]),
         helper.make_node("Tanh", ["s1"], ["h2"]),
         helper.make_node("Add", ["h2", "h2"], ["y"]),
         helper.make_node("Identity", ["h2"], ["hs"])],
        "rnn_body", [vi("h", F, [2, 3]), vi("xt", F, [2, 4])],
        [vi("h2", F, [2, 3]), vi("y", F, [2, 3]), vi("hs", F, [2, 3])])
    scan = helper.make_node("Scan", ["h0", "x"], ["hT", "ys", "hss"], name=name, body=body, num_scan_inputs=1,
                            scan_input_axes=[1], scan_input_directions=[1], scan_output_axes=[1, 0],
                            scan_output_directions=[0, 1])
    g = helper.make_graph([scan], name, [vi("h0", F, [2, 3]), vi("x", F, [2, steps, 4])],
                          [vi("hT", F, [2, 3]), vi("ys", F, [2, steps, 3]), vi("hss", F, [steps, 2, 3])],
                          [numpy_helper.from_array(W, "W"), numpy_helper.from_array(U, "U"),
                           numpy_helper.from_array(b, "b")])
    save(g, os.path.join(d, name + ".onnx"))
    x = rng.standard_normal((2, steps, 4)).astype(np.float32)
    h0 = rng.standard_normal((2, 3)).astype(np.float32) * 0.3
    np.save(os.path.join(d, prefix + "x.npy"), x)
    np.save(os.path.join(d, prefix + "h0.npy"), h0)
    os.makedirs(os.path.join(d, prefix + "calib"), exist_ok=True)
    np.save(os.path.join(d, prefix + "calib", "x.npy"), rng.standard_normal((8, 2, steps, 4)).astype(np.float32))
    np.save(os.path.join(d, prefix + "calib", "h0.npy"), (rng.standard_normal((8, 2, 3)) * 0.3).astype(np.float32))
    h = h0.astype(np.float64)
    ys, hs = [], []
    for t in range(steps):
        xt = x[:, steps - 1 - t, :].astype(np.float64)  # backwards along axis 1
        h = np.tanh(xt @ W + h @ U + b)
        ys.append(2 * h)
        hs.append(h)
    np.save(os.path.join(d, "want_" + prefix + "hT.npy"), np.asarray(h, np.float32))
    np.save(os.path.join(d, "want_" + prefix + "ys.npy"), np.asarray(np.stack(ys, axis=1), np.float32))
    np.save(os.path.join(d, "want_" + prefix + "hss.npy"), np.asarray(np.stack(hs[::-1], axis=0), np.float32))


def acc_body():
    two = numpy_helper.from_array(np.array(2, np.int64), "two")
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    then_g = helper.make_graph([helper.make_node("Add", ["a", "one_f"], ["t_out"])], "then", [],
                               [vi("t_out", F, [1, 3])])
    else_g = helper.make_graph([helper.make_node("Sub", ["a", "one_f"], ["e_out"])], "else", [],
                               [vi("e_out", F, [1, 3])])
    nodes = [
        helper.make_node("Gather", ["table", "i"], ["row"], axis=0),
        helper.make_node("Mul", ["acc", "half"], ["h"]),
        helper.make_node("Add", ["h", "row"], ["hr"]),
        helper.make_node("Add", ["hr", "x"], ["a"]),
        helper.make_node("Mod", ["i", "two"], ["par"]),
        helper.make_node("Equal", ["par", "zero"], ["even"]),
        helper.make_node("If", ["even"], ["a2"], name="parity", then_branch=then_g, else_branch=else_g),
        helper.make_node("Less", ["i", "two"], ["go"]),
        helper.make_node("Identity", ["a2"], ["scan_a"]),
    ]
    return helper.make_graph(nodes, "acc_body", [vi("i", I64, []), vi("c", B, []), vi("acc", F, [1, 3])],
                             [vi("go", B, []), vi("a2", F, [1, 3]), vi("scan_a", F, [1, 3])], [two, half])


def acc(d, rng):
    table = rng.standard_normal((6, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array(4, np.int64), "M"),
             numpy_helper.from_array(np.array(True), "cond"), numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one_f"),
             numpy_helper.from_array(np.zeros((1, 3), np.float32), "acc0")]
    loop = helper.make_node("Loop", ["M", "cond", "acc0"], ["accT", "accs"], name="acc", body=acc_body())
    outs = [vi("accT", F, [1, 3]), vi("accs", F, [3, 1, 3])]
    save(helper.make_graph([loop], "acc", [vi("x", F, [1, 3])], outs, inits), os.path.join(d, "acc.onnx"))
    # The same with M a graph input.
    loop_m = helper.make_node("Loop", ["m", "cond", "acc0"], ["accT", "accs"], name="acc", body=acc_body())
    save(helper.make_graph([loop_m], "trip", [vi("x", F, [1, 3]), vi("m", I64, [])], outs,
                           [t for t in inits if t.name != "M"]), os.path.join(d, "trip.onnx"))
    np.save(os.path.join(d, "trip3.npy"), np.array(3, np.int64))
    x = rng.standard_normal((1, 3)).astype(np.float32)
    np.save(os.path.join(d, "ax.npy"), x)
    a = np.zeros((1, 3))
    hist = []
    for i in range(4):
        a = 0.5 * a + table[i] + x
        a = a + 1 if i % 2 == 0 else a - 1
        hist.append(a)
        if not i < 2:
            break
    np.save(os.path.join(d, "want_accT.npy"), np.asarray(a, np.float32))
    np.save(os.path.join(d, "want_accs.npy"), np.asarray(np.stack(hist), np.float32))


def big_loop(d, rng):
    """Loop, M = 5000: carried (a, b) -> (0.5 a + 0.25 b + (i / 5000) w, a)."""
    M = 5000
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=F),
         helper.make_node("Div", ["fi", "m_f"], ["frac"]),
         helper.make_node("Mul", ["frac", "w"], ["fw"]),
         helper.make_node("Mul", ["a", "half"], ["ha"]),
         helper.make_node("Mul", ["b", "quarter"], ["qb"]),
         helper.make_node("Add", ["ha", "qb"], ["s"]),
         helper.make_node("Add", ["s", "fw"], ["a2"]),
         helper.make_node("Identity", ["a"], ["b2"]),
         helper.make_node("Identity", ["c"], ["c2"]),
         helper.make_node("ReduceSum", ["a2"], ["tot"], keepdims=0)],
        "big_body", [vi("i", I64, []), vi("c", B, []), vi("a", F, [4]), vi("b", F, [4])],
        [vi("c2", B, []), vi("a2", F, [4]), vi("b2", F, [4]), vi("tot", F, [])],
        [numpy_helper.from_array(np.array(M, np.float32), "m_f"),
         numpy_helper.from_array(np.array(0.5, np.float32), "half"),
         numpy_helper.from_array(np.array(0.25, np.float32), "quarter")])
    inits = [numpy_helper.from_array(np.array(M, np.int64), "M"), numpy_helper.from_array(np.array(True), "cond"),
             numpy_helper.from_array(np.arange(4, dtype=np.float32), "a0"),
             numpy_helper.from_array(-np.arange(4, dtype=np.float32), "b0"),
             numpy_helper.from_array(np.array(3, np.int64), "M3"),
             numpy_helper.from_array(np.array(2000, np.int64), "M2000")]
    loop = helper.make_node("Loop", ["M", "cond", "a0", "b0"], ["aT", "bT", "tots"], name="big_loop", body=body)
    # Under a run-time If: a Loop of 3 iterations over a Loop of 2000 (both
    # C loops, nested), v' = 0.999 v + 0.001 w, then u' = v + i.
    inner = helper.make_graph(
        [helper.make_node("Mul", ["v", "k999"], ["vk"]), helper.make_node("Mul", ["w", "k001"], ["wk"]),
         helper.make_node("Add", ["vk", "wk"], ["v2"]), helper.make_node("Identity", ["c"], ["c2"])], "inner_body",
        [vi("j", I64, []), vi("c", B, []), vi("v", F, [4])], [vi("c2", B, []), vi("v2", F, [4])],
        [numpy_helper.from_array(np.array(0.999, np.float32), "k999"),
         numpy_helper.from_array(np.array(0.001, np.float32), "k001")])
    outer = helper.make_graph(
        [helper.make_node("Loop", ["M2000", "", "u"], ["vT"], name="inner", body=inner),
         helper.make_node("Cast", ["i"], ["fi"], to=F), helper.make_node("Add", ["vT", "fi"], ["u2"]),
         helper.make_node("Identity", ["c"], ["c2"])], "outer_body",
        [vi("i", I64, []), vi("c", B, []), vi("u", F, [4])], [vi("c2", B, []), vi("u2", F, [4])])
    then_g = helper.make_graph([helper.make_node("Loop", ["M3", "", "w"], ["t_out"], name="outer", body=outer)], "then",
                               [], [vi("t_out", F, [4])])
    else_g = helper.make_graph([helper.make_node("Add", ["w", "w"], ["e_out"])], "else", [], [vi("e_out", F, [4])])
    iff = helper.make_node("If", ["flag"], ["sel"], name="sel", then_branch=then_g, else_branch=else_g)
    save(helper.make_graph([loop, iff], "big_loop", [vi("w", F, [4]), vi("flag", B, [])],
                           [vi("aT", F, [4]), vi("bT", F, [4]), vi("tots", F, [M]), vi("sel", F, [4])], inits),
         os.path.join(d, "big_loop.onnx"))
    np.save(os.path.join(d, "bl_true.npy"), np.array(True))
    np.save(os.path.join(d, "bl_false.npy"), np.array(False))
    w = rng.standard_normal(4).astype(np.float32)
    np.save(os.path.join(d, "bl_w.npy"), w)
    a, b, tots = np.arange(4.0), -np.arange(4.0), []
    for i in range(M):
        a, b = 0.5 * a + 0.25 * b + (i / M) * w.astype(np.float64), a
        tots.append(a.sum())
    np.save(os.path.join(d, "want_bl_aT.npy"), np.asarray(a, np.float32))
    np.save(os.path.join(d, "want_bl_bT.npy"), np.asarray(b, np.float32))
    np.save(os.path.join(d, "want_bl_tots.npy"), np.asarray(tots, np.float32))
    u = w.astype(np.float64)
    for i in range(3):
        for _ in range(2000):
            u = 0.999 * u + 0.001 * w
        u = u + i
    np.save(os.path.join(d, "want_bl_sel_true.npy"), np.asarray(u, np.float32))
    np.save(os.path.join(d, "want_bl_sel_false.npy"), 2 * w)


def refused(d):
    # The body's condition reads the input's values: known at run time only.
    body = helper.make_graph(
        [helper.make_node("ReduceSum", ["v"], ["s"], keepdims=0),
         helper.make_node("Less", ["s", "lim"], ["go"]),
         helper.make_node("Add", ["v", "v"], ["v2"])],
        "rt_body", [vi("i", I64, []), vi("c", B, []), vi("v", F, [2])], [vi("go", B, []), vi("v2", F, [2])],
        [numpy_helper.from_array(np.array(10.0, np.float32), "lim")])
    inits = [numpy_helper.from_array(np.array(8, np.int64), "M"), numpy_helper.from_array(np.array(True), "cond")]
    loop = helper.make_node("Loop", ["M", "cond", "x"], ["y"], name="until", body=body)
    save(helper.make_graph([loop], "rt", [vi("x", F, [2])], [vi("y", F, [2])], inits), os.path.join(d, "rt_cond.onnx"))
    x = np.array([0.5, 0.25], np.float32)
    np.save(os.path.join(d, "rt_x.npy"), x)
    v = x.copy()
    for _ in range(8):  # the condition of iteration i decides iteration i + 1
        go = v.sum() < 10
        v = v + v
        if not go:
            break
    np.save(os.path.join(d, "want_rt.npy"), v)
    # The same body as a while: no trip count, the condition alone ends it.
    loop = helper.make_node("Loop", ["", "cond", "x"], ["y"], name="while", body=body)
    save(helper.make_graph([loop], "while", [vi("x", F, [2])], [vi("y", F, [2])], inits[1:]),
         os.path.join(d, "while.onnx"))
    # Slice by the iteration number: each unrolled copy folds it, a C loop
    # cannot (its starts must be constants), and 10^6 copies are too many.
    body = helper.make_graph([helper.make_node("Unsqueeze", ["i", "zero"], ["i1"]),
                              helper.make_node("Add", ["i1", "one"], ["i2"]),
                              helper.make_node("Slice", ["tab", "i1", "i2"], ["row"]),
                              helper.make_node("Add", ["v", "row"], ["v2"])], "long_body",
                             [vi("i", I64, []), vi("c", B, []), vi("v", F, [1, 2])],
                             [vi("c", B, []), vi("v2", F, [1, 2])])
    inits = [numpy_helper.from_array(np.array(10 ** 6, np.int64), "M"), numpy_helper.from_array(np.array(True), "cond"),
             numpy_helper.from_array(np.array([0], np.int64), "zero"),
             numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.ones((8, 2), np.float32), "tab")]
    loop = helper.make_node("Loop", ["M", "cond", "x"], ["y"], name="forever", body=body)
    save(helper.make_graph([loop], "long", [vi("x", F, [1, 2])], [vi("y", F, [1, 2])], inits), os.path.join(d, "long.onnx"))


def main():
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 0.0)
        return
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    rnn(d, rng)
    acc(d, rng)
    refused(d)
    big_loop(d, rng)
    rnn(d, rng, steps=3000, prefix="bs_", name="big_scan")


if __name__ == "__main__":
    main()
