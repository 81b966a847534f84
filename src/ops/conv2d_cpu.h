// src/ops/conv2d_cpu.h — the CPU convolution (im2col + one OpenBLAS GEMM per group of images),
// float and double. Shapes as in kernels/conv2d.h; every buffer contiguous NCHW.
#pragma once
#include "kernels/conv2d.h"

namespace csg::conv2d_cpu {

using kernels::Conv2dShape;

// y [N,O,OH,OW] = conv(x [N,C,H,W], w [O,C,KH,KW]) (+ b [O] when non-null).
template <class T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);

// What an inference network fuses into a convolution's output pass:
//   y = act(conv(x) + b + residual), act = ReLU when `relu`, residual [N,O,OH,OW] (null: none),
// with y's images `y_image_stride` elements apart (0: O*OH*OW; larger writes a channel slice
// of a wider tensor, as a concatenation). y must not overlap x or residual. A 1x1, stride-1,
// unpadded convolution of large maps reads x directly (no im2col copy).
template <class T>
struct Epilogue {
  const T* residual = nullptr;
  bool relu = false;
  int64_t y_image_stride = 0;
};
template <class T>
void forward_fused(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y, const Epilogue<T>& e);

// sums [C] = the sums of x [N,C,inner] over N and inner (overwritten): a per-channel bias's or
// shift's gradient (add_relu's too).
template <class T>
void channel_sums(const T* x, int64_t N, int64_t C, int64_t inner, T* sums);
// db [O] = the sum of dy [N,O,OH,OW] over N, OH and OW (overwritten).
template <class T>
void bias_gradient(const Conv2dShape& s, const T* dy, T* db);

// Writes the gradients whose pointers are non-null (each overwritten, not accumulated):
// dx [N,C,H,W], dw [O,C,KH,KW], db [O], from dy [N,O,OH,OW]. x is needed only for dw, w only for dx.
template <class T>
void backward(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db);

}  // namespace csg::conv2d_cpu
