// src/ops/dim_lanes.h — the [outer, dim, inner] view that the ops reducing along one dim
// share (softmax, log_softmax, cross_entropy, l2_normalize).
//
// A contiguous tensor reduced along `dim` is a set of outer*inner "lanes": lane (o, j) is
// the `dim` elements at o*dim*inner + k*inner + j, k in [0, dim). The CPU loops visit
// lanes in blocks of up to kLaneBlock adjacent j, so the inner loop runs over contiguous
// memory whatever `inner` is (inner == 1 gives one lane per block: a plain row).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "csg/tensor.h"

namespace csg {

struct DimSplit {
  int64_t outer = 1, dim = 1, inner = 1;
  int64_t lanes() const { return outer * inner; }
};

inline DimSplit split_at_dim(const Shape& shape, int64_t d) {
  DimSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < d) s.outer *= shape[i];
    else if (i == d) s.dim = shape[i];
    else s.inner *= shape[i];
  }
  return s;
}

constexpr int64_t kLaneBlock = 256;

inline int64_t lane_blocks_per_outer(const DimSplit& s) { return (s.inner + kLaneBlock - 1) / kLaneBlock; }
inline int64_t lane_block_count(const DimSplit& s) { return s.outer * lane_blocks_per_outer(s); }

// fn(block, base, first_lane, width): block index in [0, lane_block_count), `base` the offset of
// element (o, 0, j0), `first_lane` = o*inner + j0 (the lane's index in [outer, inner] arrays),
// `width` <= kLaneBlock lanes. Blocks run in parallel (OpenMP); fn must not call BLAS.
template <class F>
void parallel_lane_blocks(const DimSplit& s, F&& fn) {
  const int64_t per_outer = lane_blocks_per_outer(s), blocks = s.outer * per_outer;
  const bool worth_threads = s.outer * s.dim * s.inner > 16384;
#pragma omp parallel for schedule(static) if (worth_threads && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t o = b / per_outer, j0 = (b % per_outer) * kLaneBlock;
    const int64_t width = std::min(kLaneBlock, s.inner - j0);
    fn(b, o * s.dim * s.inner + j0, o * s.inner + j0, width);
  }
}

// Softmax statistics of the lanes of one block: max_v[j] = max_k x, sum_exp[j] = sum_k
// exp(x - max_v[j]) (accumulated in double: 65537-logit rows sum without drift). A NaN
// makes its lane's max NaN, so it propagates as in PyTorch.
template <class T>
void lane_max(const T* x, int64_t base, int64_t width, const DimSplit& s, T* max_v) {
  for (int64_t j = 0; j < width; ++j) max_v[j] = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < s.dim; ++k) {
    const T* row = x + base + k * s.inner;
    for (int64_t j = 0; j < width; ++j)
      if (!(row[j] <= max_v[j])) max_v[j] = row[j];
  }
}
// With exps non-null, each exp(x - max_v[j]) is also written there (laid out as x), so a
// gradient can scale it instead of computing it again.
template <class T>
void lane_max_sum_exp(const T* x, int64_t base, int64_t width, const DimSplit& s, T* max_v, double* sum_exp,
                      T* exps = nullptr) {
  lane_max(x, base, width, s, max_v);
  for (int64_t j = 0; j < width; ++j) sum_exp[j] = 0;
  for (int64_t k = 0; k < s.dim; ++k) {
    const T* row = x + base + k * s.inner;
    T* e = exps ? exps + base + k * s.inner : nullptr;
    for (int64_t j = 0; j < width; ++j) {
      const T v = std::exp(row[j] - max_v[j]);
      if (e) e[j] = v;
      sum_exp[j] += v;
    }
  }
}

}  // namespace csg
