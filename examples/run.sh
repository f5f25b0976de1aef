#!/bin/sh
# The main job, from a fresh Debian 12 machine: install dependencies, build
# qcc, compile the digits CNN to C, build that C with cc, run it on a test
# image and print the result.
#   examples/run.sh [MODEL_DIR]     (default examples/digits_cnn)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
ex=${1:-$root/examples/digits_cnn}
"$root/test/install_deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target qcc >/dev/null
out=$(mktemp -d)
"$root/build/qcc" "$ex/model.onnx" -o "$out/model.c" --emit-main "$out/main.c" -v
cc -std=c99 -O2 -Wall -Wextra -pedantic "$out/model.c" "$out/main.c" -lm -o "$out/model"
echo "compiled $ex/model.onnx -> $out/model.c ($(wc -l < "$out/model.c") lines); running on input_0.npy:"
"$out/model" "$ex/input_0.npy"
