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

// How a call computes (csg::ConvNumerics, passed by src/ops/conv2d.cpp with each call):
//   tf32           TF32 tensor cores for f32 operands (as PyTorch's torch.backends.cudnn.allow_tf32):
//                  ~10-bit mantissa products, much faster on Ampere and later; off keeps cuDNN to
//                  full-precision FMA kernels (exact parity tests).
//   bf16           BF16 mixed precision (`csg train --precision bf16` on CUDA): x, w and dy are read
//                  rounded to BF16 (kernels/bf16.h) and cuDNN computes in its BF16 configuration (BF16
//                  tensors, f32 accumulation); results reach the caller as f32. The bias and its
//                  gradient stay f32. Needs compute capability 8.0 or later (the caller checks:
//                  csg::cuda::has_bf16_convolutions).
//   deterministic  only algorithms cuDNN reports as deterministic (bit-identical runs).
// Each is part of the algorithm cache's key.
struct ConvMath {
  bool tf32 = true;
  bool bf16 = false;
  bool deterministic = false;
};

// y = conv(x, w) (+ b broadcast over N,H,W when b is non-null).
void conv2d_forward_f32(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                        const ConvMath& m);
// dx = the gradient of the input from dy (overwritten, not accumulated).
void conv2d_backward_data_f32(const Conv2dShape& s, const float* w, const float* dy, float* dx, const ConvMath& m);
// dw = the gradient of the weight from x and dy (overwritten).
void conv2d_backward_filter_f32(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                const ConvMath& m);
// db[o] = sum of dy[:,o,:,:] (overwritten).
void conv2d_backward_bias_f32(const Conv2dShape& s, const float* dy, float* db);

// The largest power of two (at most 256 bytes) that every pointer is a multiple of: part of
// the algorithm cache's key, since chunked calls pass offset pointers.
int pointer_alignment(std::initializer_list<const void*> ptrs);
// Whether a cudnnStatus_t from running a cached algorithm means "try the next one" (bad
// parameter such as a misaligned pointer, not supported, cuDNN's own allocation failed)
// rather than a failure to report.
bool conv2d_try_next_algorithm(int cudnn_status);

}  // namespace csg::kernels
