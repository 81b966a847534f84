// kernels/pool.cu — 2-D pooling on CUDA, float32: one thread per output element (forward)
// or per input element (backward, a gather), running the bodies in kernels/pool.h.
//
// Why not cuDNN pooling: cuDNN has no ceil_mode (its output size is floor-based, so the
// extra ceil window would have to be emulated with asymmetric padding, which changes the
// count_include_pad divisor), its max-pool tie rule is unspecified, and its backward
// recomputes the argmax from x and y. Our own kernels share the exact window, divisor and
// first-maximum code with the CPU, so the two devices agree on every option and every tie.
#include "kernels/common.cuh"
#include "kernels/pool.h"

namespace csg::kernels {
namespace {

__global__ void max_pool2d_forward_kernel(const float* x, float* y, int64_t* argmax, PoolGeometry g, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { max_pool2d_output(x, y, argmax, g, i); }
}
__global__ void max_pool2d_backward_kernel(const float* dy, const int64_t* argmax, float* dx, PoolGeometry g,
                                           int64_t n) {
  CSG_KERNEL_LOOP(i, n) { max_pool2d_input_grad(dy, argmax, dx, g, i); }
}
__global__ void avg_pool2d_forward_kernel(const float* x, float* y, PoolGeometry g, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { avg_pool2d_output(x, y, g, i); }
}
__global__ void avg_pool2d_backward_kernel(const float* dy, float* dx, PoolGeometry g, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { avg_pool2d_input_grad(dy, dx, g, i); }
}
__global__ void adaptive_avg_pool2d_forward_kernel(const float* x, float* y, PoolGeometry g, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { adaptive_avg_pool2d_output(x, y, g, i); }
}
__global__ void adaptive_avg_pool2d_backward_kernel(const float* dy, float* dx, PoolGeometry g, int64_t n) {
  CSG_KERNEL_LOOP(i, n) { adaptive_avg_pool2d_input_grad(dy, dx, g, i); }
}

int64_t outputs(const PoolGeometry& g) { return g.planes * g.out_h * g.out_w; }
int64_t inputs(const PoolGeometry& g) { return g.planes * g.in_h * g.in_w; }

}  // namespace

void max_pool2d_forward_f32(const float* x, float* y, int64_t* argmax, const PoolGeometry& g) {
  const int64_t n = outputs(g);
  if (n == 0) return;
  max_pool2d_forward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(x, y, argmax, g, n);
  CSG_KERNEL_CHECK("max_pool2d_forward_kernel");
}

void max_pool2d_backward_f32(const float* dy, const int64_t* argmax, float* dx, const PoolGeometry& g) {
  const int64_t n = inputs(g);
  if (n == 0) return;
  max_pool2d_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dy, argmax, dx, g, n);
  CSG_KERNEL_CHECK("max_pool2d_backward_kernel");
}

void avg_pool2d_forward_f32(const float* x, float* y, const PoolGeometry& g) {
  const int64_t n = outputs(g);
  if (n == 0) return;
  avg_pool2d_forward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(x, y, g, n);
  CSG_KERNEL_CHECK("avg_pool2d_forward_kernel");
}

void avg_pool2d_backward_f32(const float* dy, float* dx, const PoolGeometry& g) {
  const int64_t n = inputs(g);
  if (n == 0) return;
  avg_pool2d_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dy, dx, g, n);
  CSG_KERNEL_CHECK("avg_pool2d_backward_kernel");
}

void adaptive_avg_pool2d_forward_f32(const float* x, float* y, const PoolGeometry& g) {
  const int64_t n = outputs(g);
  if (n == 0) return;
  adaptive_avg_pool2d_forward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(x, y, g, n);
  CSG_KERNEL_CHECK("adaptive_avg_pool2d_forward_kernel");
}

void adaptive_avg_pool2d_backward_f32(const float* dy, float* dx, const PoolGeometry& g) {
  const int64_t n = inputs(g);
  if (n == 0) return;
  adaptive_avg_pool2d_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dy, dx, g, n);
  CSG_KERNEL_CHECK("adaptive_avg_pool2d_backward_kernel");
}

}  // namespace csg::kernels
