#!/usr/bin/python3
"""Writes tiny attention models and their calibration samples for
test/passes/integer-only.test:
  masked.onnx   scores (q k^T + causal mask) / 2 -> softmax -> @ v, then
                Sigmoid, LayerNormalization with bias, MatMul; a Tanh on the
                model input (float: no int8 table) and a LogSoftmax output
  guarded.onnx  (scores + mask) * 0.35 -> softmax -> Where(IsNaN(p), 0, p)
                -> @ v (torch's guard), the mask's first row all -inf (NaN
                probabilities there, zeros after the guard)
  alibi.onnx    scores * 0.35 + a non-mask bias (ALiBi-like) -> softmax
  rowbias.onnx  scores * 0.35 + a bias per key ([T], broadcast over the
                query rows, as a key padding mask) -> softmax
  querybias.onnx  scores * 0.35 + a bias per query row ([T, 1], broadcast
                over the keys) -> softmax (fuse-attention leaves it, with
                the reason)
  wide.onnx     Softmax straight on the float input, whose calibration
                range (calib_wide: values in the thousands) is too wide for
                int8 logits
  mlp.onnx      fc1 -> Sigmoid -> fc2 (a function between layers), and a
                side matmul -> Tanh -> model output (a function whose
                output leaves the model); outputs y and z
  residual.onnx h = fc1(x); r = h + pos (a constant); y = r + fc3(r) (two
                int8 operands); z = x + x (both float)
  relu.onnx     y = Relu(fc_relu(x)) and z = fc_plain(x), both model
                outputs (float-epilogues.test: the ReLU's clamp stays)
  runmask.onnx  masked.onnx with the mask built at run time from a second
                input order (int64 [T]): Where(order[1, T] <= order[T, 1],
                0, -1e9), as AIFS builds its permuted causal mask
  strictmask.onnx  the same with order[1, T] < order[T, 1]: every row's diagonal
                masked, the first row wholly
  calib_runmask/  x.npy as calib/ and order.npy 16 x [0 .. T-1] (the
                causal order: the same calibration as masked.onnx); order0.npy
                a permuted order, order_id.npy the causal one
  calib/x.npy   16 stacked samples of the input x [1, 4, 8]
usage: make_attention_models.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T, D = 4, 8


def const(name, a):
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


def weight(name, seed):
    return const(name, np.random.default_rng(seed).standard_normal((D, D)) * 0.4)


def attention(scores_nodes, extra_inits, extra_inputs=(), guard=False):
    nodes = [helper.make_node("Tanh", ["x"], ["xt"], name="input_tanh"),
             helper.make_node("MatMul", ["xt", "wq"], ["q"], name="q_proj"),
             helper.make_node("MatMul", ["xt", "wk"], ["k"], name="k_proj"),
             helper.make_node("MatMul", ["xt", "wv"], ["v"], name="v_proj"),
             helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1], name="k_t"),
             helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores")]
    nodes += scores_nodes
    if guard:  # torch's export of scaled_dot_product_attention: NaN rows to 0
        nodes += [helper.make_node("Softmax", ["sm_in"], ["p0"], axis=-1, name="softmax"),
                  helper.make_node("IsNaN", ["p0"], ["nan"], name="isnan"),
                  helper.make_node("Where", ["nan", "guard_zero", "p0"], ["p"], name="guard")]
        extra_inits = extra_inits + [const("guard_zero", 0.0)]
    else:
        nodes += [helper.make_node("Softmax", ["sm_in"], ["p"], axis=-1, name="softmax")]
    nodes += [helper.make_node("MatMul", ["p", "v"], ["a"], name="mix"),
              helper.make_node("Sigmoid", ["a"], ["g"], name="gate"),
              helper.make_node("LayerNormalization", ["g", "ln_g", "ln_b"], ["n"], axis=-1, name="norm"),
              helper.make_node("MatMul", ["n", "wo"], ["o"], name="out_proj"),
              helper.make_node("LogSoftmax", ["o"], ["y"], axis=-1, name="log_softmax")]
    inits = [weight("wq", 1), weight("wk", 2), weight("wv", 3), weight("wo", 4),
             const("ln_g", np.linspace(0.5, 1.5, D)), const("ln_b", np.linspace(-0.2, 0.3, D))] + extra_inits
    g = helper.make_graph(nodes, "attention",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])] + list(extra_inputs),
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T, D])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    causal = np.triu(np.full((T, T), -1e9, np.float32), 1)
    masked = attention([helper.make_node("Add", ["s", "mask"], ["sm"], name="add_mask"),
                        helper.make_node("Div", ["sm", "two"], ["sm_in"], name="scale")],
                       [const("mask", causal), const("two", 2.0)])
    run_masks = {}
    for name, compare in (("runmask", "LessOrEqual"), ("strictmask", "Less")):
        run_masks[name] = attention(
            [helper.make_node("Reshape", ["order", "row_shape"], ["pr"], name="p_row"),
             helper.make_node("Reshape", ["order", "col_shape"], ["pc"], name="p_col"),
             helper.make_node(compare, ["pr", "pc"], ["sees"], name="sees"),
             helper.make_node("Where", ["sees", "zero", "neg"], ["mask"], name="run_mask"),
             helper.make_node("Add", ["s", "mask"], ["sm"], name="add_mask"),
             helper.make_node("Div", ["sm", "two"], ["sm_in"], name="scale")],
            [numpy_helper.from_array(np.array([1, T], np.int64), "row_shape"),
             numpy_helper.from_array(np.array([T, 1], np.int64), "col_shape"),
             const("zero", 0.0), const("neg", -1e9), const("two", 2.0)],
            [helper.make_tensor_value_info("order", TensorProto.INT64, [T])])
    blocked = causal.copy()
    blocked[0, :] = -np.inf  # query row 0 sees no key: its softmax is NaN
    guarded = attention([helper.make_node("Add", ["s", "mask"], ["sm"], name="add_mask"),
                         helper.make_node("Mul", ["sm", "c"], ["sm_in"], name="scale")],
                        [const("mask", blocked), const("c", 0.35)], guard=True)
    alibi_bias = -0.5 * np.abs(np.arange(T)[:, None] - np.arange(T)[None, :])
    alibi = attention([helper.make_node("Mul", ["s", "c"], ["sc"], name="scale"),
                       helper.make_node("Add", ["sc", "bias"], ["sm_in"], name="add_bias")],
                      [const("c", 0.35), const("bias", alibi_bias)])
    rowbias = attention([helper.make_node("Mul", ["s", "c"], ["sc"], name="scale"),
                         helper.make_node("Add", ["sc", "bias"], ["sm_in"], name="add_bias")],
                        [const("c", 0.35), const("bias", -0.25 * np.arange(T))])
    querybias = attention([helper.make_node("Mul", ["s", "c"], ["sc"], name="scale"),
                           helper.make_node("Add", ["sc", "bias"], ["sm_in"], name="add_bias")],
                          [const("c", 0.35), const("bias", -0.25 * np.arange(T)[:, None])])
    g = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=-1, name="wide_softmax")], "wide",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T, D])])
    wide = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
                           helper.make_node("Sigmoid", ["h"], ["a"], name="mlp_act"),
                           helper.make_node("MatMul", ["a", "w2"], ["y"], name="fc2"),
                           helper.make_node("MatMul", ["x", "w3"], ["s"], name="side"),
                           helper.make_node("Tanh", ["s"], ["z"], name="out_act")], "mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T, D]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, T, D])],
                          [weight("w1", 5), weight("w2", 6), weight("w3", 7)])
    mlp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    pos = np.random.default_rng(9).standard_normal((T, D)) * 0.3
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
                           helper.make_node("Add", ["h", "pos"], ["r"], name="add_pos"),
                           helper.make_node("MatMul", ["r", "w3"], ["f"], name="fc3"),
                           helper.make_node("Add", ["r", "f"], ["y"], name="residual"),
                           helper.make_node("Add", ["x", "x"], ["z"], name="float_add")], "residual",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T, D]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, T, D])],
                          [weight("w1", 5), weight("w3", 7), const("pos", pos)])
    residual = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc_relu"),
                           helper.make_node("Relu", ["h"], ["y"], name="relu"),
                           helper.make_node("MatMul", ["x", "w3"], ["z"], name="fc_plain")], "relu",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, T, D]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, T, D])],
                          [weight("w1", 5), weight("w3", 7)])
    relu = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    for name, m in (("masked", masked), ("guarded", guarded), ("alibi", alibi), ("rowbias", rowbias), ("querybias", querybias),
                    ("wide", wide), ("mlp", mlp),
                    ("residual", residual), ("relu", relu), ("runmask", run_masks["runmask"]),
                    ("strictmask", run_masks["strictmask"])):
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, name + ".onnx"))
    rng = np.random.default_rng(7)
    np.save(os.path.join(out, "calib", "x.npy"), rng.standard_normal((16, 1, T, D)).astype(np.float32))
    np.save(os.path.join(out, "x0.npy"), rng.standard_normal((1, T, D)).astype(np.float32))
    os.makedirs(os.path.join(out, "calib_runmask"), exist_ok=True)
    np.save(os.path.join(out, "calib_runmask", "x.npy"), np.load(os.path.join(out, "calib", "x.npy")))
    np.save(os.path.join(out, "calib_runmask", "order.npy"), np.tile(np.arange(T), (16, 1)))
    np.save(os.path.join(out, "order0.npy"), np.array([2, 0, 3, 1], np.int64))
    np.save(os.path.join(out, "order_id.npy"), np.arange(T))
    os.makedirs(os.path.join(out, "calib_wide"), exist_ok=True)
    np.save(os.path.join(out, "calib_wide", "x.npy"), (rng.standard_normal((16, 1, T, D)) * 3000).astype(np.float32))


if __name__ == "__main__":
    main()
