// kernels/batch_norm.h — batch normalisation on CUDA, float32 (launchers in kernels/batch_norm.cu).
//
// Shapes: x, y, dy, dx are [N,C,S] contiguous (S = H*W, or 1 for an [N,C] input); every
// per-channel vector (weight, bias, running and saved statistics, their gradients) is [C].
// weight / bias may be null (affine off: scale 1, shift 0). "rstd" is 1/sqrt(var + eps).
#pragma once
#include <cstdint>

namespace csg::kernels {

// Train mode (cuDNN, spatial): normalises with the batch mean and biased variance, writes the
// batch mean and rstd to save_mean / save_rstd, and updates in place
//   running_mean = (1-momentum)*running_mean + momentum*mean
//   running_var  = (1-momentum)*running_var  + momentum*unbiased_var.
void batch_norm_train_forward_f32(const float* x, float* y, const float* weight, const float* bias,
                                  float* running_mean, float* running_var, float* save_mean, float* save_rstd,
                                  int64_t n, int64_t c, int64_t s, double momentum, double eps);

// Train-mode backward (cuDNN) from the statistics saved by the forward:
//   dx = weight*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)),  dweight = sum(dy*xhat),  dbias = sum(dy).
// dweight / dbias may be null when not wanted.
void batch_norm_train_backward_f32(const float* x, const float* dy, const float* weight, const float* save_mean,
                                   const float* save_rstd, float* dx, float* dweight, float* dbias, int64_t n,
                                   int64_t c, int64_t s, double eps);

// Eval / Frozen forward (cuDNN): y = (x - mean)/sqrt(var + eps)*weight + bias with fixed statistics.
void batch_norm_eval_forward_f32(const float* x, float* y, const float* weight, const float* bias, const float* mean,
                                 const float* var, int64_t n, int64_t c, int64_t s, double eps);

// Eval / Frozen backward with fixed statistics (our kernels): dx = dy*weight*rstd elementwise,
// dweight = sum(dy*xhat) and dbias = sum(dy) per channel. Any of dx / dweight / dbias may be
// null; x is read only for dweight.
void batch_norm_eval_backward_f32(const float* x, const float* dy, const float* weight, const float* mean,
                                  const float* var, float* dx, float* dweight, float* dbias, int64_t n, int64_t c,
                                  int64_t s, double eps);

}  // namespace csg::kernels
