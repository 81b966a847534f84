// kernels/dropout.h — the dropout mask, shared by the CPU loop (src/ops/dropout.cpp) and
// the CUDA kernel (kernels/dropout.cu), so both devices keep exactly the same elements.
#pragma once
#include <cstdint>

#include "csg/random.h"

namespace csg {

// Element i of a draw at `offset` is kept iff its counter-based uniform is >= p (compared
// in double on both devices: probability of keeping is 1 - p up to 2^-24).
CSG_HOST_DEVICE bool dropout_keep(uint64_t seed, uint64_t offset, int64_t i, double p) {
  return static_cast<double>(counter_uniform(seed, offset + static_cast<uint64_t>(i))) >= p;
}

namespace kernels {
// y[i] = keep(i) ? x[i] * scale : 0 for i in [0, n), x and y contiguous. Used for the
// forward (x = input) and the backward (x = output gradient): the mask is recomputed
// from (seed, offset), never stored.
void dropout_f32(const float* x, float* y, int64_t n, uint64_t seed, uint64_t offset, double p, float scale);
}  // namespace kernels

}  // namespace csg
