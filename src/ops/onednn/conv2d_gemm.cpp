// src/ops/onednn/conv2d_gemm.cpp — see conv2d_gemm.h. Per group of g images:
//   forward:          col [C*KH*KW, g*OH*OW] = im2col(x), rounded; out [O, g*OH*OW] = W · col,
//                     scattered to NCHW (+ bias)
//   backward data:    dcol = W^T · bf16(dy_g), then col2im into dx
//   backward weights: dW (+)= bf16(dy_g) · col^T
// where dy_g [O, g*OH*OW] is the group's dy gathered into one matrix.
#include "src/ops/onednn/conv2d_gemm.h"

#ifdef CSG_WITH_DNNL

#include <algorithm>

#include "kernels/bf16.h"
#include "src/core/host_scratch.h"
#include "src/ops/im2col.h"
#include "src/ops/onednn/blas.h"

namespace csg::onednn::conv2d_gemm {

namespace {

using kernels::Conv2dShape;
using conv_columns::col2im;
using conv_columns::gather_images;
using conv_columns::im2col;
using conv_columns::scatter_images;

// Kept between calls, per thread, grow-only; separate from the staging buffers of context.h,
// which the other BF16 kernels of the same convolution may hold operands in.
enum Buffer { Columns, Result, Gradient, kBuffers };
template <class T>
T* scratch(Buffer b, int64_t n) {
  thread_local HostScratch buffers[kBuffers];
  const size_t need = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T);
  return static_cast<T*>(buffers[b].reserve(need, "conv2d (BF16 im2col): scratch"));
}

// Images per group: the f32 matrix [max(C*KH*KW, O), g*OH*OW] within conv2d_cpu's budget.
int64_t group_size(const Conv2dShape& s) { return conv_columns::images_per_group(s, sizeof(float)); }

// An f32 element as the bits of its BF16 rounding, for im2col and gather_images to apply.
struct ToBf16 {
  uint16_t operator()(float v) const { return bf16_bits_from_f32(v); }
};

// The column matrix of the g images at x, rounded to BF16 on the way.
uint16_t* columns(const Conv2dShape& s, const float* x, int64_t g) {
  uint16_t* col = scratch<uint16_t>(Columns, s.C * s.KH * s.KW * g * s.OH * s.OW);
  im2col(s, x, g, col, ToBf16{});
  return col;
}

// dy of the g images at dy0 as one matrix [O, g*OH*OW], rounded to BF16.
uint16_t* gathered_dy(const Conv2dShape& s, const float* dy0, int64_t g) {
  uint16_t* d = scratch<uint16_t>(Gradient, s.O * g * s.OH * s.OW);
  gather_images(s, dy0, g, d, ToBf16{});
  return d;
}

}  // namespace

void forward(const Conv2dShape& s, const float* x, const uint16_t* w, const float* b, float* y) {
  const int64_t rows = s.C * s.KH * s.KW, OHW = s.OH * s.OW;
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * OHW;
  const int64_t G = group_size(s);
  for (int64_t n0 = 0; n0 < s.N; n0 += G) {
    const int64_t g = std::min(G, s.N - n0), cols = g * OHW;
    const uint16_t* col = columns(s, x + n0 * x_image, g);
    float* y0 = y + n0 * y_image;
    // One image's [O, OH*OW] is its NCHW layout: the GEMM writes y itself.
    float* out = g == 1 ? y0 : scratch<float>(Result, s.O * cols);
    gemm_bf16(false, false, s.O, cols, rows, w, rows, col, cols, false, out, cols);
    scatter_images(s, out, g, b, y0);  // [O, g, OH*OW] -> [g, O, OH*OW], adding the bias
  }
}

void backward_data(const Conv2dShape& s, const uint16_t* wb, const float* dy, float* dx) {
  const int64_t rows = s.C * s.KH * s.KW, OHW = s.OH * s.OW;
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * OHW;
  const int64_t G = group_size(s);
  for (int64_t n0 = 0; n0 < s.N; n0 += G) {
    const int64_t g = std::min(G, s.N - n0), cols = g * OHW;
    const uint16_t* dyg = gathered_dy(s, dy + n0 * y_image, g);
    float* dcol = scratch<float>(Result, rows * cols);
    gemm_bf16(true, false, rows, cols, s.O, wb, rows, dyg, cols, false, dcol, cols);
    col2im(s, dcol, g, dx + n0 * x_image);
  }
}

void backward_weights(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const int64_t rows = s.C * s.KH * s.KW, OHW = s.OH * s.OW;
  const int64_t x_image = s.C * s.H * s.W, y_image = s.O * OHW;
  if (s.N == 0) std::fill(dw, dw + s.O * rows, 0.0f);
  const int64_t G = group_size(s);
  for (int64_t n0 = 0; n0 < s.N; n0 += G) {
    const int64_t g = std::min(G, s.N - n0), cols = g * OHW;
    const uint16_t* dyg = gathered_dy(s, dy + n0 * y_image, g);
    const uint16_t* col = columns(s, x + n0 * x_image, g);
    gemm_bf16(false, true, s.O, rows, cols, dyg, cols, col, cols, n0 > 0, dw, rows);
  }
}

}  // namespace csg::onednn::conv2d_gemm

#endif  // CSG_WITH_DNNL
