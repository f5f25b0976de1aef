#!/bin/sh
# CI smoke run of the fuzz harness: every seed (make_corpus.py's models,
# the example CNN, the committed regressions) once, then 20 s of mutation.
# Exit 77 (skipped) where the harness was not built: it needs clang's
# libFuzzer and a -DQCC_FUZZ=ON build (docs/fuzzing.md).
# Usage: smoke.sh FUZZ_IMPORT_BINARY SOURCE_ROOT [SECONDS]
bin=$1 src=$2 secs=${3:-20}
if [ ! -x "$bin" ]; then
  echo "fuzz_import not built (configure with clang and -DQCC_FUZZ=ON): skipped"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/new" "$work/seeds"
/usr/bin/python3 "$src/test/fuzz/make_corpus.py" "$work/seeds" || exit 1
cp "$src/examples/digits_cnn/model.onnx" "$work/seeds/digits_cnn.onnx"
# -close_fd_mask=2 silences qcc's own error lines; libFuzzer and the
# sanitizers report through a copy of stderr it keeps.
exec "$bin" "$work/new" "$work/seeds" "$src/test/fuzz/regressions" -max_total_time="$secs" \
  -close_fd_mask=2 -timeout=10 -rss_limit_mb=3000 -malloc_limit_mb=2000 -artifact_prefix="$work/" -print_final_stats=1
