// kernels/strided.h — the index arithmetic for strided tensors, shared by the CPU loops and
// the CUDA kernels (plain C++, no CUDA headers). Element i of an n-d iteration space of
// `sizes` lives at sum_d idx_d * strides[d] in each operand.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define CSG_HD __host__ __device__ __forceinline__
#else
#define CSG_HD inline
#endif

namespace csg {

constexpr int kMaxStridedDims = 8;

struct StridedLayout {
  int ndim = 0;
  int64_t sizes[kMaxStridedDims] = {};
  int64_t strides[kMaxStridedDims] = {};  // in elements

  // Length and stride of the innermost dimension: CPU loops walk a tensor row by row (one
  // offset() per row, then a strided inner loop) instead of paying offset()'s divisions per element.
  CSG_HD int64_t row_length() const { return ndim ? sizes[ndim - 1] : 1; }
  CSG_HD int64_t row_stride() const { return ndim ? strides[ndim - 1] : 1; }

  // Offset (in elements) of the i-th element in row-major order of `sizes`.
  CSG_HD int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t s = sizes[d];
      off += (i % s) * strides[d];
      i /= s;
    }
    return off;
  }
};

}  // namespace csg
