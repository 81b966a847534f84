// kernels/bf16.cu — the f32 <-> BF16 cast kernels (the rounding is kernels/bf16.h's).
#include "kernels/bf16.h"
#include "kernels/common.cuh"

namespace csg::kernels {
namespace {

__global__ void f32_to_bf16_kernel(const float* src, uint16_t* dst, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { dst[i] = bf16_bits_from_f32(src[i]); }
}
__global__ void bf16_to_f32_kernel(const uint16_t* src, float* dst, int64_t n, bool accumulate) {
  CSG_KERNEL_LOOP(i, n) {
    const float v = f32_from_bf16_bits(src[i]);
    dst[i] = accumulate ? dst[i] + v : v;
  }
}

}  // namespace

void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  if (n == 0) return;
  f32_to_bf16_kernel<<<grid_for(n), kThreads, 0, stream()>>>(src, dst, n);
  CSG_KERNEL_CHECK("f32_to_bf16_kernel");
}

void bf16_to_f32(const uint16_t* src, float* dst, int64_t n, bool accumulate) {
  if (n == 0) return;
  bf16_to_f32_kernel<<<grid_for(n), kThreads, 0, stream()>>>(src, dst, n, accumulate);
  CSG_KERNEL_CHECK("bf16_to_f32_kernel");
}

}  // namespace csg::kernels
