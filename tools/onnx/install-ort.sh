#!/usr/bin/env bash
# tools/onnx/install-ort.sh — ONNX Runtime's CPU library for the ONNX export test and `make bench-infer`:
# the npm package onnxruntime-node (Linux x64 library in bin/napi-v6/linux/x64/, libonnxruntime.so.1),
# driven from Node by tools/onnx/ort_run.js. Not a dependency of csg itself.
#
#   bash tools/onnx/install-ort.sh          # into data/generated/onnxruntime (or $CSG_ORT_DIR)
#   ORT_VERSION=1.31.1 bash tools/onnx/install-ort.sh
#
# --ignore-scripts: the package's install script downloads GPU binaries from elsewhere, which is
# neither needed nor possible offline. The other platforms' libraries (macOS, Windows, Linux arm64;
# about 250 MB) are removed after the install. Takes seconds; does nothing when that version is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
ORT_VERSION=${ORT_VERSION:-1.31.1}
dir=${CSG_ORT_DIR:-data/generated/onnxruntime}
pkg=$dir/node_modules/onnxruntime-node
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-ort.sh: onnxruntime-node's CPU library is used on Linux x86_64 only (this is $(uname -s) $(uname -m))" >&2
  exit 1
fi
if [ -f "$pkg/package.json" ] && grep -q "\"version\": \"$ORT_VERSION\"" "$pkg/package.json"; then
  echo "ONNX Runtime $ORT_VERSION is installed in $dir"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-ort.sh: needs npm and node (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dir"
start=$SECONDS
# One retry: the registry is on the network.
npm_install() {
  npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --no-save --no-package-lock --loglevel=error \
    "onnxruntime-node@$ORT_VERSION"
}
npm_install || { echo "install-ort.sh: npm install failed, retrying once" >&2; sleep 5; npm_install; }
find "$pkg/bin/napi-v6" -mindepth 2 -maxdepth 2 -type d ! -path '*/linux/x64' -exec rm -rf {} +
lib=$pkg/bin/napi-v6/linux/x64/libonnxruntime.so.1
[ -f "$lib" ] || { echo "install-ort.sh: $lib missing after the install" >&2; exit 1; }
node -e "require('$(cd "$pkg" && pwd)')" || { echo "install-ort.sh: node cannot load $pkg" >&2; exit 1; }
echo "ONNX Runtime $ORT_VERSION installed in $dir ($(du -sh "$dir" | cut -f1), $((SECONDS - start)) s)"
