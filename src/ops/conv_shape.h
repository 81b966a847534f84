// src/ops/conv_shape.h — a convolution's output size, computed once for the training op
// (src/ops/conv2d.cpp) and the inference engine (src/infer/forward.h); each caller checks
// kernel_fits() first and words its own error.
#pragma once
#include "csg/ops.h"
#include "kernels/conv2d.h"

namespace csg {

// The extent of the dilated kernel along height and width.
inline int64_t kernel_span_h(const kernels::Conv2dShape& s) { return s.dilation_h * (s.KH - 1) + 1; }
inline int64_t kernel_span_w(const kernels::Conv2dShape& s) { return s.dilation_w * (s.KW - 1) + 1; }

// Whether the (dilated) kernel fits the padded input, so that the output has at least one pixel.
inline bool kernel_fits(const kernels::Conv2dShape& s) {
  return s.KH >= 1 && s.KW >= 1 && s.H + 2 * s.pad_h >= kernel_span_h(s) && s.W + 2 * s.pad_w >= kernel_span_w(s);
}

// The geometry of conv(x [N,C,H,W], weight [O,C,KH,KW]) under `o`, with OH and OW (meaningful
// only where kernel_fits()). Strides must be >= 1.
inline kernels::Conv2dShape conv2d_geometry(const Shape& x, const Shape& weight, const Conv2dOptions& o) {
  kernels::Conv2dShape s{};
  s.N = x[0], s.C = x[1], s.H = x[2], s.W = x[3];
  s.O = weight[0], s.KH = weight[2], s.KW = weight[3];
  s.stride_h = o.stride_h, s.stride_w = o.stride_w, s.pad_h = o.pad_h, s.pad_w = o.pad_w;
  s.dilation_h = o.dilation_h, s.dilation_w = o.dilation_w;
  s.OH = (s.H + 2 * s.pad_h - kernel_span_h(s)) / s.stride_h + 1;
  s.OW = (s.W + 2 * s.pad_w - kernel_span_w(s)) / s.stride_w + 1;
  return s;
}

}  // namespace csg
