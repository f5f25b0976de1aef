#!/usr/bin/python3
"""Models as ONNX Runtime's own tools leave them, for qcc's contrib-op
checks (docs/conformance.md, "ONNX Runtime's contrib operators"): small
random-weight networks exported by torch, then
  - quantize_static in the QOperator format (QLinearConv, QLinearAdd,
    QLinearGlobalAveragePool, ...) and in the QDQ format: SqueezeNet 1.1 and
    MobileNetV2 from torchvision;
  - the transformer optimizer (EmbedLayerNormalization, Attention,
    SkipLayerNormalization, BiasGelu / FastGelu): BERT and GPT-2 from
    transformers;
  - quantize_dynamic of the optimized BERT;
  - MatMulNBitsQuantizer (4-bit blocks of 32): a Llama.
Each model gets its inputs (in_<name>.npy), ONNX Runtime's outputs
(out_0.npy) and 16 calibration samples (calib/), as torch_exports.py does:

    OUT=DIR python3 examples/bench/ort_tool_exports.py

(STEPS=cnns for the CNNs only; ARCHS=mobilenet_v2,resnet18 names other
torchvision models, SIZE=224 another input size.)

needs torch, torchvision, transformers, onnx and onnxruntime (the GPU
machine has them), then here, per model:

    /usr/bin/python3 examples/bench/try_export.py build/qcc DIR/bert_opt

DIR/log.json lists each model's ops (with their domains). Not run in CI."""
import json
import os
import time
import traceback

import numpy as np
import onnx
import onnxruntime as ort
import torch

OUT = os.environ["OUT"]
torch.manual_seed(0)
rng = np.random.default_rng(0)
log = {}


def ops_of(path):
    m = onnx.load(path)
    return sorted({n.op_type + ("@" + n.domain if n.domain else "") for n in m.graph.node})


def finish(name, path, feeds, calib):
    """ORT's outputs for feeds, the inputs and calibration samples beside
    the model, and the model's ops in the log."""
    d = os.path.dirname(path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    feeds = {k: v for k, v in feeds.items() if k in names}
    outs = sess.run(None, feeds)
    for k, v in feeds.items():
        np.save(os.path.join(d, "in_%s.npy" % k), v)
    for i, o in enumerate(outs):
        np.save(os.path.join(d, "out_%d.npy" % i), o)
    cd = os.path.join(d, "calib")
    os.makedirs(cd, exist_ok=True)
    for k in names:
        np.save(os.path.join(cd, "%s.npy" % k), np.stack([c[k] for c in calib]))
    log[name] = {"ops": ops_of(path), "outputs": [list(o.shape) for o in outs]}


def export(model, inputs, names, path, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(model, tuple(inputs), path, input_names=names, external_data=False, **kw)


class Reader:
    """quantize_static's calibration data reader over a list of feeds."""

    def __init__(self, feeds):
        self.it = iter(feeds)

    def get_next(self):
        return next(self.it, None)


def step(name, fn):
    t0 = time.time()
    try:
        fn()
        log.setdefault(name, {})["seconds"] = round(time.time() - t0, 1)
    except Exception as e:
        log[name] = "failed: " + repr(e)[:600]
        traceback.print_exc()


def cnns():
    import torchvision
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    size = int(os.environ.get("SIZE", "64"))
    for arch in os.environ.get("ARCHS", "squeezenet1_1,mobilenet_v2").split(","):
        model = getattr(torchvision.models, arch)(num_classes=10).eval()
        x = torch.randn(1, 3, size, size)
        base = os.path.join(OUT, arch + "_f32", "model.onnx")
        export(model, [x], ["x"], base, opset_version=17, dynamo=False)
        calib = [{"x": rng.standard_normal((1, 3, size, size)).astype(np.float32)} for _ in range(16)]
        finish(arch + "_f32", base, {"x": x.numpy()}, calib)
        pre = base.replace(".onnx", "_pre.onnx")
        quant_pre_process(base, pre)
        for fmt, tag in [(QuantFormat.QOperator, "qop"), (QuantFormat.QDQ, "qdq")]:
            name = "%s_%s" % (arch, tag)
            path = os.path.join(OUT, name, "model.onnx")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            quantize_static(pre, path, Reader(calib), quant_format=fmt, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=True)
            finish(name, path, {"x": x.numpy()}, calib)


class Wrap(torch.nn.Module):
    """A transformers model called with keyword arguments, returning one
    tensor (the exporter passes inputs by position)."""

    def __init__(self, model, names, field):
        super().__init__()
        self.model, self.names, self.field = model, names, field

    def forward(self, *args):
        return getattr(self.model(**dict(zip(self.names, args))), self.field)


def transformers_models():
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    S = 16
    bert = transformers.BertModel(transformers.BertConfig(
        vocab_size=128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        max_position_embeddings=64)).eval()
    ids = torch.randint(0, 128, (1, S))
    mask = torch.ones(1, S, dtype=torch.int64)
    mask[0, 12:] = 0
    types = torch.zeros(1, S, dtype=torch.int64)
    types[0, 8:] = 1
    base = os.path.join(OUT, "bert_f32", "model.onnx")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    export(Wrap(bert, names, "last_hidden_state"), [ids, mask, types], names, base, opset_version=14, dynamo=False)
    feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": types.numpy()}
    calib = [{"input_ids": rng.integers(0, 128, (1, S)), "attention_mask": np.ones((1, S), np.int64),
              "token_type_ids": np.zeros((1, S), np.int64)} for _ in range(16)]
    finish("bert_f32", base, feeds, calib)
    opt = optimize_model(base, model_type="bert", num_heads=4, hidden_size=64)
    path = os.path.join(OUT, "bert_opt", "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    opt.save_model_to_file(path)
    finish("bert_opt", path, feeds, calib)
    dyn = os.path.join(OUT, "bert_opt_dynq", "model.onnx")
    os.makedirs(os.path.dirname(dyn), exist_ok=True)
    quantize_dynamic(path, dyn, weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finish("bert_opt_dynq", dyn, feeds, calib)

    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=128, n_positions=64, n_embd=64, n_layer=2, n_head=4, use_cache=False)).eval()
    ids = torch.randint(0, 128, (1, S))
    base = os.path.join(OUT, "gpt2_f32", "model.onnx")
    export(Wrap(gpt2, ["input_ids"], "logits"), [ids], ["input_ids"], base, opset_version=18)
    calib = [{"input_ids": rng.integers(0, 128, (1, S))} for _ in range(16)]
    finish("gpt2_f32", base, {"input_ids": ids.numpy()}, calib)
    opt = optimize_model(base, model_type="gpt2", num_heads=4, hidden_size=64)
    path = os.path.join(OUT, "gpt2_opt", "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    opt.save_model_to_file(path)
    finish("gpt2_opt", path, {"input_ids": ids.numpy()}, calib)


def llama_nbits():
    import transformers
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    S = 16
    llama = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, use_cache=False)).eval()
    ids = torch.randint(0, 128, (1, S))
    base = os.path.join(OUT, "llama_f32", "model.onnx")
    export(Wrap(llama, ["input_ids"], "logits"), [ids], ["input_ids"], base, opset_version=18)
    calib = [{"input_ids": rng.integers(0, 128, (1, S))} for _ in range(16)]
    finish("llama_f32", base, {"input_ids": ids.numpy()}, calib)
    q = MatMulNBitsQuantizer(onnx.load(base), block_size=32, is_symmetric=False)
    q.process()
    path = os.path.join(OUT, "llama_nbits", "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    q.model.save_model_to_file(path, False)
    finish("llama_nbits", path, {"input_ids": ids.numpy()}, calib)


if __name__ == "__main__":
    steps = os.environ.get("STEPS", "cnns,transformers,llama").split(",")
    for name, fn in [("cnns", cnns), ("transformers", transformers_models), ("llama", llama_nbits)]:
        if name in steps:
            step(name, fn)
    log["versions"] = {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__}
    with open(os.path.join(OUT, "log.json"), "w") as f:
        json.dump(log, f, indent=1)
    print(json.dumps(log, indent=1))
