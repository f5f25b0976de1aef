#!/bin/sh
# The installed package from a clean prefix (issue 14 part 5):
#   test/install/cmake_package.sh BUILD_DIR
# installs BUILD_DIR into a staging prefix and moves it (so nothing may
# name the staging path), builds examples/cmake_project against it with
# find_package(qcc) and runs it; checks that qcc_add_model re-runs qcc
# exactly when the model, the flags, the calibration data or the qcc
# binary change, and links the installed runtime for --runtime=external;
# builds the example's main.c against the external runtime
# through pkg-config (qrt.pc). About 20 s on 2 cores.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
t="$build/test/cmake_package"
rm -rf "$t" && mkdir -p "$t"

fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$t/stage" >/dev/null
mv "$t/stage" "$t/prefix"
p="$t/prefix"
for f in bin/qcc bin/qcc-opt include/qcc/qrt.h include/qcc/qrt_dtype.h lib/libqrt.a \
         lib/cmake/qcc/qccConfig.cmake lib/cmake/qcc/qccConfigVersion.cmake lib/pkgconfig/qrt.pc; do
  [ -f "$p/$f" ] || fail "not installed: $f"
done
if grep -rlF -e "$t/stage" -e "$build" -e "$src/" "$p/lib/cmake" "$p/lib/pkgconfig"; then
  fail "the files above name the build tree or the staging prefix"
fi
"$p/bin/qcc" --help >/dev/null || fail "installed qcc does not run"

# A copy of the example and its model, so touching the model changes nothing
# in the source tree.
mkdir -p "$t/src/examples/digits_cnn"
cp -r "$src/examples/cmake_project" "$t/src/examples/"
cp -r "$src/examples/digits_cnn/model.onnx" "$src/examples/digits_cnn/calib" "$t/src/examples/digits_cnn/"
model="$t/src/examples/digits_cnn/model.onnx"
image="$src/examples/digits_cnn/input_0.npy"   # label 7

# check_app GENERATOR: builds the example with that generator in a fresh
# folder; qcc must run exactly when one of its inputs changed.
check_app() {
  app="$t/app-$(echo "$1" | tr -c 'A-Za-z\n' -)"
  cmake -G "$1" -S "$t/src/examples/cmake_project" -B "$app" -DCMAKE_PREFIX_PATH="$p" \
        -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
  build run "first build"
  check_output "w8a8"
  build skip "no-op rebuild"
  touch "$model"
  build run "model touched"
  build skip "rebuild after the model's"
  cmake -DDIGITS_QFLAGS="-q;w8a8;--integer-only" "$app" >/dev/null
  build run "QFLAGS changed"
  check_output "w8a8 --integer-only"
  # --runtime=external: qcc_add_model links qcc::qrt (the installed libqrt.a).
  cmake -DDIGITS_QFLAGS="-q;w8a8;--runtime=external" "$app" >/dev/null
  build run "--runtime=external"
  grep -q '^#include "qrt.h"' "$app/qcc/digits/digits.c" || fail "QFLAGS --runtime=external did not reach qcc"
  check_output "w8a8 --runtime=external"
  cmake "$app" >/dev/null
  build skip "reconfigured with the same QFLAGS"
  touch "$t/src/examples/digits_cnn/calib/input.npy"
  build run "calibration data touched"
  touch "$t/src/examples/digits_cnn/calib/notes-${app##*/}.txt"
  build run "a file added to the calibration folder"
  touch "$p/bin/qcc"
  build run "qcc binary touched"
  build skip "rebuild after the binary's"
  # WEIGHTS_FILE: code-only C, the weights linked from digits.bin by digits.S.
  cmake -DDIGITS_WEIGHTS_FILE=ON "$app" >/dev/null
  build run "WEIGHTS_FILE"
  [ -f "$app/qcc/digits/digits.bin" ] && grep -q "digits_set_weights" "$app/qcc/digits/digits.h" ||
    fail "$gen, WEIGHTS_FILE: no weights file"
  check_output "w8a8 --runtime=external WEIGHTS_FILE"
  cmake -DDIGITS_WEIGHTS_FILE=OFF "$app" >/dev/null
}
# build WHAT WHEN: builds the example; WHAT is run or skip: whether qcc must run.
build() {
  cmake --build "$app" -j2 >"$t/log" 2>&1 || { cat "$t/log"; fail "$gen, $2: build failed"; }
  if grep -q "qcc: compiling" "$t/log"; then did=run; else did=skip; fi
  [ "$did" = "$1" ] || { cat "$t/log"; fail "$gen, $2: expected qcc to $1, it did not"; }
}
check_output() {
  out=$("$app/digits_app" "$image")
  [ "$out" = "predicted digit 7" ] || fail "$gen, $1: printed '$out', expected 'predicted digit 7'"
}
# Both re-run a step whose command line changed, each by its own means.
for gen in "Unix Makefiles" Ninja; do
  check_app "$gen"
done

# pkg-config: the external runtime, without CMake.
ext="$t/external"
mkdir -p "$ext"
"$p/bin/qcc" "$model" -o "$ext/digits.c" --name digits --runtime=external
grep -q '^#include "qrt.h"' "$ext/digits.c" || fail "--runtime=external did not include qrt.h"
flags=$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags --libs qrt) || fail "pkg-config qrt"
# shellcheck disable=SC2086 # the flags are words
cc -std=c99 -Wall -Wextra -pedantic -Werror -I"$ext" "$ext/digits.c" "$src/examples/cmake_project/main.c" \
   $flags -o "$ext/digits_app"
out=$("$ext/digits_app" "$image")
[ "$out" = "predicted digit 7" ] || fail "pkg-config build printed '$out'"
echo "cmake package: installed, example built and re-built as expected, pkg-config build ok"
