// src/ops/onednn/conv2d.h — the f32 CPU convolution on oneDNN: the twin of src/ops/conv2d_cpu.h,
// with the same shapes and contract (every buffer contiguous NCHW / OIHW, groups = 1).
#pragma once
#include "kernels/conv2d.h"

namespace csg::onednn {

// y [N,O,OH,OW] = conv(x [N,C,H,W], w [O,C,KH,KW]) (+ b [O] when non-null).
void conv2d_forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* b, float* y);

// Writes the gradients whose pointers are non-null (each overwritten): dx, dw, db from dy.
// x is needed only for dw, w only for dx.
void conv2d_backward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx,
                     float* dw, float* db);

}  // namespace csg::onednn
