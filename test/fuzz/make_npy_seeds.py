#!/usr/bin/python3
"""Seeds for fuzz_npy (the .npy reader, --bind and --calib):

  make_npy_seeds.py MODEL_OUT SEED_DIR
    MODEL_OUT  the harness's model: y = MatMul(Reshape(x, s), w), x float
               [2, 3], s int64 [2] (the input --bind freezes), w [3, 4]
    SEED_DIR   .npy files: the valid binding s = [2, 3] and calibration
               sample x (a batch of 2), every element type the reader
               knows, format versions 1, 2 and 3, big-endian, Fortran
               order, scalars and empty arrays, and truncated ones. Each
               seed's first byte selects the path (0: --bind s, 1: --calib
               x; see fuzz_npy.c), the rest is the file.
"""
import io
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def npy_bytes(a, version=None, fortran=False):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, np.asfortranarray(a) if fortran else a, version=version)
    else:
        np.save(b, np.asfortranarray(a) if fortran else a)
    return b.getvalue()


def main():
    model_out, seeds = sys.argv[1], sys.argv[2]
    os.makedirs(seeds, exist_ok=True)
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    g = helper.make_graph(
        [helper.make_node("Reshape", ["x", "s"], ["r"], name="reshape"),
         helper.make_node("MatMul", ["r", "w"], ["y"], name="proj")], "npy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("s", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model_out)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 3)).astype(np.float32)
    files = {
        "bind_s": (0, npy_bytes(np.array([2, 3], np.int64))),
        "bind_s_i32": (0, npy_bytes(np.array([2, 3], np.int32))),
        "bind_s_wrong": (0, npy_bytes(np.array([3, 3], np.int64))),
        "bind_s_be": (0, npy_bytes(np.array([2, 3], ">i8"))),
        "bind_s_v2": (0, npy_bytes(np.array([2, 3], np.int64), version=(2, 0))),
        "bind_s_v3": (0, npy_bytes(np.array([2, 3], np.int64), version=(3, 0))),
        "bind_scalar": (0, npy_bytes(np.array(6, np.int64))),
        "bind_empty": (0, npy_bytes(np.zeros((0,), np.int64))),
        "calib_x": (1, npy_bytes(x)),
        "calib_x_f64": (1, npy_bytes(x.astype(np.float64))),
        "calib_x_f16": (1, npy_bytes(x.astype(np.float16))),
        "calib_x_fortran": (1, npy_bytes(x, fortran=True)),
        "calib_x_bool": (1, npy_bytes(x > 0)),
        "calib_x_u8": (1, npy_bytes((x * 10).astype(np.uint8))),
        "calib_x_nan": (1, npy_bytes(np.full((2, 2, 3), np.nan, np.float32))),
        "calib_x_truncated": (1, npy_bytes(x)[:-7]),
        "calib_x_header_only": (1, npy_bytes(x)[:60]),
    }
    for name, (sel, data) in files.items():
        with open(os.path.join(seeds, name), "wb") as f:
            f.write(bytes([sel]) + data)
    print(f"{len(files)} seeds in {seeds}")


if __name__ == "__main__":
    main()
