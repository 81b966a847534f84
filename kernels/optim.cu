// kernels/optim.cu — fused SGD step.
#include "kernels/common.cuh"
#include "kernels/optim.h"

namespace csg::kernels {
namespace {
__global__ void sgd_kernel(float* p, const float* grad, float* v, int64_t n, float lr, float mu, float wd, bool first,
                           int variant) {
  CSG_KERNEL_LOOP(i, n) {
    const float g = grad[i] + wd * p[i];
    if (variant == 0) {
      const float vi = first ? lr * g : mu * v[i] + lr * g;
      v[i] = vi;
      p[i] -= vi;
    } else {
      const float vi = first ? g : mu * v[i] + g;
      v[i] = vi;
      p[i] -= lr * vi;
    }
  }
}
}  // namespace

void sgd_update_f32(float* p, const float* grad, float* v, int64_t n, float lr, float momentum, float wd,
                    bool first_step, int variant) {
  if (n == 0) return;
  sgd_kernel<<<grid_for(n), kThreads, 0, stream()>>>(p, grad, v, n, lr, momentum, wd, first_step, variant);
  CSG_KERNEL_CHECK("sgd_kernel");
}
}  // namespace csg::kernels
