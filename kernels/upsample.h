// kernels/upsample.h — bilinear resampling with PyTorch's source-index arithmetic, shared
// by the CPU loops (src/ops/upsample.cpp) and the CUDA kernels (kernels/upsample.cu), plus
// the launchers.
#pragma once
#include <cstdint>

#include "kernels/strided.h"

namespace csg {

// Source pixels per output pixel along one axis (PyTorch's area_pixel_compute_scale):
// align_corners maps the corner centres onto each other, (in-1)/(out-1) (0 when out == 1);
// otherwise the pixel areas are aligned, in/out.
template <class T>
CSG_HD T bilinear_scale(int64_t in_size, int64_t out_size, bool align_corners) {
  if (align_corners) return out_size > 1 ? static_cast<T>(in_size - 1) / static_cast<T>(out_size - 1) : T(0);
  return static_cast<T>(in_size) / static_cast<T>(out_size);
}

// The two source taps of output index `dst` and their weights (w0 + w1 == 1):
// src = dst*scale (align_corners) or max((dst+0.5)*scale - 0.5, 0), i0 = floor(src),
// i1 = i0 + 1 clamped to the last pixel, w1 = src - i0.
template <class T>
struct BilinearTap {
  int64_t i0, i1;
  T w0, w1;
};
template <class T>
CSG_HD BilinearTap<T> bilinear_tap(int64_t dst, int64_t in_size, T scale, bool align_corners) {
  T src = align_corners ? scale * static_cast<T>(dst) : scale * (static_cast<T>(dst) + T(0.5)) - T(0.5);
  if (src < T(0)) src = T(0);
  BilinearTap<T> t;
  t.i0 = static_cast<int64_t>(src);  // floor, src >= 0
  if (t.i0 > in_size - 1) t.i0 = in_size - 1;
  t.i1 = t.i0 < in_size - 1 ? t.i0 + 1 : t.i0;
  T w1 = src - static_cast<T>(t.i0);
  t.w1 = w1 < T(0) ? T(0) : (w1 > T(1) ? T(1) : w1);
  t.w0 = T(1) - t.w1;
  return t;
}

namespace kernels {
// x [planes, in_h, in_w] -> y [planes, out_h, out_w] (planes = N*C), contiguous.
void upsample_bilinear2d_forward_f32(const float* x, float* y, int64_t planes, int64_t in_h, int64_t in_w,
                                     int64_t out_h, int64_t out_w, bool align_corners);
// gx [planes, in_h, in_w] = the scatter of g [planes, out_h, out_w] through the same taps
// (gx is overwritten: zeroed, then accumulated with atomicAdd; when `deterministic`, gathered per
// input pixel in a fixed order instead).
void upsample_bilinear2d_backward_f32(const float* g, float* gx, int64_t planes, int64_t in_h, int64_t in_w,
                                      int64_t out_h, int64_t out_w, bool align_corners, bool deterministic);
}  // namespace kernels

}  // namespace csg
