#!/bin/sh
# Sets up a fresh Debian 12 machine, builds qcc and runs every test suite:
# runtime and compiler unit tests (ctest) and the lit suites (dialect,
# passes, codegen, end to end against ONNX Runtime). Prints a closing
# "N passed, N failed" line and exits nonzero on any failure.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/test/install_deps.sh"
build="$root/build"
# The fuzz harnesses need clang's libFuzzer and a sanitized build of the
# compiler: built beside the normal one (its fuzz targets only), so that
# ctest's fuzz_smoke runs them (docs/fuzzing.md).
fuzz="$root/build-fuzz"
cmake -S "$root" -B "$fuzz" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE=-O1 -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DQCC_FUZZ=ON -DQCC_ISA_COPIES=OFF >/dev/null
cmake --build "$fuzz" -j "$(nproc)" --target fuzz_import fuzz_npy >/dev/null
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQCC_FUZZ_IMPORT="$fuzz/test/fuzz/fuzz_import" >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
log="$build/test-results.txt"
set +e
# ctest's own status (a pipeline's would be tee's): written beside the log
{ ctest --output-on-failure -j "$(nproc)"; echo $? > "$log.status"; } 2>&1 | tee "$log"
status=$(cat "$log.status")
set -e
summary=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1)
if [ -z "$summary" ]; then echo "ctest stopped before its summary"; exit 1; fi
failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
total=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
lit_line=$(grep -E "^  (Passed|Failed|Unsupported|Expectedly)" "$log" || true)
echo "$lit_line"
echo "$((total - failed)) passed, $failed failed"
if [ "$failed" != 0 ]; then status=1; fi
exit $status
