// kernels/copy.h — CUDA launchers for strided copies, fills and in-place axpy.
#pragma once
#include <cstdint>

#include "kernels/strided.h"

namespace csg::kernels {

// dst[dst_layout(i)] = src[src_layout(i)] for i in [0, n); element size 4 or 8 bytes.
void strided_copy(void* dst, const StridedLayout& dst_layout, const void* src, const StridedLayout& src_layout,
                  int64_t n, int elem_size);
void fill_f32(float* dst, int64_t n, float v);
void fill_i64(int64_t* dst, int64_t n, int64_t v);
// y[i] += alpha * x[i]
void axpy_f32(float* y, const float* x, int64_t n, float alpha);
void scale_f32(float* y, int64_t n, float s);
// Counter-based uniform / normal fills (see csg/random.h): uniform values are bit-identical
// to the CPU's float32 ones; normal values agree to a few ulps (device transcendentals).
void fill_uniform_f32(float* dst, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi);
void fill_normal_f32(float* dst, int64_t n, uint64_t seed, uint64_t offset);

}  // namespace csg::kernels
