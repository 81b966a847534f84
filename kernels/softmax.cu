// kernels/softmax.cu — softmax / log_softmax along one dim of [outer, dim, inner].
// inner == 1: one block per row (online max/sum block reduction, then one write pass);
// inner > 1: one thread per lane, neighbouring threads on neighbouring inner positions.
#include "kernels/common.cuh"
#include "kernels/softmax.h"
#include "kernels/softmax_reduce.cuh"

namespace csg::kernels {
namespace {

// Per-lane constant of the write pass: log(sum) for log_softmax, 1/sum for softmax.
__device__ __forceinline__ float lane_norm(MaxSumExp st, bool log_output) {
  return log_output ? logf(st.s) : 1.f / st.s;
}
__device__ __forceinline__ float softmax_value(float x, float max_v, float norm, bool log_output) {
  return log_output ? (x - max_v) - norm : expf(x - max_v) * norm;
}

// x, y [rows, dim]
__global__ void softmax_rows_kernel(const float* x, float* y, int64_t rows, int64_t dim, bool log_output) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    MaxSumExp st;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) st.add(xr[c]);
    st = block_reduce_max_sum_exp(st);
    const float norm = lane_norm(st, log_output);
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) yr[c] = softmax_value(xr[c], st.m, norm, log_output);
  }
}

// x, y [outer, dim, inner]
__global__ void softmax_lanes_kernel(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner,
                                     bool log_output) {
  CSG_KERNEL_LOOP(lane, outer * inner) {
    const int64_t base = (lane / inner) * dim * inner + lane % inner;
    MaxSumExp st;
    for (int64_t k = 0; k < dim; ++k) st.add(x[base + k * inner]);
    const float norm = lane_norm(st, log_output);
    for (int64_t k = 0; k < dim; ++k) {
      const int64_t i = base + k * inner;
      y[i] = softmax_value(x[i], st.m, norm, log_output);
    }
  }
}

__device__ __forceinline__ float backward_term(float y, float g, bool log_output) { return log_output ? g : g * y; }
__device__ __forceinline__ float backward_value(float y, float g, float total, bool log_output) {
  return log_output ? g - expf(y) * total : y * (g - total);
}

// y, g, gx [rows, dim]
__global__ void softmax_backward_rows_kernel(const float* y, const float* g, float* gx, int64_t rows, int64_t dim,
                                             bool log_output) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t row = r * dim;
    float total = 0.f;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) total += backward_term(y[row + c], g[row + c], log_output);
    total = block_reduce(total, SumOp{}, 0.f);
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x)
      gx[row + c] = backward_value(y[row + c], g[row + c], total, log_output);
  }
}

// y, g, gx [outer, dim, inner]
__global__ void softmax_backward_lanes_kernel(const float* y, const float* g, float* gx, int64_t outer, int64_t dim,
                                              int64_t inner, bool log_output) {
  CSG_KERNEL_LOOP(lane, outer * inner) {
    const int64_t base = (lane / inner) * dim * inner + lane % inner;
    float total = 0.f;
    for (int64_t k = 0; k < dim; ++k) total += backward_term(y[base + k * inner], g[base + k * inner], log_output);
    for (int64_t k = 0; k < dim; ++k) {
      const int64_t i = base + k * inner;
      gx[i] = backward_value(y[i], g[i], total, log_output);
    }
  }
}

}  // namespace

void softmax_forward_f32(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, bool log_output) {
  if (outer * dim * inner == 0) return;
  if (inner == 1) {
    softmax_rows_kernel<<<row_blocks(outer), row_block_threads(dim), 0, stream()>>>(x, y, outer, dim, log_output);
  } else {
    softmax_lanes_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(x, y, outer, dim, inner, log_output);
  }
  CSG_KERNEL_CHECK(inner == 1 ? "softmax_rows_kernel" : "softmax_lanes_kernel");
}

void softmax_backward_f32(const float* y, const float* g, float* gx, int64_t outer, int64_t dim, int64_t inner,
                          bool log_output) {
  if (outer * dim * inner == 0) return;
  if (inner == 1) {
    softmax_backward_rows_kernel<<<row_blocks(outer), row_block_threads(dim), 0, stream()>>>(y, g, gx, outer, dim,
                                                                                            log_output);
  } else {
    softmax_backward_lanes_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(y, g, gx, outer, dim, inner,
                                                                                     log_output);
  }
  CSG_KERNEL_CHECK(inner == 1 ? "softmax_backward_rows_kernel" : "softmax_backward_lanes_kernel");
}

}  // namespace csg::kernels
