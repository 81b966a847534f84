// src/ops/onednn/pointwise_gemm.h — the f32 training passes of a 1x1, stride-1, unpadded
// convolution on large maps as matrix products over the plain NCHW tensors themselves. Per image n,
// with x_n [C, H*W], y_n and dy_n [O, H*W] and the weights W [O, C]:
//   forward           y_n  = W · x_n (+ b per row)
//   backward data     dx_n = W^T · dy_n
//   backward weights  dW   = sum_n dy_n · x_n^T, db = the sums of dy's rows
// oneDNN's 1x1 kernel computes the same products at about the same rate, but in its blocked layout,
// so each call also reorders x, y, dy and dx in and out of it: the largest tensors of a bottleneck
// block (its 256-2048-channel inputs and outputs). On large maps the matrix products save those
// reorders: in the GTA5 step (DeepLabv2-ResNet-101, 512x512) oneDNN's reorders fell from 780 to
// 193 ms and the step by 4%; VisDA's (ResNet-50, 224 px, batch 8) by 1%. On 7x7 maps sgemm loses
// to the blocked kernel (docs/onnx.md, "Where the time goes").
#pragma once
#include "kernels/conv2d.h"

namespace csg::onednn::pointwise_gemm {

// 1x1, stride 1, no padding, on output maps of at least 28x28 pixels (784): fixed by the shape.
bool takes(const kernels::Conv2dShape& s);

// y [N,O,H,W] = conv(x, w) (+ b [O] when non-null); w [O,C,1,1].
void forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* b, float* y);
// dx [N,C,H,W] (overwritten) from the weights and dy.
void backward_data(const kernels::Conv2dShape& s, const float* w, const float* dy, float* dx);
// dw [O,C,1,1] (overwritten) from x and dy, and db [O] when non-null.
void backward_weights(const kernels::Conv2dShape& s, const float* x, const float* dy, float* dw, float* db);

}  // namespace csg::onednn::pointwise_gemm
