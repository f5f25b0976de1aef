#!/usr/bin/env bash
# npy_numpy_check.sh - cross-check compiler/npy.c against numpy.
#
# numpy writes .npy files (every supported dtype, format versions 1.0/2.0/3.0,
# big-endian data, scalars, empty and rank-8 arrays); a small C driver built
# from compiler/npy.c reads each one, reports dtype and shape, and writes it
# back. The check compares the driver's report with numpy, loads the file the
# driver wrote with numpy and compares values, and requires the written file
# to be byte-identical to numpy's own np.save of the same array. Files numpy
# writes that npy.c must refuse (complex, object, unicode, structured, Fortran
# order) must fail with a clear message.
#
# usage: test/unit/npy_numpy_check.sh
#   env: CC (default cc), PYTHON (default /usr/bin/python3, needs numpy),
#        SAN=1 to build the driver with -fsanitize=address,undefined
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CC="${CC:-cc}"
PY="${PYTHON:-/usr/bin/python3}"

if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "npy_numpy_check: $PY has no numpy (apt-get install python3-numpy)" >&2
  exit 1
fi

T="$(mktemp -d "${TMPDIR:-/tmp}/npy_numpy_check.XXXXXX")"
trap 'rm -rf "$T"' EXIT

cat >"$T/driver.c" <<'EOF'
/* driver IN.npy OUT.npy: read IN, print "dtype_name d0,d1,...", write OUT. */
#include "npy.h"
#include <inttypes.h>
#include <stdio.h>
int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: driver IN.npy OUT.npy\n");
    return 2;
  }
  qcc_array a;
  char err[512];
  if (qcc_npy_read(argv[1], &a, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  printf("%s ", qcc_dtype_name(a.dtype));
  for (int i = 0; i < a.rank; i++) printf("%s%" PRId64, i ? "," : "", a.dims[i]);
  printf("\n");
  if (qcc_npy_write(argv[2], &a, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    qcc_array_free(&a);
    return 1;
  }
  qcc_array_free(&a);
  return 0;
}
EOF

CFLAGS=(-std=c11 -Wall -Wextra -pedantic -Werror -O1 -g)
if [ "${SAN:-0}" = 1 ]; then CFLAGS+=(-fsanitize=address,undefined -fno-sanitize-recover=all); fi
if ! "$CC" "${CFLAGS[@]}" -I"$ROOT/compiler" "$T/driver.c" "$ROOT/compiler/npy.c" -o "$T/driver"; then
  echo "npy_numpy_check: building the driver failed" >&2
  exit 1
fi

"$PY" - "$T" <<'EOF'
import io, os, subprocess, sys
import numpy as np

T = sys.argv[1]
DRIVER = os.path.join(T, "driver")
rng = np.random.default_rng(20240601)
passed = failed = 0

NAMES = {"f4": "float32", "f8": "float64", "f2": "float16", "i1": "int8", "i2": "int16",
         "i4": "int32", "i8": "int64", "u1": "uint8", "u2": "uint16", "u4": "uint32",
         "u8": "uint64", "b1": "bool"}

def report(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL %s %s" % (what, detail), file=sys.stderr)

def values(code, shape):
    dt = np.dtype("|b1" if code == "b1" else "<" + code)
    if code == "b1":
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dt.kind in "iu":
        ii = np.iinfo(dt)
        a = rng.integers(ii.min, ii.max, shape, dtype=dt, endpoint=True)
        if a.size >= 2:
            a.flat[0], a.flat[-1] = ii.min, ii.max
        return a
    a = (rng.standard_normal(shape) * 1000).astype(dt)
    if a.size >= 4:
        a.flat[0], a.flat[1], a.flat[2], a.flat[3] = np.nan, np.inf, -np.inf, -0.0
    return a

def write(path, arr, version):
    with open(path, "wb") as f:
        if version is None:
            np.save(f, arr)
        else:
            np.lib.format.write_array(f, arr, version=version)

def check_ok(name, arr, version=None):
    src = os.path.join(T, name + ".npy")
    out = os.path.join(T, name + ".out.npy")
    write(src, arr, version)
    r = subprocess.run([DRIVER, src, out], capture_output=True, text=True)
    what = "%s (%s %s v%s)" % (name, arr.dtype.str, arr.shape, version)
    if r.returncode != 0:
        report(False, what, "driver failed: " + r.stderr.strip())
        return
    want = "%s %s" % (NAMES[arr.dtype.str[1:]], ",".join(str(d) for d in arr.shape))
    report(r.stdout.strip() == want.strip(), what, "driver says %r, numpy %r" % (r.stdout.strip(), want))
    native = arr.astype(arr.dtype.newbyteorder("<"))
    got = np.load(out)
    report(got.dtype == native.dtype and got.shape == native.shape and got.tobytes() == native.tobytes(),
           what, "values differ after C round trip")
    b = io.BytesIO()
    np.save(b, native)
    report(open(out, "rb").read() == b.getvalue(), what, "C-written file differs from np.save bytes")

def check_err(name, arr, want, allow_pickle=False, version=None):
    src = os.path.join(T, name + ".npy")
    with open(src, "wb") as f:
        if version is None:
            np.save(f, arr, allow_pickle=allow_pickle)
        else:
            np.lib.format.write_array(f, arr, version=version, allow_pickle=allow_pickle)
    r = subprocess.run([DRIVER, src, os.path.join(T, "x.npy")], capture_output=True, text=True)
    msg = r.stderr.strip()
    report(r.returncode == 1 and want in msg and msg.startswith(src) and "\n" not in msg and "Sanitizer" not in r.stderr,
           name, "rc=%d msg=%r (want %r)" % (r.returncode, msg, want))

shapes = [(), (0,), (1,), (7,), (2, 3), (3, 0, 2), (2, 1, 3, 1), (2, 1, 1, 2, 1, 1, 2, 1), (257,)]
for code in NAMES:
    for si, shape in enumerate(shapes):
        check_ok("%s_s%d" % (code, si), values(code, shape))
    for version in [(1, 0), (2, 0), (3, 0)]:
        check_ok("%s_v%d" % (code, version[0]), values(code, (3, 4)), version)
    if code not in ("i1", "u1", "b1"):
        a = values(code, (2, 5)).astype(">" + code)
        check_ok("%s_be" % code, a)

# numpy's own files that must be refused
check_err("c8", np.zeros(3, np.complex64), "unsupported dtype '<c8'")
check_err("c16", np.zeros(3, np.complex128), "unsupported dtype '<c16'")
check_err("unicode", np.array(["ab", "c"]), "unsupported dtype '<U2'")
check_err("bytes", np.array([b"ab", b"c"]), "unsupported dtype '|S2'")
check_err("object", np.array([1, "x"], dtype=object), "unsupported dtype '|O'", allow_pickle=True)
check_err("datetime", np.array(["2024-01-01"], dtype="datetime64[D]"), "unsupported dtype '<M8[D]'")
check_err("record", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]), "structured")
check_err("fortran", np.asfortranarray(np.zeros((2, 3), np.float32)), "fortran order")
check_err("transposed", np.zeros((3, 2), np.int64).T, "fortran order", version=(2, 0))
check_err("rank9", np.zeros((1,) * 9, np.uint8), "rank 9 exceeds the maximum rank 8")
check_err("rank32", np.zeros((1,) * 32, np.uint8), "rank 32 exceeds")
# a numpy file cut short
a = np.arange(10, dtype=np.float64)
src = os.path.join(T, "cut.npy")
np.save(src, a)
data = open(src, "rb").read()
for cut, want in [(len(data) - 1, "data size mismatch"), (100, "truncated"), (9, "truncated"), (3, "truncated")]:
    with open(src, "wb") as f:
        f.write(data[:cut])
    r = subprocess.run([DRIVER, src, os.path.join(T, "x.npy")], capture_output=True, text=True)
    report(r.returncode == 1 and want in r.stderr, "cut at %d" % cut, r.stderr.strip())

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
