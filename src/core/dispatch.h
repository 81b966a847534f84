// src/core/dispatch.h — internal helpers every op file uses: dtype dispatch, the entry
// checks, and the bridge to the CUDA launchers (compiled out of CPU-only builds).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/tensor.h"
#include "kernels/strided.h"

namespace csg {

// Calls f(float{}) or f(double{}) for a float tensor type:
//   dispatch_float(x.dtype(), "relu", [&](auto tag) { using T = decltype(tag); ... });
template <class F>
void dispatch_float(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::F32: f(float{}); return;
    case DType::F64: f(double{}); return;
    default: CSG_FAIL(op, ": expected a float tensor (f32 or f64), got ", dtype_name(dt));
  }
}

// ---- entry checks (each names the op and the offending tensors) ----------------------------
void check_defined(const char* op, const Tensor& t, const char* what);
void check_float(const char* op, const Tensor& t, const char* what);
void check_dim(const char* op, const Tensor& t, int64_t dim, const char* what);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
// A per-channel vector [n] beside `ref` (same device and dtype), n = ref's size along `channel_dim`
// (named `channel_name`: "C" of an input, channel_dim 1, or "O" of a weight, channel_dim 0, which
// the error calls `ref`); undefined only where `optional`.
void check_channel_vector(const char* op, const Tensor& ref, int64_t channel_dim, const char* channel_name,
                          const Tensor& t, const char* what, bool optional);
// CUDA kernels are float32 only: a clear error for f64 on CUDA.
void check_cuda_float(const char* op, const Tensor& t);
int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim);

// The strides of `t` in the form the strided CPU loops and CUDA kernels take (<= 8 dims).
StridedLayout layout_of(const Tensor& t);

}  // namespace csg

// Wrap every call into kernels/: a CPU-only build compiles the call out and throws instead.
#ifdef CSG_WITH_CUDA
#define CSG_CUDA_CALL(op, ...) __VA_ARGS__
#else
#define CSG_CUDA_CALL(op, ...) \
  CSG_FAIL(op, ": this csg was built without CUDA; rebuild on a machine with nvcc (make clean && make)")
#endif
