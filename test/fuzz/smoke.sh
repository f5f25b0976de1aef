#!/bin/sh
# CI smoke run of the fuzz harnesses.
#  1. Replay (gating): fuzz_import over every seed (make_corpus.py's
#     models, the example CNN) and every committed regression, fuzz_npy
#     over make_npy_seeds.py's files, each input once. Any crash, sanitizer
#     report, silent refusal, timeout or OOM fails the test (exit 1).
#  2. Mutation (reporting): SECONDS of fuzz_import from those inputs, then
#     SECONDS/4 of fuzz_npy. What it finds is new, and which inputs a run
#     reaches is random (libFuzzer's seed, and qcc's pointer-keyed maps
#     under ASLR), so a finding does not fail CI: it is copied to
#     FINDINGS_DIR (default ./fuzz-findings), printed with its base64, and
#     the test ends "skipped" (exit 77), visible in ctest's summary. Each
#     finding is then fixed and its input added to test/fuzz/regressions,
#     where step 1 gates on it (docs/fuzzing.md).
# Exit 77 (skipped) also where the harnesses were not built: they need
# clang's libFuzzer and a -DQCC_FUZZ=ON build.
# Usage: smoke.sh FUZZ_IMPORT_BINARY SOURCE_ROOT [SECONDS]
bin=$1 src=$2 secs=${3:-20}
if [ ! -x "$bin" ]; then
  echo "fuzz_import not built (configure with clang and -DQCC_FUZZ=ON): skipped"
  exit 77
fi
npy_bin="$(dirname "$bin")/fuzz_npy"
findings=${FINDINGS_DIR:-$PWD/fuzz-findings}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/new" "$work/seeds" "$work/npy" "$work/npy_new" "$work/art"
/usr/bin/python3 "$src/test/fuzz/make_corpus.py" "$work/seeds" || exit 1
cp "$src/examples/digits_cnn/model.onnx" "$work/seeds/digits_cnn.onnx"
/usr/bin/python3 "$src/test/fuzz/make_npy_seeds.py" "$work/npy_model.onnx" "$work/npy" || exit 1
export QCC_FUZZ_NPY_MODEL="$work/npy_model.onnx"
# -close_fd_mask=2 silences qcc's own error lines; libFuzzer and the
# sanitizers report through a copy of stderr it keeps.
limits="-close_fd_mask=2 -timeout=10 -rss_limit_mb=3000 -malloc_limit_mb=2000 -print_final_stats=1"

echo "== replay: seeds and regressions"
"$bin" "$work/seeds" "$src/test/fuzz/regressions" -runs=0 $limits -artifact_prefix="$work/art/" || exit 1
"$npy_bin" "$work/npy" -runs=0 -max_len=4096 $limits -artifact_prefix="$work/art/" || exit 1

echo "== mutation: $secs s of fuzz_import, $((secs / 4 + 1)) s of fuzz_npy"
found=0
"$bin" "$work/new" "$work/seeds" "$src/test/fuzz/regressions" -max_total_time="$secs" $limits \
  -artifact_prefix="$work/art/import-" || found=1
"$npy_bin" "$work/npy_new" "$work/npy" -max_total_time=$((secs / 4 + 1)) -max_len=4096 $limits \
  -artifact_prefix="$work/art/npy-" || found=1
if [ $found = 1 ]; then
  mkdir -p "$findings"
  for f in "$work"/art/*; do
    [ -f "$f" ] || continue
    cp "$f" "$findings/"
    echo "FUZZ FINDING: $findings/$(basename "$f") (base64: $(base64 -w0 "$f"))"
  done
  echo "the mutation run found new inputs (above): fix them and add each to test/fuzz/regressions"
  exit 77
fi
exit 0
