#!/usr/bin/python3
"""try_export.py QCC MODEL_DIR [qcc flags...]: one model of torch_exports.py
through qcc (with --calib MODEL_DIR/calib for every -q), its C built with
ASan/UBSan and run on the model's inputs; prints the largest error against
ONNX Runtime's out_0.npy, the SQNR and the top-1 agreement of the last
axis. Work files go to $TMPDIR/try_export/<model>_<flags>."""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
qcc, d, flags = sys.argv[1], sys.argv[2], sys.argv[3:]
tag = "_".join(f.strip("-").replace("/", "") for f in flags if not f.startswith("/"))[:60] or "f32"
w = os.path.join(tempfile.gettempdir(), "try_export", os.path.basename(d.rstrip("/")) + "_" + tag)
os.makedirs(w, exist_ok=True)
import onnx
m = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
names = [i.name for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
ins = [os.path.join(d, "in_%s.npy" % n) for n in names]
extra = []
if any(f.startswith("-q") for f in flags): extra = ["--calib", os.path.join(d, "calib")]
r = subprocess.run([qcc, os.path.join(d, "model.onnx"), "-o", w + "/m.c", "--emit-main", w + "/main.c"] + flags + extra, capture_output=True, text=True)
if r.returncode:
    print("COMPILE FAIL:", r.stderr.strip()[-600:]); sys.exit(1)
r = subprocess.run(["cc", "-std=c99", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", w + "/m.c", w + "/main.c", "-lm", "-o", w + "/p"], capture_output=True, text=True)
if r.returncode:
    print("CC FAIL:", r.stderr[-800:]); sys.exit(1)
os.makedirs(w + "/out", exist_ok=True)
r = subprocess.run([w + "/p"] + ins + ["--out", w + "/out"], capture_output=True, text=True)
if r.returncode:
    print("RUN FAIL:", r.stderr[-800:]); sys.exit(1)
got = sorted(glob.glob(w + "/out/*.npy"))
want = np.load(os.path.join(d, "out_0.npy"))
g = np.load(got[0]).astype(np.float64).reshape(want.shape)
err = np.abs(g - want).max(); rng = np.abs(want).max()
sq = 10 * np.log10((want.astype(np.float64) ** 2).sum() / max(((g - want) ** 2).sum(), 1e-300))
top = (g.reshape(-1, want.shape[-1]).argmax(-1) == want.reshape(-1, want.shape[-1]).argmax(-1)).mean()
print("OK max|err| %.3g (range %.3g) SQNR %.1f dB top1-agree %.3f" % (err, rng, sq, top))
