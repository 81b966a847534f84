// kernels/upsample.cu — bilinear upsampling / downsampling: one thread per output pixel;
// backward scatters each output gradient into its four source pixels with atomicAdd (fast,
// but the additions land in thread order), or in deterministic mode gathers: one thread per
// input pixel sums, in a fixed order, the output pixels whose taps reach it.
#include "kernels/common.cuh"
#include "kernels/runtime.h"
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

// The first output index whose lower tap i0 is >= target (out_size if none): i0 does not
// decrease along the output axis, so a binary search finds it.
__device__ int64_t first_output_with_tap_at_least(int64_t target, int64_t out_size, int64_t in_size, float scale,
                                                  bool align_corners) {
  int64_t lo = 0, hi = out_size;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (bilinear_tap(mid, in_size, scale, align_corners).i0 >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// The weight with which a tap pair reads source index i (both taps may be i at the edge).
__device__ float tap_weight(const BilinearTap<float>& t, int64_t i) {
  return (t.i0 == i ? t.w0 : 0.f) + (t.i1 == i ? t.w1 : 0.f);
}

// g [planes, out_h, out_w] -> gx [planes, in_h, in_w] (overwritten). Source index i is read by
// the outputs whose i0 is i - 1 (through i1) or i (through i0): a contiguous range per axis.
__global__ void upsample_bilinear2d_backward_gather_kernel(const float* g, float* gx, int64_t planes, int64_t in_h,
                                                           int64_t in_w, int64_t out_h, int64_t out_w, float scale_h,
                                                           float scale_w, bool align_corners) {
  CSG_KERNEL_LOOP(i, planes * in_h * in_w) {
    const int64_t iw = i % in_w, ih = (i / in_w) % in_h, plane = i / (in_w * in_h);
    const int64_t oh0 = first_output_with_tap_at_least(ih - 1, out_h, in_h, scale_h, align_corners);
    const int64_t oh1 = first_output_with_tap_at_least(ih + 1, out_h, in_h, scale_h, align_corners);
    const int64_t ow0 = first_output_with_tap_at_least(iw - 1, out_w, in_w, scale_w, align_corners);
    const int64_t ow1 = first_output_with_tap_at_least(iw + 1, out_w, in_w, scale_w, align_corners);
    const float* gp = g + plane * out_h * out_w;
    float acc = 0.f;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const float wh = tap_weight(bilinear_tap(oh, in_h, scale_h, align_corners), ih);
      if (wh == 0.f) continue;
      float row = 0.f;
      for (int64_t ow = ow0; ow < ow1; ++ow)
        row += tap_weight(bilinear_tap(ow, in_w, scale_w, align_corners), iw) * gp[oh * out_w + ow];
      acc += wh * row;
    }
    gx[i] = acc;
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
  CSG_KERNEL_CHECK("upsample_bilinear2d_kernel");
}

void upsample_bilinear2d_backward_f32(const float* g, float* gx, int64_t planes, int64_t in_h, int64_t in_w,
                                      int64_t out_h, int64_t out_w, bool align_corners, bool deterministic) {
  if (planes * in_h * in_w == 0) return;
  if (deterministic) {
    upsample_bilinear2d_backward_gather_kernel<<<grid_for(planes * in_h * in_w), kThreads, 0, stream()>>>(
        g, gx, planes, in_h, in_w, out_h, out_w, bilinear_scale<float>(in_h, out_h, align_corners),
        bilinear_scale<float>(in_w, out_w, align_corners), align_corners);
    CSG_KERNEL_CHECK("upsample_bilinear2d_backward_gather_kernel");
    return;
  }
  CSG_CUDA_CHECK(cudaMemsetAsync(gx, 0, planes * in_h * in_w * sizeof(float), stream()));
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  upsample_bilinear2d_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(
      g, gx, planes, in_h, in_w, out_h, out_w, bilinear_scale<float>(in_h, out_h, align_corners),
      bilinear_scale<float>(in_w, out_w, align_corners), align_corners);
  CSG_KERNEL_CHECK("upsample_bilinear2d_backward_kernel");
}

}  // namespace csg::kernels
