#!/usr/bin/python3
"""Writes mm_lm's larger held-out split: the 1024 sequences (1057 answers)
that train.py evaluates as "1024 eval sequences" (make_set with seed
SEED + 3 over ../char_lm/eval.txt), in test/'s layout, so that
check_multimodal.py --test-dir OUT (and msq_table.py --test-dir OUT) can
measure a quantized build with 16 times the resolution of the committed
64-sequence split: one answer there is 1.4 points of accuracy, here 0.1.

OUT/reference.json holds the torch float metrics of this split as
train.py measured them (reference.json's eval1024_bpc and
eval1024_answer_accuracy), under the keys check_multimodal.py reads.
The split is not committed (3.5 MB); it takes a second to make.

usage: /usr/bin/python3 examples/mm_lm/eval_split.py OUT
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0            # train.py's; the split is make_set(RandomState(SEED + 3), 1024, ...)
sys.path.insert(0, HERE)
import mm_data  # noqa: E402  (train.py's data, without torch)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    _, eval_text, chars = mm_data.load_text()
    stoi = {c: i for i, c in enumerate(chars)}
    eval_ids = np.array([stoi[c] for c in eval_text], np.int64)
    ids, pix, mod, labels, ans = mm_data.make_set(np.random.RandomState(SEED + 3), 1024, eval_ids, stoi,
                                                len(chars))
    for name, a in zip(("ids", "pix", "mod"), (ids, pix, mod)):
        np.save(os.path.join(out, f"{name}.npy"), a[:, None])
    np.save(os.path.join(out, "labels.npy"), labels)
    np.save(os.path.join(out, "answers.npy"), ans)
    ref = json.load(open(os.path.join(HERE, "reference.json")))
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"test_bpc": ref["eval1024_bpc"], "test_answer_accuracy": ref["eval1024_answer_accuracy"],
                   "test_sequences": len(ids), "test_answers": int((ans[..., 0] >= 0).sum())}, f, indent=2)
        f.write("\n")
    print(f"{out}: {len(ids)} sequences, {int((ans[..., 0] >= 0).sum())} answers")


if __name__ == "__main__":
    main()
