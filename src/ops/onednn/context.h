// src/ops/onednn/context.h — what every oneDNN op shares: whether the oneDNN path is taken, the
// CPU engine and stream, and the grow-only buffers that hold reordered operands and scratchpads.
//
// The ops dispatch here once each (conv2d, the f32 GEMM): `onednn::takes(t)` for an f32 CPU
// tensor in a build with oneDNN, else the im2col + OpenBLAS code. Double never comes here
// (oneDNN has no f64), so the finite-difference tests keep checking the OpenBLAS path and the
// oneDNN path is checked against it in f32 (tests/test_onednn.cpp).
#pragma once
#include <cstddef>

#include "csg/error.h"
#include "csg/tensor.h"

#ifdef CSG_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace csg::onednn {

// True in a build with oneDNN unless a PlainPathGuard is alive.
bool active();
// True when `t` is an f32 CPU tensor and active(): the tensor's op then runs on oneDNN.
bool takes(const Tensor& t);

// Within its scope the f32 CPU ops take the im2col + OpenBLAS path (the parity tests and
// benchmarks compare both paths in one process). Not thread-safe: one test at a time.
class PlainPathGuard {
 public:
  PlainPathGuard();
  ~PlainPathGuard();
  PlainPathGuard(const PlainPathGuard&) = delete;
  PlainPathGuard& operator=(const PlainPathGuard&) = delete;

 private:
  bool prev_;
};

// The instruction set oneDNN dispatches to on this CPU (e.g. "AVX-512 with AMX (avx512_core_amx)"),
// or why there is none.
std::string isa_name();

// True when this build has oneDNN and the CPU has BF16 instructions (AVX512_BF16 or AMX), which
// BF16 convolutions (csg::ConvPrecision::Bf16, `--precision bf16`) need; else false with the
// reason in *why.
bool has_bf16(std::string* why);

// The channel block of oneDNN's direct f32 convolution kernels on this CPU: 16 (nChw16c) with
// AVX-512, 8 (nChw8c) with AVX2, AVX or SSE4.1 (and in a build without oneDNN). A chain of
// primitives told to keep another block has no JIT kernel for it and runs oneDNN's reference
// loops (`ref:any`): ResNet-50 took 17 s an image that way on an AVX2 EPYC, 250 times ONNX
// Runtime's time (docs/onnx.md).
int64_t blocked_channels();

#ifdef CSG_WITH_DNNL
// That block as a oneDNN layout: nChw16c or nChw8c.
dnnl::memory::format_tag blocked_tag();

dnnl::engine& engine();
dnnl::stream& stream();  // one per thread; execution is synchronous on the CPU

// Grow-only 2 MB-aligned buffers, one per slot and thread: the staging copies of operands in
// the primitive's preferred layout and the primitive's scratchpad. Kept between calls because a
// fresh allocation this size is mmap'ed, and faulting its pages in again on every call costs
// more than a small convolution.
// The Rounded* slots hold operands rounded to BF16 for f32 kernels (conv2d.cpp), the Phases*
// slots a dilated convolution's operands split into phases (dilated_as_batches.h).
enum class Slot { Src, Weights, Dst, Scratchpad, RoundedX, RoundedW, RoundedDy, PhasesX, PhasesY, Count };
void* buffer(Slot slot, size_t bytes);
// Every primitive here takes its scratchpad from us (user mode): the attribute that says so, and
// the memory for a primitive's scratchpad_desc() in the Scratchpad slot's buffer.
dnnl::primitive_attr user_scratchpad();
dnnl::memory scratchpad(const dnnl::memory::desc& d);
#endif

}  // namespace csg::onednn

// Wrap every call into src/ops/onednn/: a build without oneDNN compiles the call out (takes()
// is then always false, so it is never reached).
#ifdef CSG_WITH_DNNL
#define CSG_DNNL_CALL(op, ...) __VA_ARGS__
#else
#define CSG_DNNL_CALL(op, ...) CSG_FAIL(op, ": this csg was built without oneDNN (make DNNL=0)")
#endif
