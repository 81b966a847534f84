// src/ops/onednn/conv2d.h — the f32 CPU convolution on oneDNN: the twin of src/ops/conv2d_cpu.h,
// with the same shapes and contract (every buffer contiguous NCHW / OIHW, groups = 1).
#pragma once
#include <memory>

#include "kernels/conv2d.h"

namespace csg::onednn {

// y [N,O,OH,OW] = conv(x [N,C,H,W], w [O,C,KH,KW]) (+ b [O] when non-null).
void conv2d_forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* b, float* y);

// Writes the gradients whose pointers are non-null (each overwritten): dx, dw, db from dy.
// x is needed only for dw, w only for dx.
void conv2d_backward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx,
                     float* dw, float* db);

// Inference (src/infer/): the twin of conv2d_cpu::forward_fused,
//   y = relu?(conv(x, w) + b + residual), residual [N,O,OH,OW] plain (null: none),
// y's images y_image_stride elements apart (0: packed; larger writes a channel slice of a wider
// tensor). The weights of an inference network never change, so `cache` keeps each in oneDNN's
// layout after its first use, with its primitive (bias, sum and ReLU as post-ops), per weight
// buffer and input shape: a cache must not outlive, or see changed, the weights it was used with.
// bf16: the convolution reads and writes BF16 (x, the weights and the residual are rounded to it;
// y comes back as f32) and accumulates in f32: AVX512_BF16 / AMX kernels (onednn::has_bf16).
class InferenceConvCache {
 public:
  InferenceConvCache();
  ~InferenceConvCache();
  InferenceConvCache(const InferenceConvCache&) = delete;
  InferenceConvCache& operator=(const InferenceConvCache&) = delete;
  void clear();
  struct Impl;

 private:
  friend void conv2d_forward_inference(InferenceConvCache&, const kernels::Conv2dShape&, const float*, const float*,
                                       const float*, float*, const float*, bool, int64_t, bool);
  std::unique_ptr<Impl> impl_;
};
void conv2d_forward_inference(InferenceConvCache& cache, const kernels::Conv2dShape& s, const float* x,
                              const float* w, const float* b, float* y, const float* residual, bool relu,
                              int64_t y_image_stride, bool bf16 = false);

}  // namespace csg::onednn
