#!/usr/bin/python3
"""Models with ONNX If for if.test and test/import/if.test, with inputs and
numpy's expected outputs (ONNX semantics written out by hand).

  if_models.py DIR     writes into DIR:
    const_then.onnx / const_else.onnx  y = If(flag) with flag an initializer
        (true / false): then = -Relu(x) through a nested If(Not(flag))
        (then of the inner: * 2, else: Neg), else = x - 1; x [4]
    vad.onnx   VAD-style: out = If(Equal(sr, 16000)) then MatMul(x, W16)
        [1x4] else MatMul(x, W8) [1x2]: the branches differ in shape, so
        sr must be bound (--bind sr=sr16k.npy / sr8k.npy)
    wake.onnx  wake-word-style, run-time condition: score =
        Sigmoid(MatMul(x, Ws) + bs) [1x1]; If(score >= 0.5) then (label =
        Softmax(MatMul(x, Wa)), nested If(score >= 0.9): label * 2 else
        label; conf = score) else (label = Relu(MatMul(x, Wb)); conf = 0)
    x.npy (for const_*), vadx.npy, sr16k.npy, sr8k.npy, wake_hi.npy,
    wake_mid.npy, wake_lo.npy (scores above 0.9, in [0.5, 0.9), below 0.5)
    want_*.npy   expected outputs
    calib/x.npy  16 calibration samples for wake.onnx (both sides taken)
    calib_hi/x.npy  one sample, which takes the then side only
    bad_*.onnx   malformed / unsupported models for test/errors
  if_models.py --compare GOT.npy WANT.npy [TOL]
    prints "equal" if dtype and shape agree and every element is within
    TOL (default 0: exact), else why.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]
F = TensorProto.FLOAT


def compare(got_path, want_path, tol):
    got, want = np.load(got_path), np.load(want_path)
    if got.dtype != want.dtype or got.shape != want.shape:
        print("differ: got %s %s, want %s %s" % (got.dtype, got.shape, want.dtype, want.shape))
    elif np.abs(got.astype(np.float64) - want).max(initial=0) > tol:
        print("differ: max |got - want| = %g" % np.abs(got.astype(np.float64) - want).max())
    else:
        print("equal")


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def graph(nodes, name, inputs, outputs, inits=()):
    return helper.make_graph(nodes, name, inputs, outputs, list(inits))


def save(g, path):
    onnx.save(helper.make_model(g, opset_imports=OPSET), path)


def const_model(flag, path):
    inner = helper.make_node(
        "If", ["nflag"], ["r2"], name="inner",
        then_branch=graph([helper.make_node("Mul", ["r", "two"], ["t2"], name="double")], "inner_then", [],
                          [vi("t2", F, None)], [numpy_helper.from_array(np.float32(2), "two")]),
        else_branch=graph([helper.make_node("Neg", ["r"], ["n2"], name="neg")], "inner_else", [],
                          [vi("n2", F, None)]))
    then_g = graph([helper.make_node("Relu", ["x"], ["r"], name="relu"),
                    helper.make_node("Not", ["flag"], ["nflag"], name="not"), inner],
                   "then", [], [vi("r2", F, [4])])
    else_g = graph([helper.make_node("Sub", ["x", "one"], ["s"], name="minus_one")], "else", [], [vi("s", F, [4])],
                   [numpy_helper.from_array(np.float32(1), "one")])
    g = graph([helper.make_node("If", ["flag"], ["y"], name="pick", then_branch=then_g, else_branch=else_g)],
              "const_if", [vi("x", F, [4])], [vi("y", F, [4])],
              [numpy_helper.from_array(np.array(flag), "flag")])
    save(g, path)


def vad_model(path, rng):
    w16 = rng.standard_normal((6, 4)).astype(np.float32)
    w8 = rng.standard_normal((6, 2)).astype(np.float32)
    then_g = graph([helper.make_node("MatMul", ["x", "w16"], ["o16"], name="mm16")], "sr16k", [],
                   [vi("o16", F, None)], [numpy_helper.from_array(w16, "w16")])
    else_g = graph([helper.make_node("MatMul", ["x", "w8"], ["o8"], name="mm8")], "sr8k", [],
                   [vi("o8", F, None)], [numpy_helper.from_array(w8, "w8")])
    nodes = [helper.make_node("Equal", ["sr", "k16000"], ["is16k"], name="is16k"),
             helper.make_node("If", ["is16k"], ["out"], name="by_rate", then_branch=then_g, else_branch=else_g)]
    g = graph(nodes, "vad", [vi("x", F, [1, 6]), vi("sr", TensorProto.INT64, [])], [vi("out", F, None)],
              [numpy_helper.from_array(np.int64(16000), "k16000")])
    save(g, path)
    return w16, w8


def softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def wake_model(path, rng):
    ws = rng.standard_normal((6, 1)).astype(np.float32)
    bs = np.float32(0.1)
    wa = rng.standard_normal((6, 3)).astype(np.float32)
    wb = rng.standard_normal((6, 3)).astype(np.float32)
    inner = helper.make_node(
        "If", ["sure"], ["label"], name="confident",
        then_branch=graph([helper.make_node("Mul", ["soft", "two"], ["soft2"], name="boost")], "sure", [],
                          [vi("soft2", F, [1, 3])], [numpy_helper.from_array(np.float32(2), "two")]),
        else_branch=graph([], "unsure", [], [vi("soft", F, [1, 3])]))
    then_g = graph([helper.make_node("MatMul", ["x", "wa"], ["la"], name="head_a"),
                    helper.make_node("Softmax", ["la"], ["soft"], name="softmax", axis=-1),
                    helper.make_node("GreaterOrEqual", ["score", "hi"], ["sure"], name="is_sure"), inner],
                   "wake", [], [vi("label", F, [1, 3]), vi("score", F, [1, 1])],
                   [numpy_helper.from_array(wa, "wa"), numpy_helper.from_array(np.float32(0.9), "hi")])
    else_g = graph([helper.make_node("MatMul", ["x", "wb"], ["lb"], name="head_b"),
                    helper.make_node("Relu", ["lb"], ["rb"], name="relu_b")],
                   "idle", [], [vi("rb", F, [1, 3]), vi("zero", F, [1, 1])],
                   [numpy_helper.from_array(wb, "wb"), numpy_helper.from_array(np.zeros((1, 1), np.float32), "zero")])
    nodes = [helper.make_node("MatMul", ["x", "ws"], ["s0"], name="score_mm"),
             helper.make_node("Add", ["s0", "bs"], ["s1"], name="score_bias"),
             helper.make_node("Sigmoid", ["s1"], ["score"], name="score"),
             helper.make_node("GreaterOrEqual", ["score", "thr"], ["fire"], name="fire"),
             helper.make_node("If", ["fire"], ["label_out", "conf"], name="detect", then_branch=then_g,
                              else_branch=else_g)]
    g = graph(nodes, "wake", [vi("x", F, [1, 6])], [vi("label_out", F, [1, 3]), vi("conf", F, [1, 1])],
              [numpy_helper.from_array(ws, "ws"), numpy_helper.from_array(np.array(bs), "bs"),
               numpy_helper.from_array(np.float32(0.5), "thr")])
    save(g, path)

    def run(x):
        score = 1 / (1 + np.exp(-(x @ ws + bs)))
        if score[0, 0] >= 0.5:
            label = softmax(x @ wa)
            return (label * 2 if score[0, 0] >= 0.9 else label), score
        return np.maximum(x @ wb, 0), np.zeros((1, 1), np.float32)
    return ws, run


def wake_input(ws, rng, lo, hi):
    """An x whose score lies in [lo, hi): scale a direction along ws."""
    for _ in range(10000):
        x = rng.standard_normal((1, 6)).astype(np.float32)
        s = 1 / (1 + np.exp(-(x @ ws + 0.1)))[0, 0]
        if lo <= s < hi and min(abs(s - 0.5), abs(s - 0.9)) > 0.02:
            return x
    raise SystemExit("no input found")


def bad_models(d):
    x = [vi("x", F, [3])]
    y = [vi("y", F, None)]
    cond = [vi("c", TensorProto.BOOL, [])]
    relu_then = graph([helper.make_node("Relu", ["x"], ["t"], name="r")], "then", [], [vi("t", F, None)])
    # run-time If whose branches differ in shape
    slice_else = graph([helper.make_node("Concat", ["x", "x"], ["e"], name="cat", axis=0)], "else", [],
                       [vi("e", F, None)])
    save(graph([helper.make_node("If", ["c"], ["y"], name="mixed", then_branch=relu_then, else_branch=slice_else)],
               "g", x + cond, y), os.path.join(d, "bad_if_types.onnx"))
    # missing else_branch
    save(graph([helper.make_node("If", ["c"], ["y"], name="half", then_branch=relu_then)], "g", x + cond, y),
         os.path.join(d, "bad_if_missing.onnx"))
    # branch output count differs from the node's
    two = graph([helper.make_node("Relu", ["x"], ["t"], name="r"), helper.make_node("Neg", ["x"], ["u"], name="n")],
                "then", [], [vi("t", F, None), vi("u", F, None)])
    save(graph([helper.make_node("If", ["c"], ["y"], name="count", then_branch=two, else_branch=relu_then)],
               "g", x + cond, y), os.path.join(d, "bad_if_count.onnx"))
    # a branch reads a name defined nowhere
    ghost = graph([helper.make_node("Relu", ["nope"], ["t"], name="ghost_relu")], "else", [], [vi("t", F, None)])
    save(graph([helper.make_node("If", ["c"], ["y"], name="ghost", then_branch=relu_then, else_branch=ghost)],
               "g", x + cond, y), os.path.join(d, "bad_if_undefined.onnx"))
    # a branch-local name used after the If (out of scope)
    save(graph([helper.make_node("If", ["c"], ["y0"], name="scoped", then_branch=relu_then, else_branch=relu_then),
                helper.make_node("Add", ["y0", "t"], ["y"], name="leak")], "g", x + cond, y),
         os.path.join(d, "bad_if_scope.onnx"))
    # condition of two elements
    save(graph([helper.make_node("If", ["c2"], ["y"], name="wide", then_branch=relu_then, else_branch=relu_then)],
               "g", x + [vi("c2", TensorProto.BOOL, [2])], y), os.path.join(d, "bad_if_cond.onnx"))
    # Loop whose body lacks the carried value's input; Scan whose
    # num_scan_inputs exceeds its inputs
    body = graph([helper.make_node("Identity", ["cin"], ["cout"], name="id"),
                  helper.make_node("Identity", ["x"], ["vout"], name="id2")], "body",
                 [vi("i", TensorProto.INT64, []), vi("cin", TensorProto.BOOL, [])],
                 [vi("cout", TensorProto.BOOL, []), vi("vout", F, [3])])
    save(graph([helper.make_node("Loop", ["n", "", "x"], ["y"], name="loop0", body=body)], "g",
               x + [vi("n", TensorProto.INT64, [])], y,
               [numpy_helper.from_array(np.int64(3), "n")]), os.path.join(d, "bad_loop.onnx"))
    sbody = graph([helper.make_node("Add", ["s", "e"], ["s2"], name="acc"),
                   helper.make_node("Identity", ["s2"], ["o"], name="o")], "body",
                  [vi("s", F, [1]), vi("e", F, [1])], [vi("s2", F, [1]), vi("o", F, [1])])
    save(graph([helper.make_node("Scan", ["s0", "xs"], ["y", "ys"], name="scan0", body=sbody, num_scan_inputs=3)],
               "g", [vi("s0", F, [1]), vi("xs", F, [3, 1])], [vi("y", F, [1]), vi("ys", F, [3, 1])]),
         os.path.join(d, "bad_scan.onnx"))


def main():
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 0.0)
        return
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(15)
    x = np.array([-1.5, 0.0, 0.25, 3.0], np.float32)
    np.save(os.path.join(d, "x.npy"), x)
    const_model(True, os.path.join(d, "const_then.onnx"))
    const_model(False, os.path.join(d, "const_else.onnx"))
    np.save(os.path.join(d, "want_const_then.npy"), -np.maximum(x, 0))
    np.save(os.path.join(d, "want_const_else.npy"), x - np.float32(1))

    w16, w8 = vad_model(os.path.join(d, "vad.onnx"), rng)
    vx = rng.standard_normal((1, 6)).astype(np.float32)
    np.save(os.path.join(d, "vadx.npy"), vx)
    np.save(os.path.join(d, "sr16k.npy"), np.int64(16000))
    np.save(os.path.join(d, "sr8k.npy"), np.int64(8000))
    np.save(os.path.join(d, "want_vad16k.npy"), vx @ w16)
    np.save(os.path.join(d, "want_vad8k.npy"), vx @ w8)

    ws, run = wake_model(os.path.join(d, "wake.onnx"), rng)
    for tag, lo, hi in (("hi", 0.9, 1.0), ("mid", 0.5, 0.9), ("lo", 0.0, 0.5)):
        wx = wake_input(ws, rng, lo, hi)
        np.save(os.path.join(d, "wake_%s.npy" % tag), wx)
        label, conf = run(wx)
        np.save(os.path.join(d, "want_wake_%s_label.npy" % tag), label.astype(np.float32))
        np.save(os.path.join(d, "want_wake_%s_conf.npy" % tag), conf.astype(np.float32))
    os.makedirs(os.path.join(d, "calib"), exist_ok=True)
    xs = [np.load(os.path.join(d, "wake_%s.npy" % t)) for t in ("hi", "mid", "lo")]
    xs += [rng.standard_normal((1, 6)).astype(np.float32) for _ in range(13)]
    np.save(os.path.join(d, "calib", "x.npy"), np.stack(xs))
    os.makedirs(os.path.join(d, "calib_hi"), exist_ok=True)
    np.save(os.path.join(d, "calib_hi", "x.npy"), xs[0])
    bad_models(d)


if __name__ == "__main__":
    main()
