// kernels/reduce.cu — one block per row; CUB's BlockReduce combines the threads' partials.
#include <cub/block/block_reduce.cuh>

#include "kernels/common.cuh"
#include "kernels/reduce.h"

namespace csg::kernels {
namespace {

constexpr int kReduceThreads = 256;

using BlockSum = cub::BlockReduce<float, kReduceThreads>;

// Rows are visited with a grid-stride loop so any row count fits the grid limit.
__global__ void sum_rows_kernel(const float* x, float* out, int64_t rows, int64_t cols, float scale) {
  __shared__ typename BlockSum::TempStorage tmp;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    float acc = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) acc += row[c];
    const float total = BlockSum(tmp).Sum(acc);
    if (threadIdx.x == 0) out[r] = total * scale;
    __syncthreads();  // tmp is reused by the next row
  }
}

struct Candidate {
  float v;
  int64_t i;
};
struct BetterOf {
  __device__ Candidate operator()(const Candidate& a, const Candidate& b) const {
    return argmax_better(b.v, b.i, a.v, a.i) ? b : a;
  }
};
using BlockArgmax = cub::BlockReduce<Candidate, kReduceThreads>;

__global__ void argmax_rows_kernel(const float* x, int64_t* out, int64_t rows, int64_t cols) {
  __shared__ typename BlockArgmax::TempStorage tmp;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    Candidate best{-INFINITY, cols};  // index past the end: loses every tie
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
      if (argmax_better(row[c], c, best.v, best.i)) best = Candidate{row[c], c};
    best = BlockArgmax(tmp).Reduce(best, BetterOf{});
    if (threadIdx.x == 0) out[r] = best.i < cols ? best.i : 0;
    __syncthreads();
  }
}

// Long rows with few of them (a loss summed to a scalar): blockIdx.y picks the row,
// blockIdx.x a chunk of it; each block writes one partial sum.
__global__ void sum_chunks_kernel(const float* x, float* partial, int64_t cols, int64_t chunk) {
  __shared__ typename BlockSum::TempStorage tmp;
  const int64_t r = blockIdx.y, begin = blockIdx.x * chunk;
  const int64_t end = begin + chunk < cols ? begin + chunk : cols;
  float acc = 0.f;
  for (int64_t c = begin + threadIdx.x; c < end; c += blockDim.x) acc += x[r * cols + c];
  const float total = BlockSum(tmp).Sum(acc);
  if (threadIdx.x == 0) partial[r * gridDim.x + blockIdx.x] = total;
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
    CSG_KERNEL_CHECK("sum_chunks_kernel");
    sum_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(partial.as<float>(), out, rows, chunks, scale);
    CSG_KERNEL_CHECK("sum_rows_kernel");
    return;
  }
  sum_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(x, out, rows, cols, scale);
  CSG_KERNEL_CHECK("sum_rows_kernel");
}
void argmax_rows_f32(const float* x, int64_t* out, int64_t rows, int64_t cols) {
  if (rows == 0) return;
  argmax_rows_kernel<<<row_grid(rows), kReduceThreads, 0, stream()>>>(x, out, rows, cols);
  CSG_KERNEL_CHECK("argmax_rows_kernel");
}

}  // namespace csg::kernels
