#!/usr/bin/python3
"""Writes small state-update models for test/codegen/io-alias.test: which
graph inputs may share a buffer with an output (NAME_INi_MAY_ALIAS_OUTj).

  update.onnx      state [8,4] -> ScatterND(state, row [1,1], new [1,4])
                   -> 'next' (and total = ReduceSum(next)): in place
  cache.onnx       two caches updated by ScatterElements along axis 1 at a
                   run-time position, then read by a MatMul: both in place
  read_twice.onnx  the state is also read by an Add: not in place
  returned.onnx    the state is also a graph output: not in place
  where.onnx       next = Where(mask [8,1], new [1,4], state [8,4]): in place
                   (state has next's shape; mask and new broadcast)
  add.onnx         next = state + delta: no in-place kernel
  through.onnx     next = ScatterND(state * 2, ...): computed through an op
usage: make_alias_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

F, I = TensorProto.FLOAT, TensorProto.INT64


def save(path, nodes, inputs, outputs):
    g = helper.make_graph(nodes, os.path.basename(path)[:-5], [helper.make_tensor_value_info(*i) for i in inputs],
                          [helper.make_tensor_value_info(*o) for o in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    out = sys.argv[1]
    state, row, new = ("state", F, [8, 4]), ("row", I, [1, 1]), ("new", F, [1, 4])
    scatter = helper.make_node("ScatterND", ["state", "row", "new"], ["next"], name="write_row")
    total = helper.make_node("ReduceSum", ["next"], ["total"], keepdims=0, name="total")
    save(os.path.join(out, "update.onnx"), [scatter, total], [state, row, new], [("next", F, [8, 4]), ("total", F, [])])
    # two caches [1,6,4], positions [1,2,4] from pos, query [1,1,4]
    nodes = [helper.make_node("ScatterElements", [f"past_{c}", "idx", f"new_{c}"], [c], axis=1, name=f"write_{c}")
             for c in "kv"]
    nodes += [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1], name="kt"),
              helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
              helper.make_node("MatMul", ["s", "v"], ["y"], name="mix")]
    cache = [1, 6, 4]
    save(os.path.join(out, "cache.onnx"), nodes,
         [("q", F, [1, 1, 4]), ("idx", I, [1, 2, 4]), ("past_k", F, cache), ("new_k", F, [1, 2, 4]),
          ("past_v", F, cache), ("new_v", F, [1, 2, 4])], [("y", F, [1, 1, 4]), ("k", F, cache), ("v", F, cache)])
    add = helper.make_node("Add", ["state", "state"], ["twice"], name="also_read")
    save(os.path.join(out, "read_twice.onnx"), [scatter, add], [state, row, new],
         [("next", F, [8, 4]), ("twice", F, [8, 4])])
    same = helper.make_node("Identity", ["state"], ["old"], name="old")
    save(os.path.join(out, "returned.onnx"), [scatter, same], [state, row, new], [("next", F, [8, 4]), ("old", F, [8, 4])])
    where = helper.make_node("Where", ["mask", "new", "state"], ["next"], name="select_rows")
    save(os.path.join(out, "where.onnx"), [where], [("mask", TensorProto.BOOL, [8, 1]), new, state], [("next", F, [8, 4])])
    plus = helper.make_node("Add", ["state", "delta"], ["next"], name="add_delta")
    save(os.path.join(out, "add.onnx"), [plus], [state, ("delta", F, [8, 4])], [("next", F, [8, 4])])
    two = helper.make_node("Constant", [], ["two"], value=helper.make_tensor("two", F, [], [2.0]), name="two")
    dbl = helper.make_node("Mul", ["state", "two"], ["scaled"], name="scale_state")
    sc2 = helper.make_node("ScatterND", ["scaled", "row", "new"], ["next"], name="write_row")
    save(os.path.join(out, "through.onnx"), [two, dbl, sc2], [state, row, new], [("next", F, [8, 4])])


if __name__ == "__main__":
    main()
