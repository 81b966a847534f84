// tests/internals.h — the private headers the tests and tools reach, in one place.
//
// Tests and tools include the public API (csg/csg.h) and this one header; nothing else under
// src/ or kernels/. What is listed here is what they check below the API: the oneDNN kernels,
// the file parsers, the training loop's pieces and the CLI entry point. A new entry is a choice
// to test an internal, made here where a reader sees all of them
// (CodeShape.TestsAndToolsReachInternalsOnlyThroughInternalsH keeps it so).
#pragma once

#include "csg/csg.h"

// core and ops: the CUDA probe, the oneDNN path and its kernels, the shared kernel functors
#include "kernels/bf16.h"
#include "kernels/blas.h"
#include "kernels/conv2d.h"
#include "kernels/pool.h"
#include "kernels/runtime.h"
#include "src/core/cuda_probe.h"
#include "src/core/host_block_cache.h"
#include "src/core/host_heap.h"
#include "src/ops/conv_precision.h"
#include "src/ops/onednn/context.h"
#include "src/ops/onednn/conv2d.h"
#include "src/ops/onednn/conv_geometry.h"
#include "src/ops/onednn/dilated_as_batches.h"
#include "src/ops/onednn/weight_cache.h"
#include "src/ops/winograd_3x3.h"

// models: when a block folds its batch norm into the convolution
#include "src/models/conv_bn.h"

// files: the parsers and checksums behind the public readers
#include "src/data/image_decoders.h"
#include "src/io/binary_file.h"
#include "src/io/crc32c.h"
#include "src/io/json.h"
#include "src/io/pickle.h"
#include "src/io/protobuf_wire.h"
#include "src/io/sha256.h"
#include "src/io/tfrecord.h"
#include "src/io/zip_reader.h"

// training: the network, its state, evaluation, run folders and the start-up checks
#include "src/train/best_checkpoint.h"
#include "src/train/csg_step.h"
#include "src/train/data_check.h"
#include "src/train/evaluate.h"
#include "src/train/flip_tta.h"
#include "src/train/imagenet_weights.h"
#include "src/train/network.h"
#include "src/train/run_estimate.h"
#include "src/train/run_folder.h"
#include "src/train/settings.h"
#include "src/train/state.h"

// deployment: the compiled inference network and its oneDNN backend
#include "src/infer/backbone_runner.h"
#include "src/infer/buffer_pool.h"
#include "src/infer/fused_conv.h"
#include "src/infer/onednn_backend.h"

// applications: the CLI entry point, the digits prior and the figures
#include "src/cli/app.h"
#include "src/digits/figures.h"
#include "src/digits/pretrain.h"
#include "src/figures/hse_figure.h"
