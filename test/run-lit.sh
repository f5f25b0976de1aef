#!/bin/sh
# Runs lit on the build's test tree: test/run-lit.sh BUILD_DIR [lit args]
build=${1:-build}; shift 2>/dev/null
exec python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv "$build/test" "$@"
