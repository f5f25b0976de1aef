#!/usr/bin/env bash
# run_runtime_tests.sh - builds and runs the runtime unit tests.
#
#  1. every test/unit/test_runtime_<family>.c with all runtime/*.c, under
#     -std=c99 -O2 -Wall -Wextra -pedantic -Werror and ASan + UBSan, with
#     cc and (if installed) clang; matmul, conv and the int8 tests again
#     with -O3 -march=native (other vector width and micro-tile); the int8
#     tests also with -mno-avx512f (AVX2 path) and -DQRT_QMM_PORTABLE, and
#     bmatmul's integer path also with -march=skylake-avx512 (no VNNI);
#  2. the amalgamation the code generator produces (QRT_API static, no
#     prototypes, only some files pasted) must compile warning-free;
#  3. determinism: test_runtime_determinism.c built with different
#     compilers / flags must print identical output hashes.
# Usage: test/unit/run_runtime_tests.sh [--bench]   (--bench also runs bench_sgemm, bench_qgemm)
#        test/unit/run_runtime_tests.sh --simd      (only the int8 kernels' compile-time
#        paths, AVX-512 VNNI / AVX2 / portable, with cc under ASan + UBSan: the
#        ctest `runtime_simd_paths`, since the CMake build uses the baseline ISA)
#        test/unit/run_runtime_tests.sh --neon      (the aarch64 NEON paths under
#        qemu-user: the ctest `runtime_neon_paths`; exit 77, skipped, without the
#        cross compiler)
set -u
cd "$(dirname "$0")/../.."
RT=runtime
OUT=${QRT_TEST_OUT:-$(mktemp -d)}
mkdir -p "$OUT" # QRT_TEST_OUT may name a folder not made yet
FAILED=0
SRCS=$(ls $RT/qrt_*.c)
BASE="-std=c99 -O2 -Wall -Wextra -pedantic -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"

compilers="cc"
command -v clang >/dev/null 2>&1 && compilers="$compilers clang"

fail() { echo "FAILED: $*"; FAILED=1; }
RUN=""  # what runs a test program (qemu for --neon)

# The runtime files the tests link (one string of test files): a plain
# -O0 archive built once, and the link map names the members pulled in.
# Sanitized -O3 builds of files no test links (qrt_binary.c alone takes
# 40-75 s there) are skipped so.
linked_srcs() {
  local t
  if [ ! -f "$OUT/rt_map.a" ]; then
    mkdir -p "$OUT/rt_map"
    for f in $SRCS; do cc -std=c99 -O0 -I$RT -c "$f" -o "$OUT/rt_map/$(basename "$f" .c).o" || return 1; done
    ar rcs "$OUT/rt_map.a" "$OUT/rt_map"/*.o
  fi
  for t in $1; do
    cc -std=c99 -O0 -I$RT "$t" "$OUT/rt_map.a" -lm -Wl,-Map="$OUT/map.txt" -o "$OUT/map.exe" &&
      sed -n 's/^[^ ]*\.a(\(qrt_[a-z0-9_]*\)\.o)$/\1/p' "$OUT/map.txt"
  done | sort -u | sed "s|^|$RT/|; s|$|.c|"
}

# Runtime objects are built once per (compiler, flags) and linked into
# every test: all files, or (a fourth argument, one string of test files)
# those the tests link.
build_rt() { # compiler, flags, tag[, tests] -> prints the object list
  local c=$1 flags=$2 tag=$3 objs="" f o srcs=$SRCS
  if [ -n "${4:-}" ]; then srcs=$(linked_srcs "$4") || { fail "link map ($tag)"; return 1; }; fi
  mkdir -p "$OUT/rt_$tag"
  for f in $srcs; do
    o="$OUT/rt_$tag/$(basename "$f" .c).o"
    $c $BASE $flags -I$RT -c "$f" -o "$o" || { fail "build $f ($tag)"; return 1; }
    objs="$objs $o"
  done
  echo "$objs"
}

run_test() { # compiler, flags, objects, test file, tag
  local c=$1 flags=$2 objs=$3 t=$4 tag=$5 exe res rc
  exe="$OUT/$(basename "$t" .c)_$tag"
  if ! $c $BASE $flags -I$RT "$t" $objs -lm -o "$exe"; then fail "build $t ($tag)"; return; fi
  res=$($RUN "$exe" 2>&1)
  rc=$?
  echo "$(basename "$t" .c) [$tag]: $(echo "$res" | tail -1)"
  [ $rc -eq 0 ] || { echo "$res" | tail -20; fail "$t ($tag)"; }
}

QTESTS="test/unit/test_runtime_quant.c test/unit/test_runtime_qmatmul.c test/unit/test_runtime_qmatmul16.c test/unit/test_runtime_qconv.c test/unit/test_runtime_qmatmul_formats.c test/unit/test_runtime_wmatmul_rows.c test/unit/test_runtime_bdot.c test/unit/test_runtime_msq.c test/unit/test_runtime_bdot_enc.c"
# integer-only nonlinear kernels and the DBFP table softmax: also with -O3
# -march=native (vectorized loops)
# float kernels with a vector-extension path (qrt_exp_f32x): exp, sigmoid,
# SiLU, softmax; also with -O3 -march=native and, in --simd, AVX2 and
# without the vector extension (they must agree bit for bit: the tests
# compare with the scalar formulas)
FTESTS="test/unit/test_runtime_exp.c test/unit/test_runtime_unary.c test/unit/test_runtime_softmax.c"
ITESTS="test/unit/test_runtime_lut.c test/unit/test_runtime_qsoftmax.c test/unit/test_runtime_qnorm.c test/unit/test_runtime_qadd.c test/unit/test_runtime_dbfp.c"
# Whether this CPU runs code built with flags: a probe built with them
# (at -O0, so that nothing but its checks uses the ISA) asks cpuid for
# each x86 extension the flags turn on. Under qemu ($RUN) or off x86 the
# answer is yes. A machine without AVX-512 cannot run the AVX-512 variants
# (an illegal instruction): they are skipped there, saying so.
cpu_runs() { # compiler, flags
  [ -z "$RUN" ] || return 0
  cat > "$OUT/cpu_probe.c" <<'PROBE'
int main(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) return 1;
#endif
#if defined(__FMA__)
  if (!__builtin_cpu_supports("fma")) return 1;
#endif
#if defined(__AVX512F__)
  if (!__builtin_cpu_supports("avx512f")) return 1;
#endif
#if defined(__AVX512BW__)
  if (!__builtin_cpu_supports("avx512bw")) return 1;
#endif
#if defined(__AVX512VL__)
  if (!__builtin_cpu_supports("avx512vl")) return 1;
#endif
#if defined(__AVX512VNNI__)
  if (!__builtin_cpu_supports("avx512vnni")) return 1;
#endif
#endif
  return 0;
}
PROBE
  $1 $2 -O0 "$OUT/cpu_probe.c" -o "$OUT/cpu_probe" 2>/dev/null && "$OUT/cpu_probe"
}

# The int8 kernels' compile-time SIMD paths, each built and tested under
# ASan + UBSan ("tag:flags" variants; skipped where the compiler lacks them
# or the CPU cannot run them).
int8_paths() { # compiler, the tests (one string), then one "tag:flags" argument per variant
  local c=$1 tests=$2 v vt vf objs; shift 2
  for v in "$@"; do
    vt=${v%%:*}; vf=${v#*:}
    $c $vf -E -x c /dev/null >/dev/null 2>&1 || { echo "$vt: not supported by $c here, skipped"; continue; }
    cpu_runs "$c" "$vf" || { echo "$vt: this CPU cannot run $vf, skipped"; continue; }
    objs=$(build_rt "$c" "$vf $SAN" "$c-$vt" "$tests") || { fail "runtime build ($c-$vt)"; continue; }
    for t in $tests; do run_test "$c" "$vf $SAN" "$objs" "$t" "$c-$vt"; done
  done
}

# The runtime files that mention one of the words.
files_naming() { grep -l -w $(printf -- '-e %s ' "$@") $SRCS; }

# A variant's runtime objects: the files given (one string) compiled with
# the variant's flags, the base build's objects for the rest (the files
# the base build skipped left out). Prints the object list.
variant_objs() { # compiler, base tag, flags, tag, files
  local c=$1 base=$2 flags=$3 tag=$4 files=$5 f o objs=""
  mkdir -p "$OUT/rt_$tag"
  for f in $SRCS; do
    o="$OUT/rt_$base/$(basename "$f" .c).o"
    if echo "$files" | grep -qx "$f"; then
      o="$OUT/rt_$tag/$(basename "$f" .c).o"
      $c $BASE $flags -I$RT -c "$f" -o "$o" || return 1
    fi
    [ -f "$o" ] || continue # a file the base build skipped (no test of it links it)
    objs="$objs $o"
  done
  echo "$objs"
}

# A variant that differs from a built one (base tag, base flags) in a few
# files only: those files compiled with the variant's flags, the base's
# objects for the rest (same code, so the same objects); the tests run as
# in int8_paths.  The files: those that mention one of the words (the
# macro a -D flag sets and the names it guards), or, with no words, those
# the tests link from the base build (a different -march changes every
# file, but the tests need only some).
variant_of() { # compiler, base tag, base flags, "tag:flags", tests (one string), words...
  local c=$1 base=$2 bflags=$3 v=$4 tests=$5 vt vf files objs t; shift 5
  vt=${v%%:*}; vf=${v#*:}
  $c $vf -E -x c /dev/null >/dev/null 2>&1 || { echo "$vt: not supported by $c here, skipped"; return; }
  cpu_runs "$c" "$vf" || { echo "$vt: this CPU cannot run $vf, skipped"; return; }
  if [ $# -gt 0 ]; then
    files=$(files_naming "$@")
  else
    files=$(linked_srcs "$tests")
  fi
  objs=$(variant_objs "$c" "$base" "$vf $SAN" "$vt" "$files") || { fail "runtime build ($vt)"; return; }
  echo "$vt: $(echo $files | wc -w) files rebuilt, the rest shared with $base"
  for t in $tests; do run_test "$c" "$vf $SAN" "$objs" "$t" "$vt"; done
}

# The NEON paths (aarch64: plain NEON and the dot-product extension),
# cross-compiled and run under qemu-user with UBSan (ASan needs more than
# qemu gives it): the int8 tests, and the determinism hashes, which must
# equal this machine's except the lines of C library transcendentals.
if [ "${1:-}" = "--neon" ]; then
  XCC=aarch64-linux-gnu-gcc
  if ! command -v $XCC >/dev/null 2>&1 || ! command -v qemu-aarch64 >/dev/null 2>&1; then
    echo "NEON PATH TESTS SKIPPED: $XCC or qemu-aarch64 missing (Debian: gcc-aarch64-linux-gnu qemu-user)"
    exit 77
  fi
  qemu() { QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64 "$@"; }
  # the host's hashes: from the runtime library the build made (ctest
  # names it in QRT_HOST_LIB; every build gives the same hashes, which the
  # default run checks), else from the sources
  host_rt=$SRCS
  [ -f "${QRT_HOST_LIB:-}" ] && host_rt=$QRT_HOST_LIB
  cc $BASE -I$RT test/unit/test_runtime_determinism.c $host_rt -lm -o "$OUT/det_host" &&
    "$OUT/det_host" > "$OUT/det_host.txt" || fail "determinism (host)"
  # qemu runs the tests (run_test's $RUN): every 8th variant, rotating with
  # the case, of the tests that run many (qrt_test_util.h's test_sample);
  # UBSan only
  RUN=qemu
  export QRT_TEST_SAMPLE=8
  SAN="-fsanitize=undefined -fno-sanitize-recover=all"
  if objs=$(build_rt $XCC "-march=armv8-a $SAN" neon "$QTESTS $ITESTS"); then
    for t in $QTESTS $ITESTS; do run_test $XCC "-march=armv8-a $SAN" "$objs" "$t" neon; done
  else
    fail "runtime build (neon)"
  fi
  # the dot-product extension changes only the int8 GEMM kernels' file
  variant_of $XCC neon "-march=armv8-a $SAN" "neon-dotprod:-march=armv8.2-a+dotprod" "$QTESTS" __ARM_FEATURE_DOTPROD
  # the determinism program's runtime: plain objects, built per file, so
  # that the dot-product variant rebuilds only the file its macro changes
  for v in "neon:-march=armv8-a" "neon-dotprod:-march=armv8.2-a+dotprod"; do
    vt=${v%%:*}; vf=${v#*:}
    if [ "$vt" = neon ]; then
      dobjs=$(build_rt $XCC "$vf" det-neon)
    else
      dobjs=$(variant_objs $XCC det-neon "$vf" "det-$vt" "$(files_naming __ARM_FEATURE_DOTPROD)")
    fi
    if [ -n "$dobjs" ] && $XCC $BASE $vf -I$RT test/unit/test_runtime_determinism.c $dobjs -lm -o "$OUT/det_$vt" &&
       qemu "$OUT/det_$vt" > "$OUT/det_$vt.txt"; then
      if diff <(grep -v ' libm ' "$OUT/det_host.txt") <(grep -v ' libm ' "$OUT/det_$vt.txt") >/dev/null; then
        echo "determinism: $vt == host ($(grep -vc ' libm ' "$OUT/det_$vt.txt") hashes; C library transcendentals not compared)"
      else
        diff "$OUT/det_host.txt" "$OUT/det_$vt.txt" | head -10
        fail "determinism: $vt differs from the host"
      fi
    else
      fail "determinism build $vt"
    fi
  done
  [ $FAILED -eq 0 ] && echo "NEON PATH TESTS PASSED" || { echo "NEON PATH TESTS FAILED"; exit 1; }
  exit 0
fi

if [ "${1:-}" = "--simd" ]; then
  # (the float vector-extension tests ride along: one runtime build per variant)
  int8_paths cc "$QTESTS $ITESTS $FTESTS" "native:-O3 -march=native"
  # The variants below build at -O2: the paths are chosen by the ISA
  # macros, not by -O3, and a sanitized -O3 build of their files took 3x
  # as long (CI time).
  # AVX2: the files these tests link, built without AVX-512 (on a CPU
  # without AVX-512 the native build above is that already)
  if cpu_runs cc "-mavx512f"; then
    variant_of cc cc-native "-O3 -march=native $SAN" "avx2:-O2 -march=native -mno-avx512f" "$QTESTS $ITESTS $FTESTS"
  else
    echo "avx2: this CPU has no AVX-512, so the native build was the AVX2 one: not built again"
  fi
  # the portable int8 kernels and the float kernels without the vector
  # extension: only the files that test those macros differ from native
  variant_of cc cc-native "-O3 -march=native $SAN" "portable:-O2 -march=native -DQRT_QMM_PORTABLE" "$QTESTS $ITESTS" \
    QRT_QMM_PORTABLE
  variant_of cc cc-native "-O3 -march=native $SAN" "f32-novec:-O2 -march=native -DQRT_NO_VECTOR_EXT" "$FTESTS" \
    QRT_NO_VECTOR_EXT QRT_HAVE_F32X QRT_F32V_LANES QRT_F32X_LANES QRT_F32X_UNROLL qrt_f32x qrt_f32v qrt_exp_f32x QRT_F32X_EACH
  # AVX-512 without VNNI: bmatmul's integer path takes its int16 kernel
  # and the C int8 one there (the files the bdot tests link)
  variant_of cc cc-native "-O3 -march=native $SAN" "avx512bw:-O2 -march=skylake-avx512" \
    "test/unit/test_runtime_bdot.c test/unit/test_runtime_bdot_enc.c"
  [ $FAILED -eq 0 ] && echo "SIMD PATH TESTS PASSED" || { echo "SIMD PATH TESTS FAILED"; exit 1; }
  exit 0
fi

echo "== unit tests"
for c in $compilers; do
  objs=$(build_rt "$c" "$SAN" "$c") || continue
  for t in test/unit/test_runtime_*.c; do
    case $t in *determinism*) continue ;; esac
    run_test "$c" "$SAN" "$objs" "$t" "$c"
  done
  if $c -march=native -E -x c /dev/null >/dev/null 2>&1; then
    objs=$(build_rt "$c" "-O3 -march=native $SAN" "$c-native") || continue
    for t in test/unit/test_runtime_matmul.c test/unit/test_runtime_conv.c $QTESTS $ITESTS $FTESTS; do
      run_test "$c" "-O3 -march=native $SAN" "$objs" "$t" "$c-native"
    done
  fi
  # the default build above is the portable C one (x86-64 baseline: no
  # AVX2); -march=native above is AVX-512 VNNI where the CPU has it
  int8_paths "$c" "$QTESTS" "avx2:-O3 -march=native -mno-avx512f" "portable:-O3 -march=native -DQRT_QMM_PORTABLE"
  int8_paths "$c" "test/unit/test_runtime_bdot.c test/unit/test_runtime_bdot_enc.c" "avx512bw:-O3 -march=skylake-avx512"
done

echo "== amalgamation (generator style: QRT_API static, QRT_NO_PROTOTYPES)"
amalg() { # output file, list of runtime .c files (dependencies first), trailing file
  local o=$1; shift
  {
    echo '#define QRT_API static QRT_MAYBE_UNUSED'
    echo '#define QRT_NO_PROTOTYPES'
    cat $RT/qrt_dtype.h
    grep -v '^#include "qrt_dtype.h"' $RT/qrt.h
    for f in "$@"; do grep -v '^#include "qrt.h"' "$f"; done
  } > "$o"
}
# files other files need first (QRT_FILE_DEPS)
DEPS_FIRST="$RT/qrt_parallel.c $RT/qrt_broadcast.c $RT/qrt_matmul.c $RT/qrt_qmatmul.c $RT/qrt_quant.c $RT/qrt_unary.c $RT/qrt_softmax.c $RT/qrt_fmt_bfp.c $RT/qrt_fmt_mx.c $RT/qrt_fmt.c $RT/qrt_bdot_enc.c $RT/qrt_bdot.c $RT/qrt_scatter.c"
# (qrt_npu.c and qrt_npu_fmt.c, the NPU stream executor, are never pasted into generated C:
# it calls every kernel through a table, so it links the runtime library)
ALL_ORDERED="$DEPS_FIRST $(ls $RT/qrt_*.c | grep -v -e qrt_parallel.c -e qrt_broadcast.c -e qrt_matmul.c -e qrt_qmatmul.c -e qrt_quant.c -e qrt_unary.c -e qrt_softmax.c -e qrt_fmt -e qrt_bdot.c -e qrt_bdot_enc.c -e qrt_scatter.c -e qrt_npu)"
for set in "$RT/qrt_pool.c" "$RT/qrt_parallel.c $RT/qrt_matmul.c $RT/qrt_conv.c" "$RT/qrt_parallel.c $RT/qrt_cast.c $RT/qrt_unary.c" \
           "$RT/qrt_parallel.c $RT/qrt_qmatmul.c $RT/qrt_qconv.c" "$RT/qrt_parallel.c $RT/qrt_quant.c" "$RT/qrt_parallel.c $RT/qrt_quant.c $RT/qrt_unary.c $RT/qrt_softmax.c $RT/qrt_lut.c" \
           "$RT/qrt_qsoftmax.c" "$RT/qrt_qnorm.c" "$RT/qrt_parallel.c $RT/qrt_matmul.c $RT/qrt_softmax.c $RT/qrt_attention.c" \
           "$RT/qrt_parallel.c $RT/qrt_matmul.c $RT/qrt_qmatmul.c $RT/qrt_quant.c $RT/qrt_qmatmul_float.c" \
           "$RT/qrt_parallel.c $RT/qrt_matmul.c $RT/qrt_fmt_bfp.c $RT/qrt_fmt_mx.c $RT/qrt_fmt.c $RT/qrt_bdot_enc.c $RT/qrt_bdot.c $RT/qrt_bmatmul.c" "$ALL_ORDERED"; do
  amalg "$OUT/amalg.c" $set
  echo 'int main(void) { return 0; }' >> "$OUT/amalg.c"
  for c in $compilers; do
    for mf in "" "-march=native" "-march=native -mno-avx512f"; do
      $c $BASE $mf -c "$OUT/amalg.c" -o "$OUT/amalg.o" || fail "amalgamation ($c $mf): $set"
    done
  done
done
echo "amalgamation: done"

echo "== determinism across builds"
DET=test/unit/test_runtime_determinism.c
det_build() { # tag, compiler, flags...
  local tag=$1 c=$2; shift 2
  if $c "$@" -I$RT $DET $SRCS -lm -o "$OUT/det_$tag" && "$OUT/det_$tag" > "$OUT/det_$tag.txt"; then
    echo "$tag"
  else
    fail "determinism build $tag"
  fi
}
tags=""
tags="$tags $(det_build gcc-O0 cc -std=c99 -O0)"
tags="$tags $(det_build gcc-O2 cc -std=c99 -O2)"
tags="$tags $(det_build gcc-O3-native cc -std=c99 -O3 -march=native)"
tags="$tags $(det_build gcc-gnu99-O3-native cc -std=gnu99 -O3 -march=native)"
tags="$tags $(det_build gcc-O2-novec cc -std=c99 -O2 -DQRT_NO_VECTOR_EXT)"
tags="$tags $(det_build gcc-O2-avx2 cc -std=c99 -O2 -mavx2 -mfma)"
if command -v clang >/dev/null 2>&1; then
  tags="$tags $(det_build clang-O1 clang -std=c99 -O1)"
  tags="$tags $(det_build clang-O3-native clang -std=c99 -O3 -march=native)"
  tags="$tags $(det_build clang-gnu99-O3-native clang -std=gnu99 -O3 -march=native)"
fi
# the pasted, all-static form
amalg "$OUT/det_amalg.c" $ALL_ORDERED
cat $DET >> "$OUT/det_amalg.c"
if cc -std=c99 -O3 -march=native -I$RT -Itest/unit "$OUT/det_amalg.c" -lm -o "$OUT/det_amalg" &&
   "$OUT/det_amalg" > "$OUT/det_amalg.txt"; then tags="$tags amalg"; else fail "determinism amalgamation"; fi
ref=""
for t in $tags; do
  [ -n "$t" ] || continue
  if [ -z "$ref" ]; then ref=$t; continue; fi
  if cmp -s "$OUT/det_$ref.txt" "$OUT/det_$t.txt"; then
    echo "determinism: $t == $ref ($(wc -l < "$OUT/det_$t.txt") hashes)"
  else
    diff "$OUT/det_$ref.txt" "$OUT/det_$t.txt" | head -10
    fail "determinism: $t differs from $ref"
  fi
done

if [ "${1:-}" = "--bench" ]; then
  echo "== bench_sgemm (cc -O3 -march=native)"
  cc -std=c99 -O3 -march=native -I$RT test/unit/bench_sgemm.c $RT/qrt_matmul.c -o "$OUT/bench_sgemm" && "$OUT/bench_sgemm"
  echo "== bench_qgemm (cc -O3 -march=native)"
  cc -std=c99 -O3 -march=native -I$RT test/unit/bench_qgemm.c $RT/qrt_parallel.c $RT/qrt_qmatmul.c $RT/qrt_matmul.c -lm -o "$OUT/bench_qgemm" && "$OUT/bench_qgemm"
fi

if [ $FAILED -ne 0 ]; then echo "RUNTIME TESTS FAILED"; exit 1; fi
echo "ALL RUNTIME TESTS PASSED"
