// kernels/reduce.h — row reductions on CUDA: x is [rows, cols] contiguous; and the argmax
// order shared with the CPU loops.
#pragma once
#include <cstdint>

#include "kernels/strided.h"  // CSG_HD

namespace csg {

// The argmax order: is (v, i) a better candidate than (best_v, best_i)? NaN beats every
// number (as torch.argmax), then the larger value wins, then (ties) the smaller index.
// Shared by the CPU loops and the kernel, so that both devices pick the same element.
template <class T>
CSG_HD bool argmax_better(T v, int64_t i, T best_v, int64_t best_i) {
  const bool v_nan = v != v, best_nan = best_v != best_v;
  if (v_nan != best_nan) return v_nan;
  if (!v_nan && v != best_v) return v > best_v;
  return i < best_i;
}

namespace kernels {
// out[r] = scale * sum_c x[r, c]
void sum_rows_f32(const float* x, float* out, int64_t rows, int64_t cols, float scale);
// out[r] = argmax_c x[r, c] in the order of argmax_better (0 for an empty row)
void argmax_rows_f32(const float* x, int64_t* out, int64_t rows, int64_t cols);
}  // namespace kernels

}  // namespace csg
