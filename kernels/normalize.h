// kernels/normalize.h — CUDA launchers for l2_normalize along one dim.
// x, y, g, gx are contiguous [outer, dim, inner] (see src/ops/dim_lanes.h); norm is
// [outer, inner], the L2 norm of each lane.
#pragma once
#include <cstdint>

namespace csg::kernels {

// norm = ||x||_2 along dim; y = x / max(norm, eps).
void l2_normalize_forward_f32(const float* x, float* y, float* norm, int64_t outer, int64_t dim, int64_t inner,
                              float eps);
// gx = (g - y * sum_dim(g * y)) / norm where norm >= eps, else g / eps (the clamped branch).
void l2_normalize_backward_f32(const float* y, const float* norm, const float* g, float* gx, int64_t outer,
                               int64_t dim, int64_t inner, float eps);

}  // namespace csg::kernels
