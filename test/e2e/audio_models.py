"""Writes STFT / MelWeightMatrix models, inputs and numpy references to DIR
(test/e2e/audio.test). Usage: audio_models.py DIR

  stft_win.onnx     real signal [2, 300, 1], frame_step 7, a run-time window
                    of 32 (onesided): frames do not tile the signal exactly
  stft_complex.onnx complex signal [1, 64, 2], frame_step 5, frame_length 12
                    constant, onesided=0, no window
  mel.onnx          |STFT|^2 (Hann window 64, step 16, a 16 kHz signal)
                    times MelWeightMatrix(20, 64, 16000, 20, 8000): a
                    log-mel front end as speech models export it
  bad_step.onnx     frame_step a graph input (must be bound)
  bad_length.onnx   frame_length longer than the signal
  bad_edges.onnx    upper edge above the Nyquist frequency

Each model NAME gets NAME_in_*.npy inputs and NAME_ref.npy (float64
reference, computed directly from the ONNX specification's definitions)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(7)


def save(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def const(name, v):
    return numpy_helper.from_array(np.asarray(v), name)


def stft_ref(x, step, length, window, onesided):
    """Frames [f*step, f*step+length) times the window, DFT of each."""
    sig = x[..., 0] + (1j * x[..., 1] if x.shape[-1] == 2 else 0)
    frames = (sig.shape[1] - length) // step + 1
    w = np.ones(length) if window is None else window.astype(np.float64)
    out = np.stack([np.fft.fft(sig[:, f * step:f * step + length] * w, axis=-1) for f in range(frames)], axis=1)
    if onesided:
        out = out[..., :length // 2 + 1]
    return np.stack([out.real, out.imag], axis=-1)


def mel_ref(mels, dft, rate, lo, hi):
    bins = dft // 2 + 1
    to_mel = lambda f: 2595 * np.log10(1 + f / 700)
    step = (to_mel(hi) - to_mel(lo)) / (mels + 2)
    pts = np.arange(mels + 2) * step + to_mel(lo)
    pts = np.floor((dft + 1) * (700 * (10 ** (pts / 2595) - 1)) / rate).astype(int)
    m = np.zeros((bins, mels))
    for i in range(mels):
        l, c, r = pts[i], pts[i + 1], pts[i + 2]
        if c == l:
            m[c, i] = 1
        else:
            for j in range(l, c + 1):
                m[j, i] = (j - l) / (c - l)
        for j in range(c, r):
            m[j, i] = (r - j) / (r - c)
    return m


f32 = TensorProto.FLOAT

# real signal, run-time window
x = rng.standard_normal((2, 300, 1)).astype(np.float32)
w = rng.uniform(0.2, 1.0, 32).astype(np.float32)
save("stft_win", [helper.make_node("STFT", ["x", "step", "w"], ["y"])],
     [helper.make_tensor_value_info("x", f32, [2, 300, 1]), helper.make_tensor_value_info("w", f32, [32])],
     [helper.make_tensor_value_info("y", f32, None)], [const("step", np.int64(7))])
np.save(os.path.join(OUT, "stft_win_in_x.npy"), x)
np.save(os.path.join(OUT, "stft_win_in_w.npy"), w)
np.save(os.path.join(OUT, "stft_win_ref.npy"), stft_ref(x.astype(np.float64), 7, 32, w, True))

# complex signal, two-sided, frame_length without a window
xc = rng.standard_normal((1, 64, 2)).astype(np.float32)
save("stft_complex", [helper.make_node("STFT", ["x", "step", "", "len"], ["y"], onesided=0)],
     [helper.make_tensor_value_info("x", f32, [1, 64, 2])], [helper.make_tensor_value_info("y", f32, None)],
     [const("step", np.int64(5)), const("len", np.int64(12))])
np.save(os.path.join(OUT, "stft_complex_in_x.npy"), xc)
np.save(os.path.join(OUT, "stft_complex_ref.npy"), stft_ref(xc.astype(np.float64), 5, 12, None, False))

# a log-mel front end: power spectrum times the filter bank
t = np.arange(1024) / 16000.0
sig = (np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t) +
       0.05 * rng.standard_normal(1024)).astype(np.float32).reshape(1, 1024, 1)
nodes = [
    helper.make_node("HannWindow", ["wlen"], ["win"]),
    helper.make_node("STFT", ["x", "step", "win"], ["spec"]),
    helper.make_node("ReduceSumSquare", ["spec"], ["power"], axes=[3], keepdims=0),
    helper.make_node("MelWeightMatrix", ["mels", "dft", "rate", "lo", "hi"], ["fb"]),
    helper.make_node("MatMul", ["power", "fb"], ["melspec"]),
]
save("mel", nodes, [helper.make_tensor_value_info("x", f32, [1, 1024, 1])],
     [helper.make_tensor_value_info("melspec", f32, None)],
     [const("wlen", np.int64(64)), const("step", np.int64(16)), const("mels", np.int64(20)),
      const("dft", np.int64(64)), const("rate", np.int64(16000)), const("lo", np.float32(20)),
      const("hi", np.float32(8000))])
hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(64) / 64)
spec = stft_ref(sig.astype(np.float64), 16, 64, hann, True)
np.save(os.path.join(OUT, "mel_in_x.npy"), sig)
np.save(os.path.join(OUT, "mel_ref.npy"), (spec ** 2).sum(-1) @ mel_ref(20, 64, 16000, 20.0, 8000.0))

# refusals
save("bad_step", [helper.make_node("STFT", ["x", "step", "", "len"], ["y"])],
     [helper.make_tensor_value_info("x", f32, [1, 64, 1]), helper.make_tensor_value_info("step", TensorProto.INT64, [])],
     [helper.make_tensor_value_info("y", f32, None)], [const("len", np.int64(16))])
save("bad_length", [helper.make_node("STFT", ["x", "step", "", "len"], ["y"])],
     [helper.make_tensor_value_info("x", f32, [1, 64, 1])], [helper.make_tensor_value_info("y", f32, None)],
     [const("step", np.int64(4)), const("len", np.int64(65))])
save("bad_edges", [helper.make_node("MelWeightMatrix", ["mels", "dft", "rate", "lo", "hi"], ["fb"])], [],
     [helper.make_tensor_value_info("fb", f32, None)],
     [const("mels", np.int64(8)), const("dft", np.int64(16)), const("rate", np.int64(8000)),
      const("lo", np.float32(0)), const("hi", np.float32(16000))])
