#!/usr/bin/python3
"""Models for bind.test whose output shapes depend on an input's values,
with the arrays to bind and numpy's expected outputs.

  bind_models.py DIR            writes into DIR:
    slice.onnx   y = Slice(x, starts, ends, axes, steps), all five inputs
    reduce.onnx  y = ReduceSum(data, axes, keepdims=0)
    range.onnx   y = Range(0, limit, 1) + offset (limit an int64 scalar input)
    datadep.onnx NonZero, Unique (flat and along an axis, sorted and not) and
                 NonMaxSuppression (both box formats) of bound inputs:
                 outputs y0..y10, want_datadep_K.npy from numpy (np.nonzero,
                 np.unique) and nms_reference below; the NonZero indices
                 feed an Add of a run-time input
    x.npy starts.npy ends.npy axes.npy steps.npy data.npy rsum_axes.npy limit.npy offset.npy
    want_slice.npy want_reduce.npy want_range.npy
    starts_i32.npy starts_3.npy   (wrong dtype / wrong shape for starts)
  bind_models.py --compare GOT.npy WANT.npy
    prints "equal" if dtype, shape and every element are equal, else why.
  bind_models.py --compare-all GOT%d.npy WANT%d.npy N
    the same for outputs 0..N-1 (each format takes the output number).
"""
import os
import sys

import numpy as np


def compare(got_path, want_path):
    got, want = np.load(got_path), np.load(want_path)
    if got.dtype != want.dtype or got.shape != want.shape:
        print("differ: got %s %s, want %s %s" % (got.dtype, got.shape, want.dtype, want.shape))
    elif not np.array_equal(got, want):
        print("differ: max |got - want| = %g" % np.abs(got.astype(np.float64) - want).max())
    else:
        print("equal")


def compare_all(got_fmt, want_fmt, n):
    """compare() for outputs 0..n-1, file names from the two formats."""
    for k in range(n):
        got, want = np.load(got_fmt % k), np.load(want_fmt % k)
        if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
            print("output %d differs: got %s %s, want %s %s" % (k, got.dtype, got.tolist(), want.dtype, want.tolist()))
            return
    print("equal")


def write(d):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    os.makedirs(d, exist_ok=True)

    def model(name, nodes, inputs, y_type, inits=()):
        # The output's shape is left undeclared: qcc must infer it from the
        # bound values.
        y = helper.make_tensor_value_info("y", y_type, None)
        g = helper.make_graph(nodes, name, inputs, [y], list(inits))
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "%s/%s.onnx" % (d, name))

    def vec(name, n):
        return helper.make_tensor_value_info(name, TensorProto.INT64, [n])

    rng = np.random.RandomState(0)
    x = rng.randn(6, 8).astype(np.float32)
    starts, ends = np.array([1, -1], np.int64), np.array([5, 0], np.int64)
    axes, steps = np.array([0, 1], np.int64), np.array([2, -3], np.int64)
    model("slice", [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="slice0")],
          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, 8]),
           vec("starts", 2), vec("ends", 2), vec("axes", 2), vec("steps", 2)], TensorProto.FLOAT)
    for k, v in dict(x=x, starts=starts, ends=ends, axes=axes, steps=steps).items():
        np.save("%s/%s.npy" % (d, k), v)
    np.save("%s/want_slice.npy" % d, x[1:5:2, -1:0:-3])
    np.save("%s/starts_i32.npy" % d, starts.astype(np.int32))
    np.save("%s/starts_3.npy" % d, np.array([1, -1, 0], np.int64))

    rsum_axes = np.array([-1, 0], np.int64)
    # The axes input is declared with a symbolic length: any length binds.
    model("reduce", [helper.make_node("ReduceSum", ["data", "axes"], ["y"], name="sum0", keepdims=0)],
          [helper.make_tensor_value_info("data", TensorProto.FLOAT, [2, 3, 4]),
           helper.make_tensor_value_info("axes", TensorProto.INT64, ["n"])], TensorProto.FLOAT)
    np.save("%s/rsum_axes.npy" % d, rsum_axes)
    # numpy sums in a different order than qcc's kernel; the sums are exact
    # when the addends are small integers.
    ints = rng.randint(-8, 8, (2, 3, 4)).astype(np.float32)
    np.save("%s/data.npy" % d, ints)
    np.save("%s/want_reduce.npy" % d, ints.sum(axis=(2, 0)))

    # Range with a bound limit folds to a constant; the Add keeps an op
    # behind it (the output is computed, not only a copied constant).
    zero, one = numpy_helper.from_array(np.array(0, np.int64), "zero"), numpy_helper.from_array(np.array(1, np.int64), "one")
    model("range", [helper.make_node("Range", ["zero", "limit", "one"], ["r"], name="range0"),
                    helper.make_node("Add", ["r", "offset"], ["y"], name="add0")],
          [helper.make_tensor_value_info("limit", TensorProto.INT64, []),
           helper.make_tensor_value_info("offset", TensorProto.INT64, [1])], TensorProto.INT64, [zero, one])
    np.save("%s/limit.npy" % d, np.array(7, np.int64))
    np.save("%s/offset.npy" % d, np.array([100], np.int64))
    np.save("%s/want_range.npy" % d, np.arange(7, dtype=np.int64) + 100)
    write_datadep(d, rng)


def nms_reference(boxes, scores, max_out, iou_thr, score_thr, center):
    """NonMaxSuppression as the ONNX spec words it, in float32: per batch and
    class, candidates above score_thr by decreasing score (lower index first
    on ties), each kept unless its IoU with a kept box exceeds iou_thr."""
    f = np.float32

    def corners(b):
        if center:
            hw, hh = b[2] / f(2), b[3] / f(2)
            return b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh  # x0, y0, x1, y1
        return min(b[1], b[3]), min(b[0], b[2]), max(b[1], b[3]), max(b[0], b[2])

    def iou(a, b):
        ax0, ay0, ax1, ay1 = corners(a)
        bx0, by0, bx1, by1 = corners(b)
        w, h = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
        if w <= 0 or h <= 0:
            return f(0)
        inter = w * h
        return inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter)

    rows = []
    for b in range(boxes.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c]
            cand = sorted((i for i in range(len(s)) if s[i] > score_thr), key=lambda i: (-s[i], i))
            kept = []
            for i in cand:
                if len(kept) == max_out:
                    break
                if all(iou(boxes[b, k], boxes[b, i]) <= iou_thr for k in kept):
                    kept.append(i)
            rows += [[b, c, i] for i in kept]
    return np.array(rows, np.int64).reshape(-1, 3)


def unique_reference(x, is_sorted, axis):
    """Unique's four outputs from np.unique; sorted=0 reorders them by
    first occurrence."""
    y, idx, inv, cnt = np.unique(x, True, True, True, axis=axis)
    inv = inv.reshape(-1)
    if not is_sorted:
        order = np.argsort(idx, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        y, idx, inv, cnt = np.take(y, order, axis=axis or 0), idx[order], rank[inv], cnt[order]
    return [y, idx.astype(np.int64), inv.astype(np.int64), cnt.astype(np.int64)]


def write_datadep(d, rng):
    import onnx
    from onnx import TensorProto, helper

    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    mask = rng.rand(3, 5) > 0.5
    flat = np.array([3, -1, 7, 3, 3, -1, 0, 7, 2], np.int32)
    # slices along axis 1 of [2, 6, 2] with repeats (and a -0 beside 0)
    cols = rng.randint(-2, 3, (2, 3, 2)).astype(np.float32)
    cols[0, 1, 0] = 0.0
    slab = cols[:, [1, 0, 2, 0, 1, 1], :].copy()
    slab[0, 4, 0] = -0.0
    # boxes in clusters, so that many overlap
    centres = rng.rand(2, 4, 2).astype(np.float32) * 10
    pick = rng.randint(0, 4, (2, 24))
    xy = np.take_along_axis(centres, pick[:, :, None], 1) + rng.randn(2, 24, 2).astype(np.float32) * 0.3
    wh = rng.rand(2, 24, 2).astype(np.float32) + 1.5
    centre_boxes = np.concatenate([xy, wh], 2).astype(np.float32)
    corner_boxes = np.concatenate([xy[..., ::-1] + wh[..., ::-1] / 2, xy[..., ::-1] - wh[..., ::-1] / 2], 2)
    scores = rng.rand(2, 3, 24).astype(np.float32)
    consts = dict(mask=mask, flat=flat, slab=slab, cboxes=centre_boxes, xboxes=corner_boxes, scores=scores,
                  max_out=np.array([6], np.int64), iou=np.array([0.3], np.float32), thr=np.array([0.2], np.float32))
    for k, v in consts.items():
        np.save("%s/dd_%s.npy" % (d, k), v)
    np.save("%s/dd_offset.npy" % d, np.array([[10], [20]], np.int64))

    ins = [helper.make_tensor_value_info(k, {np.dtype(bool): TensorProto.BOOL, np.dtype(np.int32): TensorProto.INT32,
                                             np.dtype(np.int64): i64}.get(v.dtype, f32), list(v.shape))
           for k, v in consts.items()]
    ins.append(helper.make_tensor_value_info("offset", i64, [2, 1]))
    nms = ["scores", "max_out", "iou", "thr"]
    nodes = [helper.make_node("NonZero", ["mask"], ["nz"], name="nonzero0"),
             helper.make_node("Add", ["nz", "offset"], ["y0"]),
             helper.make_node("Unique", ["flat"], ["y1", "y2", "y3", "y4"], name="unique_flat"),
             helper.make_node("Unique", ["slab"], ["y5", "y6", "y7", "y8"], name="unique_axis", axis=-2, sorted=0),
             helper.make_node("NonMaxSuppression", ["cboxes"] + nms, ["y9"], name="nms_centre", center_point_box=1),
             helper.make_node("NonMaxSuppression", ["xboxes"] + nms, ["y10"], name="nms_corners")]
    out_types = [i64, TensorProto.INT32, i64, i64, i64, f32, i64, i64, i64, i64, i64]
    outs = [helper.make_tensor_value_info("y%d" % k, t, None) for k, t in enumerate(out_types)]
    g = helper.make_graph(nodes, "datadep", ins, outs)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), "%s/datadep.onnx" % d)

    want = [np.array(np.nonzero(mask), np.int64) + np.array([[10], [20]], np.int64)]
    want += unique_reference(flat, True, None) + unique_reference(slab, False, 1)
    want += [nms_reference(centre_boxes, scores, 6, np.float32(0.3), np.float32(0.2), True),
             nms_reference(corner_boxes, scores, 6, np.float32(0.3), np.float32(0.2), False)]
    # some boxes suppressed, and the limit of 6 reached in some classes
    per_class = np.bincount(want[9][:, 0] * 3 + want[9][:, 1], minlength=6)
    assert per_class.max() == 6 and per_class.min() < 6, per_class
    for k, w in enumerate(want):
        np.save("%s/want_datadep_%d.npy" % (d, k), w)


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "--compare-all":
        compare_all(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        write(sys.argv[1])
