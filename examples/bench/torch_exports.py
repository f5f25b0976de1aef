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
each model's ops, opsets and torch-vs-ORT error. Not run in CI.

SET=more exports a second set instead (session 34): Whisper's encoder,
T5's encoder (relative position buckets), Qwen2 (q/k/v biases), Gemma
(tanh GELU, (1 + w) norms, scaled embeddings), Mistral (sliding window),
DistilBERT, wav2vec2 (conv feature extractor, GroupNorm, positional conv),
Swin (shifted windows), Mamba (selective scan), CLIP's text tower,
torchvision ResNet-18 and EfficientNet-B0."""
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


def hf(name, model, inputs, names, calib_fn, out=lambda r: r[0]):
    """A transformers model wrapped to return one tensor, with 16 calibration samples."""
    class W(torch.nn.Module):
        def __init__(s): super().__init__(); s.m = model.eval()
        def forward(s, *xs): return out(s.m(**dict(zip(names, xs))))
    cal = {n: np.stack([c.numpy() for c in cs]) for n, cs in zip(names, zip(*[calib_fn() for _ in range(16)]))}
    save(name, W().eval(), inputs, names, calib=cal)


def more():
    lm = dict(vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64)
    tok = lambda: (ids(1, 16, V),)
    logits = lambda r: r.logits
    run("qwen2", lambda: hf("qwen2", tf.Qwen2ForCausalLM(tf.Qwen2Config(**lm)), list(tok()), ["input_ids"], tok, logits))
    run("gemma", lambda: hf("gemma", tf.GemmaForCausalLM(tf.GemmaConfig(head_dim=16, **lm)), list(tok()),
                            ["input_ids"], tok, logits))
    run("mistral", lambda: hf("mistral", tf.MistralForCausalLM(tf.MistralConfig(sliding_window=8, **lm)),
                              list(tok()), ["input_ids"], tok, logits))
    run("distilbert", lambda: hf("distilbert", tf.DistilBertModel(tf.DistilBertConfig(
        vocab_size=V, dim=64, n_layers=2, n_heads=4, hidden_dim=128, max_position_embeddings=64)),
        list(tok()), ["input_ids"], tok, lambda r: r.last_hidden_state))
    run("t5_encoder", lambda: hf("t5_encoder", tf.T5EncoderModel(tf.T5Config(
        vocab_size=V, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4)), list(tok()), ["input_ids"], tok,
        lambda r: r.last_hidden_state))
    run("clip_text", lambda: hf("clip_text", tf.CLIPTextModel(tf.CLIPTextConfig(
        vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=64)), list(tok()), ["input_ids"], tok, lambda r: r.last_hidden_state))
    mel = lambda: (torch.randn(1, 16, 64),)
    run("whisper_encoder", lambda: hf("whisper_encoder", tf.WhisperModel(tf.WhisperConfig(
        vocab_size=V, num_mel_bins=16, d_model=64, encoder_layers=2, encoder_attention_heads=4, decoder_layers=1,
        decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, max_source_positions=32)).get_encoder(),
        list(mel()), ["input_features"], mel, lambda r: r.last_hidden_state))
    wav = lambda: (torch.randn(1, 1600),)
    run("wav2vec2", lambda: hf("wav2vec2", tf.Wav2Vec2Model(tf.Wav2Vec2Config(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        conv_dim=(32, 32, 32), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4)), list(wav()), ["input_values"], wav, lambda r: r.last_hidden_state))
    img = lambda: (torch.randn(1, 3, 32, 32),)
    run("swin", lambda: hf("swin", tf.SwinForImageClassification(tf.SwinConfig(
        image_size=32, patch_size=2, embed_dim=32, depths=[2, 2], num_heads=[2, 4], window_size=4, num_labels=10)),
        list(img()), ["pixel_values"], img, logits))
    run("mamba", lambda: hf("mamba", tf.MambaForCausalLM(tf.MambaConfig(
        vocab_size=V, hidden_size=64, state_size=8, num_hidden_layers=2, expand=2, conv_kernel=4)),
        list(tok()), ["input_ids"], tok, logits))
    import torchvision
    run("resnet18", lambda: tv("resnet18", torchvision.models.resnet18, 64))
    run("efficientnet_b0", lambda: tv("efficientnet_b0", torchvision.models.efficientnet_b0, 64))


if os.environ.get("SET") == "more":
    more()
    json.dump(log, open(os.path.join(OUT, "log.json"), "w"), indent=1, default=str)
    print(json.dumps(log, indent=1, default=str)[:8000])
    sys.exit(0)

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
