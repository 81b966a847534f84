#!/usr/bin/env bash
# tools/examples_test.sh — `make examples-test`: installs this build into a temporary prefix,
# compiles examples/classify.c and examples/classify.cpp against it through pkg-config (as a
# user of the installed library would), generates a model and an image, and checks that both
# programs print the class the training-time network gives that image.
set -euo pipefail
cd "$(dirname "$0")/.."
make_args=("$@")  # e.g. BUILD=build-cpu CUDA=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make --no-print-directory -s "${make_args[@]}" install PREFIX="$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs csg)
cc -std=c99 -Wall -Wextra -Werror -o "$tmp/classify-c" examples/classify.c $flags
c++ -std=c++17 -O2 -Wall -Wextra -o "$tmp/classify-cpp" examples/classify.cpp $flags
c++ -std=c++17 -O2 -Wall -Wextra -o "$tmp/make-model" examples/make_example_model.cpp $flags
# The examples must run from the installed library alone (its rpath), not from the build tree.
if ldd "$tmp/classify-c" | grep -q "$tmp/prefix/lib/libcsg.so"; then :; else
  echo "examples-test: classify-c does not load the installed libcsg.so:"; ldd "$tmp/classify-c"; exit 1
fi
expected=$("$tmp/make-model" "$tmp/model.safetensors" "$tmp/image.png")
from_c=$("$tmp/classify-c" "$tmp/model.safetensors" "$tmp/image.png")
from_cpp=$("$tmp/classify-cpp" "$tmp/model.safetensors" "$tmp/image.png")
echo "reference: $expected"
echo "C:         $from_c"
echo "C++:       $from_cpp"
[ "$from_c" = "$from_cpp" ] || { echo "examples-test: the C and C++ examples disagree"; exit 1; }
[ "${from_c%%, logit*}" = "${expected%%, logit*}" ] || { echo "examples-test: not the reference's class"; exit 1; }
# A malformed model is an error message naming it, not a crash.
echo "not a model" > "$tmp/bad.safetensors"
if "$tmp/classify-c" "$tmp/bad.safetensors" "$tmp/image.png" 2>"$tmp/err"; then
  echo "examples-test: a malformed model was accepted"; exit 1
fi
grep -q "bad.safetensors" "$tmp/err" || { echo "examples-test: the error does not name the file:"; cat "$tmp/err"; exit 1; }
# Three checks: the C program gives the reference class, the C++ one agrees, a malformed model is refused.
echo "examples: 3 passed, 0 failed (C and C++ examples against the installed library, and a malformed model refused)"
