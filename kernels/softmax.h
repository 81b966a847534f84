// kernels/softmax.h — CUDA launchers for softmax / log_softmax along one dim.
// x, y, g, gx are contiguous float tensors viewed as [outer, dim, inner] (see
// src/ops/dim_lanes.h); the reduction runs over the middle dim.
#pragma once
#include <cstdint>

namespace csg::kernels {

// y = softmax(x) or, with log_output, log_softmax(x) (max-subtracted, numerically stable).
void softmax_forward_f32(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, bool log_output);
// From the forward output y and the output gradient g:
//   softmax:     gx = y * (g - sum_dim(g * y))
//   log_softmax: gx = g - exp(y) * sum_dim(g)
void softmax_backward_f32(const float* y, const float* g, float* gx, int64_t outer, int64_t dim, int64_t inner,
                          bool log_output);

}  // namespace csg::kernels
