// kernels/dropout.cu — apply a counter-based dropout mask, one thread per element.
#include "kernels/common.cuh"
#include "kernels/dropout.h"

namespace csg::kernels {
namespace {

// x, y [n]
__global__ void dropout_kernel(const float* x, float* y, int64_t n, uint64_t seed, uint64_t offset, double p,
                               float scale) {
  CSG_KERNEL_LOOP(i, n) { y[i] = dropout_keep(seed, offset, i, p) ? x[i] * scale : 0.f; }
}

}  // namespace

void dropout_f32(const float* x, float* y, int64_t n, uint64_t seed, uint64_t offset, double p, float scale) {
  if (n == 0) return;
  dropout_kernel<<<grid_for(n), kThreads, 0, stream()>>>(x, y, n, seed, offset, p, scale);
  CSG_KERNEL_CHECK("dropout_kernel");
}

}  // namespace csg::kernels
