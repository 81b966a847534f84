// kernels/normalize.cu — l2_normalize along one dim of [outer, dim, inner].
// inner == 1 (feature vectors [N, 128], a queue [65536, 128]): one block per row with a
// block sum; inner > 1: one thread per lane.
#include "kernels/common.cuh"
#include "kernels/normalize.h"
#include "kernels/softmax_reduce.cuh"

namespace csg::kernels {
namespace {

__device__ __forceinline__ float backward_value(float y, float g, float dot, float norm, float eps) {
  return norm >= eps ? (g - y * dot) / norm : g / eps;
}

// x, y [rows, dim]; norm [rows]
__global__ void l2_normalize_rows_kernel(const float* x, float* y, float* norm, int64_t rows, int64_t dim,
                                         float eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    float ss = 0.f;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) ss += xr[c] * xr[c];
    ss = block_reduce(ss, SumOp{}, 0.f);
    const float n = sqrtf(ss), denom = fmaxf(n, eps);
    if (threadIdx.x == 0) norm[r] = n;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) y[r * dim + c] = xr[c] / denom;
  }
}

// x, y [outer, dim, inner]; norm [outer, inner]
__global__ void l2_normalize_lanes_kernel(const float* x, float* y, float* norm, int64_t outer, int64_t dim,
                                          int64_t inner, float eps) {
  CSG_KERNEL_LOOP(lane, outer * inner) {
    const int64_t base = (lane / inner) * dim * inner + lane % inner;
    float ss = 0.f;
    for (int64_t k = 0; k < dim; ++k) ss += x[base + k * inner] * x[base + k * inner];
    const float n = sqrtf(ss), denom = fmaxf(n, eps);
    norm[lane] = n;
    for (int64_t k = 0; k < dim; ++k) y[base + k * inner] = x[base + k * inner] / denom;
  }
}

// y, g, gx [rows, dim]; norm [rows]
__global__ void l2_normalize_backward_rows_kernel(const float* y, const float* norm, const float* g, float* gx,
                                                  int64_t rows, int64_t dim, float eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t row = r * dim;
    float dot = 0.f;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) dot += g[row + c] * y[row + c];
    dot = block_reduce(dot, SumOp{}, 0.f);
    const float n = norm[r];
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x)
      gx[row + c] = backward_value(y[row + c], g[row + c], dot, n, eps);
  }
}

// y, g, gx [outer, dim, inner]; norm [outer, inner]
__global__ void l2_normalize_backward_lanes_kernel(const float* y, const float* norm, const float* g, float* gx,
                                                   int64_t outer, int64_t dim, int64_t inner, float eps) {
  CSG_KERNEL_LOOP(lane, outer * inner) {
    const int64_t base = (lane / inner) * dim * inner + lane % inner;
    float dot = 0.f;
    for (int64_t k = 0; k < dim; ++k) dot += g[base + k * inner] * y[base + k * inner];
    const float n = norm[lane];
    for (int64_t k = 0; k < dim; ++k) {
      const int64_t i = base + k * inner;
      gx[i] = backward_value(y[i], g[i], dot, n, eps);
    }
  }
}

}  // namespace

void l2_normalize_forward_f32(const float* x, float* y, float* norm, int64_t outer, int64_t dim, int64_t inner,
                              float eps) {
  if (outer * inner == 0) return;
  if (inner == 1) {
    l2_normalize_rows_kernel<<<row_blocks(outer), row_block_threads(dim), 0, stream()>>>(x, y, norm, outer, dim, eps);
  } else {
    l2_normalize_lanes_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(x, y, norm, outer, dim, inner,
                                                                                 eps);
  }
  CSG_KERNEL_CHECK(inner == 1 ? "l2_normalize_rows_kernel" : "l2_normalize_lanes_kernel");
}

void l2_normalize_backward_f32(const float* y, const float* norm, const float* g, float* gx, int64_t outer,
                               int64_t dim, int64_t inner, float eps) {
  if (outer * inner == 0) return;
  if (inner == 1) {
    l2_normalize_backward_rows_kernel<<<row_blocks(outer), row_block_threads(dim), 0, stream()>>>(y, norm, g, gx,
                                                                                                 outer, dim, eps);
  } else {
    l2_normalize_backward_lanes_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(y, norm, g, gx, outer,
                                                                                          dim, inner, eps);
  }
  CSG_KERNEL_CHECK(inner == 1 ? "l2_normalize_backward_rows_kernel"
                                : "l2_normalize_backward_lanes_kernel");
}

}  // namespace csg::kernels
