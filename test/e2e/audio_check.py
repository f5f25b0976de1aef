"""Usage: audio_check.py GOT.npy REF.npy REL: GOT has REF's shape and
max |GOT - REF| <= REL * max |REF| (float32 arithmetic against a float64
reference)."""
import sys

import numpy as np

got, ref, rel = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
if got.shape != ref.shape:
    sys.exit(f"shape {got.shape}, want {ref.shape}")
err = np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max()
print(f"max error {err:.2e} of the range")
sys.exit(0 if err <= rel else 1)
