// kernels/copy.cu — strided copy, fill, axpy and the seeded random fills.
#include "csg/random.h"
#include "kernels/common.cuh"
#include "kernels/copy.h"

namespace csg::kernels {
namespace {

template <class T>
__global__ void strided_copy_kernel(T* dst, StridedLayout dl, const T* src, StridedLayout sl, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { dst[dl.offset(i)] = src[sl.offset(i)]; }
}
template <class T>
__global__ void fill_kernel(T* dst, int64_t n, T v) {
  CSG_KERNEL_LOOP(i, n) { dst[i] = v; }
}
__global__ void axpy_kernel(float* y, const float* x, int64_t n, float alpha) {
  CSG_KERNEL_LOOP(i, n) { y[i] += alpha * x[i]; }
}
__global__ void scale_kernel(float* y, int64_t n, float s) {
  CSG_KERNEL_LOOP(i, n) { y[i] *= s; }
}
__global__ void uniform_kernel(float* dst, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
  CSG_KERNEL_LOOP(i, n) { dst[i] = static_cast<float>(uniform_in_range(counter_uniform(seed, offset + i), lo, hi)); }
}
// Box-Muller on counters 2i and 2i+1, as the CPU does (random.cpp); logf/cosf/sqrtf make it
// agree with the CPU to a few ulps, not bit for bit.
__global__ void normal_kernel(float* dst, int64_t n, uint64_t seed, uint64_t offset) {
  CSG_KERNEL_LOOP(i, n) {
    float u1 = counter_uniform(seed, offset + 2 * i), u2 = counter_uniform(seed, offset + 2 * i + 1);
    dst[i] = sqrtf(-2.0f * logf(1.0f - u1)) * cosf(6.28318530717958647692f * u2);
  }
}

}  // namespace

void strided_copy(void* dst, const StridedLayout& dl, const void* src, const StridedLayout& sl, int64_t n,
                  int elem_size) {
  if (n == 0) return;
  if (elem_size == 4)
    strided_copy_kernel<<<grid_for(n), kThreads, 0, stream()>>>(static_cast<float*>(dst), dl,
                                                                static_cast<const float*>(src), sl, n);
  else
    strided_copy_kernel<<<grid_for(n), kThreads, 0, stream()>>>(static_cast<int64_t*>(dst), dl,
                                                                static_cast<const int64_t*>(src), sl, n);
  CSG_KERNEL_CHECK("strided_copy_kernel");
}
void fill_f32(float* dst, int64_t n, float v) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dst, n, v);
  CSG_KERNEL_CHECK("fill_kernel");
}
void fill_i64(int64_t* dst, int64_t n, int64_t v) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dst, n, v);
  CSG_KERNEL_CHECK("fill_kernel");
}
void axpy_f32(float* y, const float* x, int64_t n, float alpha) {
  if (n == 0) return;
  axpy_kernel<<<grid_for(n), kThreads, 0, stream()>>>(y, x, n, alpha);
  CSG_KERNEL_CHECK("axpy_kernel");
}
void scale_f32(float* y, int64_t n, float s) {
  if (n == 0) return;
  scale_kernel<<<grid_for(n), kThreads, 0, stream()>>>(y, n, s);
  CSG_KERNEL_CHECK("scale_kernel");
}
void fill_uniform_f32(float* dst, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
  if (n == 0) return;
  uniform_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dst, n, seed, offset, lo, hi);
  CSG_KERNEL_CHECK("uniform_kernel");
}
void fill_normal_f32(float* dst, int64_t n, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  normal_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dst, n, seed, offset);
  CSG_KERNEL_CHECK("normal_kernel");
}

}  // namespace csg::kernels
