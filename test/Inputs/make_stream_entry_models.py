#!/usr/bin/python3
"""Writes tiny models whose residual stream starts where the rotate pass
used to stop, for test/passes/rotate-entry.test:

  vit/             a ViT: Conv patch embedding -> Reshape [B, d, hw] ->
                   Transpose [B, hw, d] (the conv's output channels are the
                   stream's channels: the conv absorbs the rotation), a
                   constant class token in front, positions added, two
                   pre-LN residual blocks, a final LayerNorm, the class
                   token sliced out (Slice along tokens) and a head
  embeds_rms/      the stream is a model input (embeddings computed by the
                   caller), RMSNorm written out as ops: rotated online
  embeds_ln/       the same with LayerNorm: the input is centred online too
  vit_grouped/     the ViT with a grouped patch convolution (its output
                   channels do not mix all input channels the same way:
                   not a writer)

Each directory also holds outputs.onnx, the same model returning more
than y: the ViT its class token's final-norm output (as a feature for
other heads), embeds_rms the last stream value and the final norm's
output, embeds_ln the final norm's output (its stream, centred by the
rotation, cannot be returned). Each directory holds model.onnx, reference.json (input and output names),
calib/NAME.npy (4 samples) and x0.npy (the first), as check_rotation.py
reads them. Norm gains and biases are not trivial, so folding them is
tested too; the embeddings carry an outlier channel (x20).
usage: make_stream_entry_models.py OUT_DIR"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

D, B, T = 16, 2, 6


def w(name, shape, seed, scale=0.3, offset=0.0):
    a = np.random.default_rng(seed).standard_normal(shape) * scale + offset
    return numpy_helper.from_array(a.astype(np.float32), name)


def ln_block(p, s_in, s_out, seed):
    """s_out = s_in + LN(s_in) @ W + c"""
    return ([helper.make_node("LayerNormalization", [s_in, f"{p}g", f"{p}b"], [f"{p}n"], axis=-1, name=f"{p}_norm"),
             helper.make_node("MatMul", [f"{p}n", f"{p}w"], [f"{p}t"], name=f"{p}_linear"),
             helper.make_node("Add", [f"{p}t", f"{p}c"], [f"{p}u"], name=f"{p}_bias"),
             helper.make_node("Add", [s_in, f"{p}u"], [s_out], name=f"{p}_residual")],
            [w(f"{p}g", (D,), seed, 0.2, 1.0), w(f"{p}b", (D,), seed + 1, 0.1), w(f"{p}w", (D, D), seed + 2),
             w(f"{p}c", (D,), seed + 3, 0.1)])


def rms_norm(p, x, y):
    """y = x / sqrt(mean(x^2) + eps) * g, as the ops a PyTorch export writes"""
    return ([helper.make_node("Mul", [x, x], [f"{p}sq"], name=f"{p}_sq"),
             helper.make_node("ReduceMean", [f"{p}sq"], [f"{p}ms"], axes=[-1], keepdims=1, name=f"{p}_mean"),
             helper.make_node("Add", [f"{p}ms", "eps"], [f"{p}me"], name=f"{p}_eps"),
             helper.make_node("Sqrt", [f"{p}me"], [f"{p}rt"], name=f"{p}_sqrt"),
             helper.make_node("Div", [x, f"{p}rt"], [f"{p}xn"], name=f"{p}_div"),
             helper.make_node("Mul", [f"{p}xn", f"{p}g"], [y], name=f"{p}_gain")], [f"{p}g"])


def save(nodes, inits, inputs, out_shape, path, extra_outputs=()):
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)]
    outs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in extra_outputs]
    g = helper.make_graph(nodes, "g", inputs, outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def vit(path, group, outputs=False):
    nodes = [helper.make_node("Conv", ["img", "pw", "pb"], ["pe"], kernel_shape=[4, 4], strides=[4, 4], group=group,
                              name="patch_embed"),
             helper.make_node("Reshape", ["pe", "flat"], ["pf"], name="flatten"),
             helper.make_node("Transpose", ["pf"], ["pt"], perm=[0, 2, 1], name="to_tokens"),
             helper.make_node("Concat", ["cls", "pt"], ["s0"], axis=1, name="class_token"),
             helper.make_node("Add", ["s0", "pos"], ["s1"], name="positions")]
    inits = [w("pw", (D, 4 // group, 4, 4), 1), w("pb", (D,), 2, 0.1),
             numpy_helper.from_array(np.array([B, D, 4], np.int64), "flat"), w("cls", (B, 1, D), 3, 1.0),
             w("pos", (1, 5, D), 4, 0.5)]
    for i, p in enumerate("ab"):
        n, ini = ln_block(p, f"s{i + 1}", f"s{i + 2}", 10 * i + 10)
        nodes += n
        inits += ini
    nodes += [helper.make_node("LayerNormalization", ["s3", "hg", "hb"], ["hn"], axis=-1, name="final_norm"),
              helper.make_node("Slice", ["hn", "s_start", "s_end", "s_axis"], ["hc"], name="class_slice"),
              helper.make_node("MatMul", ["hc", "wh"], ["y"], name="head")]
    inits += [w("hg", (D,), 40, 0.2, 1.0), w("hb", (D,), 41, 0.1), w("wh", (D, 10), 42),
              numpy_helper.from_array(np.array([0], np.int64), "s_start"),
              numpy_helper.from_array(np.array([1], np.int64), "s_end"),
              numpy_helper.from_array(np.array([1], np.int64), "s_axis")]
    save(nodes, inits, [helper.make_tensor_value_info("img", TensorProto.FLOAT, [B, 4, 8, 8])], [B, 1, 10], path,
         ("hc",) if outputs else ())


def embeds(path, layer, outputs=False):
    nodes, inits = [], []
    for i, p in enumerate("ab"):
        if layer:
            n, ini = ln_block(p, f"s{i}", f"s{i + 1}", 10 * i + 10)
        else:
            n, gains = rms_norm(p, f"s{i}", f"{p}n")
            n += [helper.make_node("MatMul", [f"{p}n", f"{p}w"], [f"{p}t"], name=f"{p}_linear"),
                  helper.make_node("Add", [f"s{i}", f"{p}t"], [f"s{i + 1}"], name=f"{p}_residual")]
            ini = [w(gains[0], (D,), 10 * i + 10, 0.2, 1.0), w(f"{p}w", (D, D), 10 * i + 12)]
        nodes += n
        inits += ini
    nodes = [helper.make_node("Identity", ["x"], ["s0"], name="entry")] + nodes
    if layer:
        nodes.append(helper.make_node("LayerNormalization", ["s2", "hg", "hb"], ["hn"], axis=-1, name="final_norm"))
        inits += [w("hg", (D,), 40, 0.2, 1.0), w("hb", (D,), 41, 0.1)]
    else:
        n, gains = rms_norm("h", "s2", "hn")
        nodes += n
        inits.append(w(gains[0], (D,), 40, 0.2, 1.0))
    nodes.append(helper.make_node("MatMul", ["hn", "wh"], ["y"], name="head"))
    inits += [w("wh", (D, 10), 42), numpy_helper.from_array(np.array(1e-6, np.float32), "eps")]
    save(nodes, inits, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])], [1, T, 10], path,
         (("hn",) if layer else ("s2", "hn")) if outputs else ())


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    for name, build, arg, inp, shape in (("vit", vit, 1, "img", (B, 4, 8, 8)), ("vit_grouped", vit, 2, "img", (B, 4, 8, 8)),
                                         ("embeds_rms", embeds, False, "x", (1, T, D)),
                                         ("embeds_ln", embeds, True, "x", (1, T, D))):
        d = os.path.join(out, name)
        os.makedirs(os.path.join(d, "calib"), exist_ok=True)
        build(os.path.join(d, "model.onnx"), arg)
        build(os.path.join(d, "outputs.onnx"), arg, True)
        xs = rng.standard_normal((4,) + shape).astype(np.float32)
        if inp == "x":
            xs[..., 3] *= 20  # an outlier channel, as trained models' embeddings have
        np.save(os.path.join(d, "calib", f"{inp}.npy"), xs)
        np.save(os.path.join(d, "x0.npy"), xs[0])
        json.dump({"input": {"name": inp}, "output": {"name": "y"}}, open(os.path.join(d, "reference.json"), "w"))


if __name__ == "__main__":
    main()
