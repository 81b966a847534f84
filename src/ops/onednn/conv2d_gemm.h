// src/ops/onednn/conv2d_gemm.h — the BF16 convolution passes as im2col + oneDNN's BF16 matmul
// (AMX where present): one of the kernels a `--precision bf16` convolution may run (conv2d.cpp
// times it against oneDNN's convolution primitives per geometry and pass). oneDNN 2.6.3's AMX
// convolution kernels for dilated 3x3 convolutions on small maps run at about its f32 rate:
// DeepLab's 512->512 dilation-4 layer at 8x8, batch 2, took 1.4-1.9 ms a forward call (f32:
// 1.8 ms) on a 2-core Xeon with AMX, where its matmul [512,4608]x[4608,128] takes 1.2 ms. There
// this kernel won the weight gradients of the dilated layers (2.2 ms against 3.4 ms for that
// layer's f32 im2col path on rounded operands) and about a third of all passes of the step.
//
// Same contract as the BF16 primitives: x, w and dy are read rounded to BF16 (csg::round_to_bf16,
// as oneDNN's reorder rounds), the products are exact in f32, sums and results are f32. The
// batch is processed in groups of images, as in conv2d_cpu, so the column buffer stays bounded.
#pragma once
#include <cstdint>

#include "kernels/conv2d.h"

namespace csg::onednn::conv2d_gemm {

// y [N,O,OH,OW] = conv(x, w) (+ b [O] when non-null); w_bf16: the weights' BF16 bits, [O,C,KH,KW].
void forward(const kernels::Conv2dShape& s, const float* x, const uint16_t* w_bf16, const float* b, float* y);
// dx [N,C,H,W] (overwritten) from dy and the weights' BF16 bits w_bf16 [O,C,KH,KW].
void backward_data(const kernels::Conv2dShape& s, const uint16_t* w_bf16, const float* dy, float* dx);
// dw [O,C,KH,KW] (overwritten) from x and dy. The bias gradient is not computed here.
void backward_weights(const kernels::Conv2dShape& s, const float* x, const float* dy, float* dw);

}  // namespace csg::onednn::conv2d_gemm
