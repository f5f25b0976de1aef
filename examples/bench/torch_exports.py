#!/usr/bin/python3
"""Real exporters' output for qcc's robustness checks: small random-weight
configurations of transformers models (GPT-2, Llama with GQA and outlier
norm gains, BERT with a padding mask, ViT) and torchvision CNNs (SqueezeNet
1.1, MobileNetV3-Small, ShuffleNetV2 x0.5), exported with torch.onnx's
default (the dynamo exporter, opset 20 in torch 2.11) and Llama once more
at opset 23 (Attention and RMSNormalization nodes). Each model gets its
inputs, ONNX Runtime's outputs (out_0.npy) and 16 calibration samples:

    OUT=DIR python3 examples/bench/torch_exports.py

needs torch, torchvision, transformers, onnx and onnxruntime (the GPU
machine has them; Debian 12 has none of the last three), then here:

    /usr/bin/python3 examples/bench/try_export.py build/qcc DIR/llama -q w8a8

(docs/robustness.md, "Models from torch's exporter"). DIR/log.json lists
each model's ops, opsets and torch-vs-ORT error. Not run in CI."""
import os, sys, json, traceback, time
import numpy as np
import torch
import onnx, onnxruntime as ort

OUT = os.environ["OUT"]
torch.manual_seed(0)
rng = np.random.default_rng(0)
log = {}


def save(name, model, inputs, names, opset=None, dynamo=True, calib=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    t0 = time.time()
    try:
        kw = {}
        if opset: kw["opset_version"] = opset
        torch.onnx.export(model, tuple(inputs), path, input_names=names, dynamo=dynamo, external_data=False, **kw)
    except Exception as e:
        log[name] = "export failed: " + repr(e)[:500]
        traceback.print_exc()
        return
    m = onnx.load(path)
    ops = sorted({n.op_type + ("@" + n.domain if n.domain else "") for n in m.graph.node})
    opsets = {o.domain: o.version for o in m.opset_import}
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {i.name: x.numpy() for i, x in zip(sess.get_inputs(), inputs)}
    outs = sess.run(None, feeds)
    for k, v in feeds.items():
        np.save(os.path.join(d, "in_%s.npy" % k), v)
    for i, o in enumerate(outs):
        np.save(os.path.join(d, "out_%d.npy" % i), o)
    with torch.no_grad():
        ref = model(*inputs)
    if isinstance(ref, (tuple, list)): ref = ref[0]
    if hasattr(ref, "logits"): ref = ref.logits
    if hasattr(ref, "last_hidden_state"): ref = ref.last_hidden_state
    err = float(np.abs(ref.numpy() - outs[0]).max()) if hasattr(ref, "numpy") else -1
    if calib:
        cd = os.path.join(d, "calib")
        os.makedirs(cd, exist_ok=True)
        for k, v in calib.items():
            np.save(os.path.join(cd, k + ".npy"), v)
    log[name] = {"ops": ops, "opsets": opsets, "inputs": [(i.name, i.shape, i.type) for i in sess.get_inputs()],
                 "outputs": [(o.name, o.shape) for o in sess.get_outputs()], "torch_vs_ort": err,
                 "functions": len(m.functions), "export_s": time.time() - t0, "bytes": os.path.getsize(path)}


def ids(b, t, v):
    return torch.tensor(rng.integers(0, v, size=(b, t)), dtype=torch.long)


def run(name, fn):
    try:
        fn()
    except Exception as e:
        log[name] = "failed: " + repr(e)[:500]
        traceback.print_exc()


import transformers as tf

V = 128


def gpt2(dyn=True, opset=None, tag="gpt2"):
    cfg = tf.GPT2Config(vocab_size=V, n_embd=64, n_layer=2, n_head=4, n_positions=64)
    m = tf.GPT2LMHeadModel(cfg).eval()
    m.config.use_cache = False
    x = ids(1, 16, V)
    cal = {"input_ids": np.stack([ids(1, 16, V).numpy() for _ in range(16)])}
    class W(torch.nn.Module):
        def __init__(s): super().__init__(); s.m = m
        def forward(s, input_ids): return s.m(input_ids=input_ids, use_cache=False).logits
    save(tag, W().eval(), [x], ["input_ids"], opset=opset, dynamo=dyn, calib=cal)


def llama(opset=None, tag="llama"):
    cfg = tf.LlamaConfig(vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    m = tf.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # outliers as trained LLMs have: a few channels with large norm gains
        for l in m.model.layers:
            l.input_layernorm.weight[3] = 20.0
    x = ids(1, 16, V)
    cal = {"input_ids": np.stack([ids(1, 16, V).numpy() for _ in range(16)])}
    class W(torch.nn.Module):
        def __init__(s): super().__init__(); s.m = m
        def forward(s, input_ids): return s.m(input_ids=input_ids, use_cache=False).logits
    save(tag, W().eval(), [x], ["input_ids"], opset=opset, calib=cal)


def bert():
    cfg = tf.BertConfig(vocab_size=V, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=64)
    m = tf.BertModel(cfg).eval()
    x = ids(1, 16, V)
    mask = torch.ones(1, 16, dtype=torch.long); mask[0, 12:] = 0
    tt = torch.zeros(1, 16, dtype=torch.long)
    cal = {"input_ids": np.stack([ids(1, 16, V).numpy() for _ in range(16)]),
           "attention_mask": np.stack([mask.numpy()] * 16), "token_type_ids": np.stack([tt.numpy()] * 16)}
    class W(torch.nn.Module):
        def __init__(s): super().__init__(); s.m = m
        def forward(s, input_ids, attention_mask, token_type_ids):
            return s.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
    save("bert", W().eval(), [x, mask, tt], ["input_ids", "attention_mask", "token_type_ids"], calib=cal)


def vit():
    cfg = tf.ViTConfig(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=128, num_labels=10)
    m = tf.ViTForImageClassification(cfg).eval()
    x = torch.randn(1, 3, 32, 32)
    cal = {"pixel_values": np.random.default_rng(1).standard_normal((16, 1, 3, 32, 32)).astype(np.float32)}
    class W(torch.nn.Module):
        def __init__(s): super().__init__(); s.m = m
        def forward(s, pixel_values): return s.m(pixel_values=pixel_values).logits
    save("vit", W().eval(), [x], ["pixel_values"], calib=cal)


def tv(name, ctor, hw):
    import torchvision
    m = ctor(weights=None).eval()
    x = torch.randn(1, 3, hw, hw)
    cal = {"input": np.random.default_rng(2).standard_normal((16, 1, 3, hw, hw)).astype(np.float32)}
    save(name, m, [x], ["input"], calib=cal)


import torchvision
run("gpt2", gpt2)
run("llama", llama)
run("llama_op23", lambda: llama(opset=23, tag="llama_op23"))
run("bert", bert)
run("vit", vit)
run("squeezenet", lambda: tv("squeezenet", torchvision.models.squeezenet1_1, 64))
run("mobilenet_v3_small", lambda: tv("mobilenet_v3_small", torchvision.models.mobilenet_v3_small, 64))
run("shufflenet", lambda: tv("shufflenet", torchvision.models.shufflenet_v2_x0_5, 64))
json.dump(log, open(os.path.join(OUT, "log.json"), "w"), indent=1, default=str)
print(json.dumps(log, indent=1, default=str)[:6000])
