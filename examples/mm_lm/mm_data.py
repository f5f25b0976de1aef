#!/usr/bin/python3
"""mm_lm's data: sequences of text characters and image-patch tokens, as
train.py trains on and evaluates them (and eval_split.py writes its larger
held-out split from), without torch. Deterministic: every function takes its
numpy RandomState."""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
T = 48              # sequence length
P = 16              # pixels per patch (4x4)
PATCHES = 4         # tokens per image
N_CLASSES = 10


def load_text():
    with open(os.path.join(HERE, "..", "char_lm", "corpus.txt"), encoding="utf-8") as f:
        train = f.read()
    with open(os.path.join(HERE, "..", "char_lm", "eval.txt"), encoding="utf-8") as f:
        ev = f.read()
    with open(os.path.join(HERE, "..", "char_lm", "vocab.json"), encoding="utf-8") as f:
        chars = json.load(f)["chars"]
    return train, ev, chars


PROTOS = (np.random.RandomState(1234).rand(N_CLASSES, 8, 8) < 0.4).astype(np.float32)


def glyph(rng, c):
    """An 8x8 image of class c: its prototype with 12% of pixels flipped and noise."""
    img = PROTOS[c].copy()
    flip = rng.rand(8, 8) < 0.12
    img[flip] = 1 - img[flip]
    img = img * rng.uniform(0.6, 1.0) + rng.normal(0, 0.15, (8, 8))
    return np.clip(img, 0, 1).astype(np.float32)


def patches(img):
    return img.reshape(2, 4, 2, 4).transpose(0, 2, 1, 3).reshape(PATCHES, P)


def make_sample(rng, text_ids, stoi, img_id, n_images=None):
    """One sequence: text with n_images images (each followed by '=' and its
    class digit) at random places. Returns ids, pix, mod, labels (next-token
    targets at positions whose next token is text, else -1), answers (position
    of each '=' and the class digit's id)."""
    if n_images is None:
        n_images = rng.randint(0, 3)      # 0, 1 or 2 images
    ids = np.zeros(T, np.int64)
    pix = np.zeros((T, P), np.float32)
    mod = np.zeros(T, np.float32)
    start = rng.randint(0, len(text_ids) - T)
    ids[:] = text_ids[start:start + T]
    slots = sorted(rng.choice(np.arange(0, T - PATCHES - 2, PATCHES + 2), n_images, replace=False)) \
        if n_images else []
    answers = []
    for s in slots:
        c = rng.randint(N_CLASSES)
        ids[s:s + PATCHES] = img_id
        pix[s:s + PATCHES] = patches(glyph(rng, c))
        mod[s:s + PATCHES] = 1
        ids[s + PATCHES] = stoi["="]
        ids[s + PATCHES + 1] = stoi[str(c)]
        answers.append((s + PATCHES, stoi[str(c)]))
    labels = np.full(T, -1, np.int64)
    nxt_text = mod[1:] == 0
    labels[:-1][nxt_text] = ids[1:][nxt_text]
    return ids, pix, mod, labels, answers


def make_set(rng, n, text_ids, stoi, img_id, n_images=None):
    out = [make_sample(rng, text_ids, stoi, img_id, n_images) for _ in range(n)]
    ids, pix, mod, labels = (np.stack([o[i] for o in out]) for i in range(4))
    ans = np.full((n, 2, 2), -1, np.int64)          # [sample, image, (position, digit id)]
    for k, o in enumerate(out):
        for j, a in enumerate(o[4]):
            ans[k, j] = a
    return ids, pix, mod, labels, ans
