// kernels/conv2d.h — 2-D convolution (NCHW, groups = 1) on the GPU through cuDNN. Plain C++.
//
// Shapes: x [N,C,H,W], w [O,C,KH,KW], b [O], y [N,O,OH,OW]; every buffer contiguous float.
// The geometry struct is shared with the CPU implementation (src/ops/conv2d_cpu.cpp).
#pragma once
#include <cstdint>
#include <initializer_list>

namespace csg::kernels {

struct Conv2dShape {
  int64_t N, C, H, W;   // input
  int64_t O, KH, KW;    // weight [O,C,KH,KW]
  int64_t OH, OW;       // output
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
};

// y = conv(x, w) (+ b broadcast over N,H,W when b is non-null).
void conv2d_forward_f32(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y);
// dx = the gradient of the input from dy (overwritten, not accumulated).
void conv2d_backward_data_f32(const Conv2dShape& s, const float* w, const float* dy, float* dx);
// dw = the gradient of the weight from x and dy (overwritten).
void conv2d_backward_filter_f32(const Conv2dShape& s, const float* x, const float* dy, float* dw);
// db[o] = sum of dy[:,o,:,:] (overwritten).
void conv2d_backward_bias_f32(const Conv2dShape& s, const float* dy, float* db);

// TF32 tensor cores for float convolutions (the default, as PyTorch's
// torch.backends.cudnn.allow_tf32): ~10-bit mantissa products, much faster on Ampere and
// later. Turning it off restricts cuDNN to full-precision FMA kernels (exact parity tests).
void conv2d_set_allow_tf32(bool allow);
bool conv2d_allow_tf32();

// BF16 mixed precision (`csg train --precision bf16` on CUDA): while on, the f32 convolutions
// (forward, backward-data, backward-filter) read x, w and dy rounded to BF16 (kernels/bf16.h)
// and compute in cuDNN's BF16 configuration (BF16 tensors, f32 accumulation); their results
// reach the caller as f32. The bias and its gradient stay f32. Needs compute capability 8.0
// or later (csg::cuda::set_bf16_convolutions checks; this switch does not).
void conv2d_set_bf16(bool on);
bool conv2d_bf16();

// The largest power of two (at most 256 bytes) that every pointer is a multiple of: part of
// the algorithm cache's key, since chunked calls pass offset pointers.
int pointer_alignment(std::initializer_list<const void*> ptrs);
// Whether a cudnnStatus_t from running a cached algorithm means "try the next one" (bad
// parameter such as a misaligned pointer, not supported, cuDNN's own allocation failed)
// rather than a failure to report.
bool conv2d_try_next_algorithm(int cudnn_status);

}  // namespace csg::kernels
