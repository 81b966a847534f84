// kernels/optim.h — the fused SGD update on CUDA (one pass over p, g, v).
#pragma once
#include <cstdint>

namespace csg::kernels {
// variant 0 = Reference (v = mu v + lr g; p -= v), 1 = Torch (v = mu v + g; p -= lr v);
// g = grad + wd p; on the first step v starts as (lr) g.
void sgd_update_f32(float* p, const float* grad, float* v, int64_t n, float lr, float momentum, float wd,
                    bool first_step, int variant);
}  // namespace csg::kernels
