#!/usr/bin/env bash
# selftest.sh - check test/tools/ort_run.js and npy.js against numpy.
#
# Builds small ONNX models with Debian's python3-onnx into a temp dir, runs
# them through ort_run.js and compares the outputs with numpy. Exits nonzero on
# any mismatch.
#
# usage: test/tools/selftest.sh            (needs: node, npm install done in
#                                           test/tools, /usr/bin/python3 with
#                                           numpy and onnx)
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-/usr/bin/python3}"
NODE="${NODE:-node}"
RUN="$HERE/ort_run.js"

if [ ! -d "$HERE/node_modules/onnxruntime-node" ]; then
  echo "selftest: onnxruntime-node missing; run: (cd $HERE && npm install --ignore-scripts)" >&2
  exit 1
fi
if ! "$PY" -c 'import numpy, onnx' 2>/dev/null; then
  echo "selftest: $PY lacks numpy/onnx (apt-get install python3-numpy python3-onnx)" >&2
  exit 1
fi

T="$(mktemp -d "${TMPDIR:-/tmp}/ort_selftest.XXXXXX")"
trap 'rm -rf "$T"' EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }

# --- build models and inputs -------------------------------------------------
"$PY" - "$T" <<'EOF' || { echo "selftest: model generation failed" >&2; exit 1; }
import sys, os
import numpy as np
import onnx
from onnx import helper, TensorProto as TP

T = sys.argv[1]
rng = np.random.default_rng(1234)

def save(model, name):
    model.ir_version = 8
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", 13))
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(T, name))

# 1. Y = MatMul(A, B) + C ; Z = Relu(Y)
g = helper.make_graph(
    [helper.make_node("MatMul", ["A", "B"], ["AB"]),
     helper.make_node("Add", ["AB", "C"], ["out:y/0"]),
     helper.make_node("Relu", ["out:y/0"], ["Z"])],
    "mm",
    [helper.make_tensor_value_info("A", TP.FLOAT, [3, 4]),
     helper.make_tensor_value_info("B", TP.FLOAT, [4, 5]),
     helper.make_tensor_value_info("C", TP.FLOAT, [5])],
    [helper.make_tensor_value_info("out:y/0", TP.FLOAT, [3, 5]),
     helper.make_tensor_value_info("Z", TP.FLOAT, [3, 5])])
save(helper.make_model(g), "mm.onnx")
A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal((4, 5)).astype(np.float32)
C = rng.standard_normal((5,)).astype(np.float32)
np.save(os.path.join(T, "A.npy"), A)
np.save(os.path.join(T, "B.npy"), B)
np.save(os.path.join(T, "C.npy"), C)
Y = A @ B + C
np.save(os.path.join(T, "exp_y.npy"), Y)
np.save(os.path.join(T, "exp_Z.npy"), np.maximum(Y, 0))
# batch of 4 samples of A (leading sample axis), saved as format v2.0
As = rng.standard_normal((4, 3, 4)).astype(np.float32)
with open(os.path.join(T, "A_samples.npy"), "wb") as f:
    np.lib.format.write_array(f, As, version=(2, 0))
np.save(os.path.join(T, "exp_y_s2.npy"), As[2] @ B + C)
# wrong dtype / shape / order inputs
np.save(os.path.join(T, "A_f64.npy"), A.astype(np.float64))
np.save(os.path.join(T, "A_bad_shape.npy"), rng.standard_normal((3, 3)).astype(np.float32))
np.save(os.path.join(T, "A_fortran.npy"), np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)))
with open(os.path.join(T, "A_trunc.npy"), "wb") as f:
    f.write(open(os.path.join(T, "A.npy"), "rb").read()[:-7])

# 2. Identity for every supported dtype: checks npy read + write per dtype.
types = [("f4", TP.FLOAT, np.float32), ("f8", TP.DOUBLE, np.float64),
         ("f2", TP.FLOAT16, np.float16), ("i8", TP.INT64, np.int64),
         ("i4", TP.INT32, np.int32), ("i2", TP.INT16, np.int16),
         ("i1", TP.INT8, np.int8), ("u1", TP.UINT8, np.uint8),
         ("u2", TP.UINT16, np.uint16), ("b1", TP.BOOL, np.bool_)]
nodes, ins, outs = [], [], []
for code, tp, dt in types:
    shape = [2, 3] if code != "i8" else [7]
    nodes.append(helper.make_node("Identity", ["x_" + code], ["y_" + code]))
    ins.append(helper.make_tensor_value_info("x_" + code, tp, shape))
    outs.append(helper.make_tensor_value_info("y_" + code, tp, shape))
    if dt == np.bool_:
        a = rng.integers(0, 2, shape).astype(np.bool_)
    elif np.issubdtype(dt, np.integer):
        ii = np.iinfo(dt)
        a = rng.integers(ii.min, ii.max, shape, dtype=dt, endpoint=True)
        a.flat[0] = ii.min
        a.flat[-1] = ii.max
    else:
        a = (rng.standard_normal(shape) * 100).astype(dt)
    np.save(os.path.join(T, "x_%s.npy" % code), a)
# a big-endian float32 input file is converted on read
save(helper.make_model(helper.make_graph(nodes, "ident", ins, outs)), "ident.onnx")
nodes = [helper.make_node("Identity", ["x"], ["y"])]
save(helper.make_model(helper.make_graph(nodes, "be",
     [helper.make_tensor_value_info("x", TP.FLOAT, [2, 2])],
     [helper.make_tensor_value_info("y", TP.FLOAT, [2, 2])])), "be.onnx")
np.save(os.path.join(T, "x_be.npy"), np.array([[1.5, -2], [3e10, 4]], dtype=">f4"))
EOF

# --- helpers ----------------------------------------------------------------
# compare FILE_GOT FILE_EXP [rtol atol]: same dtype, shape and values
compare() {
  "$PY" - "$@" <<'EOF'
import sys
import numpy as np
got = np.load(sys.argv[1]); exp = np.load(sys.argv[2])
rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
atol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-6
if got.dtype != exp.dtype.newbyteorder("=") or got.shape != exp.shape:
    print("  dtype/shape %s %s != %s %s" % (got.dtype, got.shape, exp.dtype, exp.shape)); sys.exit(1)
if np.issubdtype(got.dtype, np.floating):
    ok = np.allclose(got, exp, rtol=rtol, atol=atol)
else:
    ok = np.array_equal(got, exp)
if not ok:
    print("  values differ, max abs diff %g" % np.max(np.abs(got.astype(np.float64) - exp.astype(np.float64)))); sys.exit(1)
EOF
}

# expect_fail NAME PATTERN CMD...: command exits nonzero, stderr is one line matching PATTERN
expect_fail() {
  local name="$1" pat="$2"
  shift 2
  local err rc
  err="$("$@" 2>&1 >/dev/null)"
  rc=$?
  if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && printf '%s' "$err" | grep -qE -- "$pat"; then
    ok "$name"
  else
    bad "$name (rc=$rc, stderr: $err)"
  fi
}

# --- 1. MatMul + Add + Relu -------------------------------------------------
if "$NODE" "$RUN" "$T/mm.onnx" --input A="$T/A.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/o1" &&
  compare "$T/o1/out_y_0.npy" "$T/exp_y.npy" && compare "$T/o1/Z.npy" "$T/exp_Z.npy"; then
  ok "matmul+add+relu matches numpy (output name sanitized)"
else
  bad "matmul+add+relu"
fi

# the comparison itself must catch a difference
if compare "$T/exp_y.npy" "$T/exp_Z.npy" >/dev/null; then bad "compare detects a mismatch"; else ok "compare detects a mismatch"; fi

# --- 2. sample axis (input file in .npy v2.0) --------------------------------
if "$NODE" "$RUN" "$T/mm.onnx" --input A="$T/A_samples.npy" --input B="$T/B.npy" --input C="$T/C.npy" \
  --sample 2 --threads 2 --out-dir "$T/o2" && compare "$T/o2/out_y_0.npy" "$T/exp_y_s2.npy"; then
  ok "--sample 2 of a v2.0 file"
else
  bad "--sample"
fi

# --- 3. every dtype through Identity -----------------------------------------
args=()
for c in f4 f8 f2 i8 i4 i2 i1 u1 u2 b1; do args+=(--input "x_$c=$T/x_$c.npy"); done
if "$NODE" "$RUN" "$T/ident.onnx" "${args[@]}" --out-dir "$T/o3"; then
  for c in f4 f8 f2 i8 i4 i2 i1 u1 u2 b1; do
    if compare "$T/o3/y_$c.npy" "$T/x_$c.npy" 0 0; then ok "dtype $c round trip"; else bad "dtype $c round trip"; fi
  done
else
  bad "identity model run"
fi
if "$NODE" "$RUN" "$T/be.onnx" --input "x=$T/x_be.npy" --out-dir "$T/o4" && compare "$T/o4/y.npy" "$T/x_be.npy" 0 0; then
  ok "big-endian input converted"
else
  bad "big-endian input"
fi

# --- 4. benchmark line --------------------------------------------------------
out="$("$NODE" "$RUN" "$T/mm.onnx" --input A="$T/A.npy" --input B="$T/B.npy" --input C="$T/C.npy" \
  --out-dir "$T/o5" --bench 5 --warmup 1)"
if printf '%s\n' "$out" | grep -qE '^ort_ms_per_run [0-9]+\.[0-9]+ [0-9]+\.[0-9]+$' && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
  ok "--bench prints '$out'"
else
  bad "--bench output: '$out'"
fi

# --- 5. errors -----------------------------------------------------------------
M=("$NODE" "$RUN" "$T/mm.onnx")
expect_fail "missing model" "nope.onnx: no such file" "$NODE" "$RUN" "$T/nope.onnx" --input A="$T/A.npy" --out-dir "$T/x"
expect_fail "missing input file" "nope.npy: no such file" "${M[@]}" --input A="$T/nope.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "wrong input name" "no input 'Q'.*inputs are: A \(float32 \[3, 4\]\), B" "${M[@]}" --input Q="$T/A.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "input not given" "no --input given for model input\(s\) 'C'" "${M[@]}" --input A="$T/A.npy" --input B="$T/B.npy" --out-dir "$T/x"
expect_fail "dtype mismatch" "float64.*model input is float32" "${M[@]}" --input A="$T/A_f64.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "shape mismatch (from ORT)" "inference failed: .*[Dd]im" "${M[@]}" --input A="$T/A_bad_shape.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "sample axis without --sample" "pass --sample K" "${M[@]}" --input A="$T/A_samples.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "--sample out of range" "--sample 9 out of range.*4 samples" "${M[@]}" --input A="$T/A_samples.npy" --input B="$T/B.npy" --input C="$T/C.npy" --sample 9 --out-dir "$T/x"
expect_fail "fortran order rejected" "fortran_order is True" "${M[@]}" --input A="$T/A_fortran.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "truncated npy" "A_trunc.npy: data size mismatch" "${M[@]}" --input A="$T/A_trunc.npy" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "not an npy" "bad magic" "${M[@]}" --input A="$T/mm.onnx" --input B="$T/B.npy" --input C="$T/C.npy" --out-dir "$T/x"
expect_fail "bad option" "unknown option '--frob'" "${M[@]}" --frob

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
