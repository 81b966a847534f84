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

// Long rows with few of them (a loss summed to a scalar): blockIdx.y picks the row,
// blockIdx.x a chunk of it; each block writes one partial sum.
__global__ void sum_chunks_kernel(const float* x, float* partial, int64_t cols, int64_t chunk) {
  __shared__ float buf[kReduceThreads];
  const int64_t r = blockIdx.y, begin = blockIdx.x * chunk;
  const int64_t end = begin + chunk < cols ? begin + chunk : cols;
  float acc = 0.f;
  for (int64_t c = begin + threadIdx.x; c < end; c += blockDim.x) acc += x[r * cols + c];
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[r * gridDim.x + blockIdx.x] = buf[0];
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535 ? (rows > 0 ? rows : 1) : 65535); }

}  // namespace

void sum_rows_f32(const float* x, float* out, int64_t rows, int64_t cols, float scale) {
  if (rows == 0) return;
  if (rows < 1024 && cols >= (1 << 16)) {  // too few rows to fill the GPU: two passes
    const int64_t chunk = 8192, chunks = (cols + chunk - 1) / chunk;
    Workspace partial(rows * chunks * sizeof(float));
    sum_chunks_kernel<<<dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(rows)), kReduceThreads, 0,
                        stream()>>>(x, partial.as<float>(), cols, chunk);
    CSG_KERNEL_CHECK();
    sum_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(partial.as<float>(), out, rows, chunks, scale);
    CSG_KERNEL_CHECK();
    return;
  }
  sum_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(x, out, rows, cols, scale);
  CSG_KERNEL_CHECK();
}
void argmax_rows_f32(const float* x, int64_t* out, int64_t rows, int64_t cols) {
  if (rows == 0) return;
  argmax_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(x, out, rows, cols);
  CSG_KERNEL_CHECK();
}

}  // namespace csg::kernels
