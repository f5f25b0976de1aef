"""Usage: cmp.py RUN_DIR VEC_DIR SCALAR_DIR. The one output of `qcc run`
(RUN_DIR/*.npy) and of the two builds (out0.npy) must be equal bit for bit."""
import glob
import sys

import numpy as np

ref = np.load(glob.glob(sys.argv[1] + "/*.npy")[0])
vec = np.load(sys.argv[2] + "/out0.npy")
scalar = np.load(sys.argv[3] + "/out0.npy")
assert ref.shape == vec.shape == scalar.shape, (ref.shape, vec.shape, scalar.shape)
for name, got in (("vectorized", vec), ("scalar", scalar)):
    if ref.tobytes() != got.tobytes():
        sys.exit(f"{name} build differs from qcc run: max |diff| {np.abs(ref - got).max()}")
print("equal bit for bit:", ref.shape)
