// kernels/upsample.cu — bilinear upsampling / downsampling: one thread per output pixel;
// backward scatters each output gradient into its four source pixels with atomicAdd.
#include "kernels/common.cuh"
#include "kernels/upsample.h"

namespace csg::kernels {
namespace {

// x [planes, in_h, in_w], y [planes, out_h, out_w]
__global__ void upsample_bilinear2d_kernel(const float* x, float* y, int64_t planes, int64_t in_h, int64_t in_w,
                                           int64_t out_h, int64_t out_w, float scale_h, float scale_w,
                                           bool align_corners) {
  CSG_KERNEL_LOOP(i, planes * out_h * out_w) {
    const int64_t ow = i % out_w, oh = (i / out_w) % out_h, plane = i / (out_w * out_h);
    const BilinearTap<float> th = bilinear_tap(oh, in_h, scale_h, align_corners);
    const BilinearTap<float> tw = bilinear_tap(ow, in_w, scale_w, align_corners);
    const float* xp = x + plane * in_h * in_w;
    const float* r0 = xp + th.i0 * in_w;
    const float* r1 = xp + th.i1 * in_w;
    y[i] = th.w0 * (tw.w0 * r0[tw.i0] + tw.w1 * r0[tw.i1]) + th.w1 * (tw.w0 * r1[tw.i0] + tw.w1 * r1[tw.i1]);
  }
}

// g [planes, out_h, out_w] -> gx [planes, in_h, in_w] (zeroed before)
__global__ void upsample_bilinear2d_backward_kernel(const float* g, float* gx, int64_t planes, int64_t in_h,
                                                    int64_t in_w, int64_t out_h, int64_t out_w, float scale_h,
                                                    float scale_w, bool align_corners) {
  CSG_KERNEL_LOOP(i, planes * out_h * out_w) {
    const int64_t ow = i % out_w, oh = (i / out_w) % out_h, plane = i / (out_w * out_h);
    const BilinearTap<float> th = bilinear_tap(oh, in_h, scale_h, align_corners);
    const BilinearTap<float> tw = bilinear_tap(ow, in_w, scale_w, align_corners);
    float* gp = gx + plane * in_h * in_w;
    const float v = g[i];
    atomicAdd(gp + th.i0 * in_w + tw.i0, th.w0 * tw.w0 * v);
    atomicAdd(gp + th.i0 * in_w + tw.i1, th.w0 * tw.w1 * v);
    atomicAdd(gp + th.i1 * in_w + tw.i0, th.w1 * tw.w0 * v);
    atomicAdd(gp + th.i1 * in_w + tw.i1, th.w1 * tw.w1 * v);
  }
}

}  // namespace

void upsample_bilinear2d_forward_f32(const float* x, float* y, int64_t planes, int64_t in_h, int64_t in_w,
                                     int64_t out_h, int64_t out_w, bool align_corners) {
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  upsample_bilinear2d_kernel<<<grid_for(n), kThreads, 0, stream()>>>(
      x, y, planes, in_h, in_w, out_h, out_w, bilinear_scale<float>(in_h, out_h, align_corners),
      bilinear_scale<float>(in_w, out_w, align_corners), align_corners);
  CSG_KERNEL_CHECK();
}

void upsample_bilinear2d_backward_f32(const float* g, float* gx, int64_t planes, int64_t in_h, int64_t in_w,
                                      int64_t out_h, int64_t out_w, bool align_corners) {
  if (planes * in_h * in_w == 0) return;
  CSG_CUDA_CHECK(cudaMemsetAsync(gx, 0, planes * in_h * in_w * sizeof(float), stream()));
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  upsample_bilinear2d_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(
      g, gx, planes, in_h, in_w, out_h, out_w, bilinear_scale<float>(in_h, out_h, align_corners),
      bilinear_scale<float>(in_w, out_w, align_corners), align_corners);
  CSG_KERNEL_CHECK();
}

}  // namespace csg::kernels
