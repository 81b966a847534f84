// src/ops/onednn/conv2d.h — the f32 CPU convolution on oneDNN: the twin of src/ops/conv2d_cpu.h,
// with the same shapes and contract (every buffer contiguous NCHW / OIHW, groups = 1).
#pragma once
#include "kernels/conv2d.h"
#include "src/ops/onednn/weight_cache.h"

namespace csg::onednn {

// y [N,O,OH,OW] = conv(x [N,C,H,W], w [O,C,KH,KW]) (+ b [O] when non-null). `w_source` says
// which contents w holds, so a reordered copy can be reused in a csg::ConvWeightsReuseScope.
void conv2d_forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    const WeightSource& w_source = {});

// Writes the gradients whose pointers are non-null (each overwritten): dx, dw, db from dy.
// x is needed only for dw, w only for dx.
void conv2d_backward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx,
                     float* dw, float* db);

// Which kernels the backward passes run under BF16 mixed precision: per geometry and pass, the
// faster (timed on first use) of oneDNN's BF16 primitive and its f32 primitive on operands
// rounded to BF16 (the same products, summed in another order); or one of them always (tests).
enum class Bf16Backward { Timed, Bf16, F32OnRounded };
void set_bf16_backward(Bf16Backward b);

// Whether the weight gradient of this geometry (with a bias gradient when `bias`, in the current
// precision) takes the im2col path because oneDNN has no direct kernel for it (conv2d.cpp).
bool conv2d_weight_gradient_by_im2col(const kernels::Conv2dShape& s, bool bias);

}  // namespace csg::onednn
