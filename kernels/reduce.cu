// kernels/reduce.cu — one block per row, a shared-memory tree for the block total.
#include "kernels/common.cuh"
#include "kernels/reduce.h"

namespace csg::kernels {
namespace {

constexpr int kReduceThreads = 256;

// Rows are visited with a grid-stride loop so any row count fits the grid limit.
__global__ void sum_rows_kernel(const float* x, float* out, int64_t rows, int64_t cols, float scale) {
  __shared__ float partial[kReduceThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    float acc = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) acc += row[c];
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[r] = partial[0] * scale;
    __syncthreads();
  }
}

__global__ void argmax_rows_kernel(const float* x, int64_t* out, int64_t rows, int64_t cols) {
  __shared__ float best_v[kReduceThreads];
  __shared__ int64_t best_i[kReduceThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    float bv = -INFINITY;
    int64_t bi = cols;  // larger than any index: loses every tie
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
      if (row[c] > bv || (row[c] == bv && c < bi)) { bv = row[c]; bi = c; }
    best_v[threadIdx.x] = bv;
    best_i[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) {
        float ov = best_v[threadIdx.x + s];
        int64_t oi = best_i[threadIdx.x + s];
        if (ov > best_v[threadIdx.x] || (ov == best_v[threadIdx.x] && oi < best_i[threadIdx.x])) {
          best_v[threadIdx.x] = ov;
          best_i[threadIdx.x] = oi;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out[r] = best_i[0] < cols ? best_i[0] : 0;
    __syncthreads();
  }
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535 ? (rows > 0 ? rows : 1) : 65535); }

}  // namespace

void sum_rows_f32(const float* x, float* out, int64_t rows, int64_t cols, float scale) {
  if (rows == 0) return;
  sum_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(x, out, rows, cols, scale);
  CSG_KERNEL_CHECK();
}
void argmax_rows_f32(const float* x, int64_t* out, int64_t rows, int64_t cols) {
  if (rows == 0) return;
  argmax_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(x, out, rows, cols);
  CSG_KERNEL_CHECK();
}

}  // namespace csg::kernels
