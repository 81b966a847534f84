// kernels/reduce.h — row reductions on CUDA: x is [rows, cols] contiguous.
#pragma once
#include <cstdint>

namespace csg::kernels {
// out[r] = scale * sum_c x[r, c]
void sum_rows_f32(const float* x, float* out, int64_t rows, int64_t cols, float scale);
// out[r] = argmax_c x[r, c] (first maximum)
void argmax_rows_f32(const float* x, int64_t* out, int64_t rows, int64_t cols);
}  // namespace csg::kernels
