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
