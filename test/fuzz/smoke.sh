#!/bin/sh
# CI smoke run of the fuzz harnesses: fuzz_import over every seed
# (make_corpus.py's models, the example CNN, the committed regressions)
# once, then SECONDS of mutation; then fuzz_npy (next to it) over
# make_npy_seeds.py's files for SECONDS/4.
# Exit 77 (skipped) where the harnesses were not built: they need clang's
# libFuzzer and a -DQCC_FUZZ=ON build (docs/fuzzing.md).
# Usage: smoke.sh FUZZ_IMPORT_BINARY SOURCE_ROOT [SECONDS]
bin=$1 src=$2 secs=${3:-20}
if [ ! -x "$bin" ]; then
  echo "fuzz_import not built (configure with clang and -DQCC_FUZZ=ON): skipped"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/new" "$work/seeds" "$work/npy"
/usr/bin/python3 "$src/test/fuzz/make_corpus.py" "$work/seeds" || exit 1
cp "$src/examples/digits_cnn/model.onnx" "$work/seeds/digits_cnn.onnx"
# -close_fd_mask=2 silences qcc's own error lines; libFuzzer and the
# sanitizers report through a copy of stderr it keeps.
"$bin" "$work/new" "$work/seeds" "$src/test/fuzz/regressions" -max_total_time="$secs" \
  -close_fd_mask=2 -timeout=10 -rss_limit_mb=3000 -malloc_limit_mb=2000 -artifact_prefix="$work/" \
  -print_final_stats=1 || exit 1
/usr/bin/python3 "$src/test/fuzz/make_npy_seeds.py" "$work/npy_model.onnx" "$work/npy" || exit 1
QCC_FUZZ_NPY_MODEL="$work/npy_model.onnx" exec "$(dirname "$bin")/fuzz_npy" "$work/npy" \
  -max_total_time=$((secs / 4 + 1)) -max_len=4096 -close_fd_mask=2 -timeout=10 -rss_limit_mb=3000 \
  -malloc_limit_mb=2000 -artifact_prefix="$work/" -print_final_stats=1
