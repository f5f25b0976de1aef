#!/usr/bin/python3
"""The Hessian-trace proxy (--sensitivity-metric hessian) against the
measured sensitivity (mse) on a model where the proxy's assumptions hold:
one matmul y = x W whose output is the model's output, x isotropic
Gaussian. There the probe's gain is 1 and the layer's relative output
error is the inverse SQNR of its weights plus that of its input, so both
metrics must agree for every scheme; prints one line per scheme with the
ratio hessian / mse and "ok" when it lies in [0.9, 1.1].

usage: sensitivity_proxy_check.py QCC WORK_DIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SCHEMES = ["w8a16", "w4a16", "w8a8", "w4a8", "w8i16", "mxint8", "mxfp4", "bbfp4"]


def main():
    qcc, work = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(work, "calib"), exist_ok=True)
    rng = np.random.default_rng(3)
    w = rng.standard_normal((128, 96)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], "one",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 128])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 96])],
                          [numpy_helper.from_array(w, "w")])
    model = os.path.join(work, "one.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
    np.save(os.path.join(work, "calib", "x.npy"), rng.standard_normal((8, 64, 128)).astype(np.float32))
    ok = True
    for s in SCHEMES:
        sens = {}
        for metric in ("mse", "hessian"):
            report = os.path.join(work, f"{s}_{metric}.json")
            # 16 bits per weight: f32 does not fit, so the layer takes s
            subprocess.run([qcc, model, "-o", os.path.join(work, "m.c"), "-q", "auto", "--avg-bits", "16",
                            "--formats", s, "--calib", os.path.join(work, "calib"), "--sensitivity-metric", metric,
                            "--report", report], check=True)
            layer = json.load(open(report))["allocation"]["layers"][0]
            assert layer["scheme"] == s, layer
            sens[metric] = layer["sensitivity"]
        r = sens["hessian"] / sens["mse"]
        good = 0.9 <= r <= 1.1
        ok &= good
        print(f"{s}: mse {sens['mse']:.4g} hessian {sens['hessian']:.4g} ratio {r:.3f} {'ok' if good else 'FAIL'}")
    print("proxy: PASS" if ok else "proxy: FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
