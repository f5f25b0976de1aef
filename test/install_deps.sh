#!/bin/sh
# Installs what qcc needs on Debian 12 (bookworm) when it is missing: the
# MLIR 19 C API, LLVM's test tools (lit, FileCheck), protobuf-c, the ONNX
# schema and test data, Python with numpy/onnx (tests and example scripts
# only), Node.js with onnxruntime-node (the reference the tests compare to),
# an aarch64 cross compiler and qemu-user (the runtime's NEON paths),
# pkg-config and Ninja (the installed package's test).
set -eu
pkgs="cmake make gcc clang libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata
python3 python3-numpy python3-onnx gcc-aarch64-linux-gnu qemu-user pkgconf ninja-build"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
missing=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install_deps: installing$missing"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
fi
# ONNX Runtime for Node, offline-installable (its install script would try
# to download GPU binaries; the CPU library ships inside the package).
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/tools/node_modules/onnxruntime-node" ]; then
  (cd "$here/tools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
