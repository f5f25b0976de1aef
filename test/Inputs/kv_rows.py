#!/usr/bin/python3
"""Helpers for test/passes/kv-cache.test (qcc --kv-bits on make_alias_models.py's cache.onnx).

  kv_rows.py inputs DIR        writes q, idx (rows 2, 3), new_k, new_v, empty caches
                               (zero bytes: empty4 [1,6,10], empty8 [1,6,8]) and idx2
                               (rows 4 and -1, i.e. 5) as .npy, and calib/ (4 samples
                               with float caches)
  kv_rows.py sqnr BITS DIR     the round-trip SQNR of DIR's float caches, encoded in numpy
  kv_rows.py check BITS DIR    decodes DIR/k.npy and DIR/v.npy by the documented row
                               layout (runtime/qrt.h QRT_KV_PARAMS) and checks: rows 2, 3
                               hold new_k / new_v within half a step, other rows zeros
"""
import os
import sys

import numpy as np


def decode(bits, packed, row_len):
    rows = packed.reshape(-1, packed.shape[-1])
    s = rows[:, 0:4].copy().view(np.float32)[:, 0]
    if bits == 8:
        codes = rows[:, 4:4 + row_len].view(np.int8).astype(np.float32)
        return codes * s[:, None], s
    lo = rows[:, 4:8].copy().view(np.float32)[:, 0]
    nib = np.stack([rows[:, 8:] & 15, rows[:, 8:] >> 4], axis=-1).reshape(rows.shape[0], -1)[:, :row_len]
    return lo[:, None] + nib.astype(np.float32) * s[:, None], s


def encode_decode(bits, x):
    """Round trip of float32 rows x [rows, D] by the documented rules, in float32."""
    f = np.float32
    if bits == 8:
        amax = np.abs(x).max(axis=1, keepdims=True)
        inv = np.where(amax > 0, f(127) / np.where(amax > 0, amax, f(1)), f(0)).astype(f)
        c = np.clip(np.rint(x * inv), -127, 127)
        return (c * (amax / f(127))).astype(f)
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    rng = (hi - lo).astype(f)
    inv = np.where(rng > 0, f(15) / np.where(rng > 0, rng, f(1)), f(0)).astype(f)
    c = np.clip(np.rint(((x - lo).astype(f) * inv).astype(f)), 0, 15).astype(f)
    return (lo + (c * (rng / f(15))).astype(f)).astype(f)


def main():
    rng = np.random.default_rng(7)
    d = sys.argv[-1]
    if sys.argv[1] == "inputs":
        np.save(os.path.join(d, "q.npy"), rng.standard_normal((1, 1, 4)).astype(np.float32))
        np.save(os.path.join(d, "idx.npy"), np.array([[[2] * 4, [3] * 4]], np.int64))
        np.save(os.path.join(d, "idx2.npy"), np.array([[[4] * 4, [-1] * 4]], np.int64))
        np.save(os.path.join(d, "new_k.npy"), (3 * rng.standard_normal((1, 2, 4))).astype(np.float32))
        np.save(os.path.join(d, "new_v.npy"), rng.standard_normal((1, 2, 4)).astype(np.float32))
        np.save(os.path.join(d, "empty4.npy"), np.zeros((1, 6, 10), np.uint8))
        np.save(os.path.join(d, "empty8.npy"), np.zeros((1, 6, 8), np.uint8))
        cal = os.path.join(d, "calib")  # 4 samples with float caches, for --report
        os.makedirs(cal, exist_ok=True)
        for name, shape in (("q", (1, 1, 4)), ("past_k", (1, 6, 4)), ("new_k", (1, 2, 4)), ("past_v", (1, 6, 4)),
                            ("new_v", (1, 2, 4))):
            np.save(os.path.join(cal, name + ".npy"), rng.standard_normal((4,) + shape).astype(np.float32))
        np.save(os.path.join(cal, "idx.npy"), np.tile(np.array([[[2] * 4, [3] * 4]], np.int64), (4, 1, 1, 1)))
        return
    bits = int(sys.argv[2])
    if sys.argv[1] == "sqnr":  # of the calibration caches' round trip, as --report computes it
        sig = noise = 0.0
        for c in ("past_k", "past_v"):
            x = np.load(os.path.join(d, c + ".npy")).reshape(-1, 4)
            y = encode_decode(bits, x)
            sig += (x.astype(np.float64) ** 2).sum()
            noise += ((x.astype(np.float64) - y) ** 2).sum()
        print(f"SQNR {10 * np.log10(sig / noise):.2f} dB")
        return
    for c in "kv":
        new = np.load(os.path.join(d, f"new_{c}.npy"))[0]
        got, s = decode(bits, np.load(os.path.join(d, f"{c}.npy")), 4)
        err = np.abs(got[2:4] - new).max(axis=1)
        if (err > 0.5 * s[2:4] * 1.0001 + 1e-6).any() or np.abs(got[[0, 1, 4, 5]]).max() != 0:
            sys.exit(f"FAIL: {c}: rows 2, 3 off by {err} (steps {s[2:4]}) or other rows not zero")
        print(f"{c}: written rows within half a step ({err.max():.3g} <= {0.5 * s[2:4].max():.3g}), others zero")


if __name__ == "__main__":
    main()
