// csg/ops.h — every differentiable op, on CPU (float, double) and CUDA (float).
//
// Each op checks its inputs at entry (shape, dtype, device: one Error naming the op and
// the shapes), computes its output on the inputs' device and records its backward on the
// tape. Implementations: src/ops/<file>.cpp (CPU + dispatch) and kernels/<file>.cu (CUDA).
// Shapes are written as [N,C,H,W]; "..." is any number of leading dims.
#pragma once
#include <cstdint>
#include <vector>

#include "csg/random.h"
#include "csg/tensor.h"

namespace csg {

// ---- elementwise (src/ops/elementwise.cpp) --------------------------------------------
// Binary ops broadcast as NumPy does: shapes are aligned at the right, a size-1 dim
// stretches. The gradient of a broadcast input is summed back to its shape.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor relu(const Tensor& x);  // gradient 0 at x == 0, as PyTorch
// relu(add(a, b)) for a and b of one shape, in one pass over them on the CPU (a residual block's
// output: the sum is never written out and read back); the same gradients as the two ops. With
// channel_shift [C] (a's dim 1; may be undefined), relu(a + b + channel_shift[c]) in the same pass.
Tensor add_relu(const Tensor& a, const Tensor& b, const Tensor& channel_shift = {});
Tensor square(const Tensor& x);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// ---- reductions (src/ops/reduce.cpp) --------------------------------------------------
Tensor sum(const Tensor& x);  // all elements -> [] (0-d)
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
// Sum a broadcast result back to `shape` (the backward of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);
// Index of the largest value along `dim` (I64, not differentiable). Ties go to the first
// index; NaN counts as larger than any number (the first NaN wins), as torch.argmax, on the
// CPU and on CUDA alike.
Tensor argmax(const Tensor& x, int64_t dim);

// ---- shape (src/ops/shape.cpp; views are methods of Tensor) --------------------------
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);

// ---- linear algebra (src/ops/matmul.cpp; CPU: oneDNN sgemm for f32, OpenBLAS for f64; cuBLAS on CUDA)
// a [M,K] @ b [K,N] -> [M,N]; or batched a [B,M,K] @ b [B,K,N] -> [B,M,N].
Tensor matmul(const Tensor& a, const Tensor& b);
// x [...,in] @ weight[out,in]^T + bias[out] -> [...,out]; bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- convolution (src/ops/conv2d.cpp; CPU: oneDNN for f32, im2col + OpenBLAS for f64; cuDNN on CUDA)
// How a convolution computes, passed with each call (nn::Conv2d carries it; a training run sets its
// layers' from --precision, --deterministic and --no-tf32 in src/train/network.cpp). No process-wide
// switch changes it, so two convolutions in one thread can compute in two precisions.
enum class ConvPrecision {
  F32,   // f32 operands and products (TF32 products on CUDA where `tf32`)
  Bf16,  // BF16 mixed precision: x, w and dy read rounded to BF16, products summed in f32, f32
         // results (y, dx, dw, db). Only f32 tensors on oneDNN or cuDNN; the caller checks the
         // device can (has_bf16_convolutions, src/ops/conv_precision.h).
};
// Which kernel each pass of a CPU BF16 convolution runs (they differ only in the order of their f32
// sums, src/ops/onednn/conv2d.h): Auto times the candidates once per geometry and keeps the fastest,
// or takes oneDNN's BF16 primitive when `deterministic`; the others force one (tests, benchmarks).
enum class Bf16CpuKernel { Auto, Primitive, F32OnRounded, Im2colGemm };
struct ConvNumerics {
  ConvPrecision precision = ConvPrecision::F32;
  // The same result run after run: the CPU's BF16 kernel is not chosen by timing, and cuDNN keeps
  // to algorithms it reports as deterministic. (f32 on the CPU is deterministic either way.)
  bool deterministic = false;
  bool tf32 = true;  // CUDA f32: TF32 tensor cores allowed (as torch.backends.cudnn.allow_tf32)
  Bf16CpuKernel cpu_bf16_kernel = Bf16CpuKernel::Auto;
  bool bf16() const { return precision == ConvPrecision::Bf16; }
};

struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  ConvNumerics numerics;
};
// x [N,C,H,W] * weight [O,C,KH,KW] (+ bias [O], may be undefined) -> [N,O,OH,OW],
// OH = (H + 2*pad_h - dilation_h*(KH-1) - 1) / stride_h + 1. groups = 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt = {});

// While one is alive (on this thread), conv2d may keep the copy of each weight it converted for
// its backend (oneDNN's blocked layout, in BF16 under --precision bf16) and use it again for the
// same weights, in forward and backward passes: a training step runs the query encoder twice (on
// both views, for A-pool) and its backward pass before anything writes a weight. A copy is used
// only while the weights are those it was made from: their storage keeps its version (every
// in-place write through the engine bumps it) and a sample of their values is unchanged (which
// catches a write through a raw pointer, src/ops/onednn/weight_cache.h). A trainable weight's copy
// lasts one scope; a frozen weight's (one that requires no gradient, as CSG's ImageNet encoder) is
// kept from scope to scope. Copies not used during a scope are freed at its end.
class ConvWeightsReuseScope {
 public:
  ConvWeightsReuseScope();
  ~ConvWeightsReuseScope();
  ConvWeightsReuseScope(const ConvWeightsReuseScope&) = delete;
  ConvWeightsReuseScope& operator=(const ConvWeightsReuseScope&) = delete;
};

// ---- batch norm (src/ops/batch_norm.cpp) -----------------------------------------------
enum class BatchNormMode {
  Train,   // batch statistics; running stats updated with `momentum` (PyTorch convention:
           // running = (1-momentum)*running + momentum*batch, unbiased variance)
  Eval,    // running statistics; gradients flow to x, weight and bias
  Frozen,  // running statistics; weight and bias are constants (no gradient), as CSG's
           // frozen ImageNet encoder and DeepLab's backbone use them
};
// x [N,C,H,W] or [N,C]; weight, bias, running_mean, running_var [C]. weight and bias may
// be undefined (no affine: scale 1, shift 0); the running stats are required in every mode.
// running_* are updated in place in Train mode (they never require grad); Train needs more
// than one value per channel (N*H*W > 1).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, BatchNormMode mode, double momentum = 0.1, double eps = 1e-5);

// ---- convolution with batch norm folded in (src/ops/conv_bn_eval.cpp) ---------------------
// batch_norm(conv2d(x, weight, conv_bias, opt), gamma, beta, running_mean, running_var, Eval, eps)
// as one convolution: on running statistics BN is the per-channel affine map s*y + t, with
// s = gamma / sqrt(running_var + eps) and t = beta - running_mean * s, so the result is
// conv2d(x, weight * s[o], conv_bias * s + t). Gradients reach x, weight, conv_bias, gamma and beta
// through the convolution's backward and parameter-sized ops, with no pass over the activation for BN.
// conv_bias, gamma and beta may be undefined (no bias; scale 1; shift 0); the running statistics
// [O] get no gradient.
Tensor conv2d_bn_eval(const Tensor& x, const Tensor& weight, const Tensor& conv_bias, const Tensor& gamma,
                      const Tensor& beta, const Tensor& running_mean, const Tensor& running_var, double eps,
                      const Conv2dOptions& opt = {});
// The same, with the per-channel shift conv_bias * s + t left out of the convolution and returned
// beside it ([O]): for the op that adds it in a pass of its own (add_relu's), which spares the
// convolution a pass over its output where it has no bias epilogue (pointwise_gemm's fill).
struct ShiftedConv {
  Tensor unshifted;  // conv2d(x, weight * s[o])
  Tensor shift;      // [O]
};
ShiftedConv conv2d_bn_eval_apart(const Tensor& x, const Tensor& weight, const Tensor& conv_bias, const Tensor& gamma,
                                 const Tensor& beta, const Tensor& running_mean, const Tensor& running_var,
                                 double eps, const Conv2dOptions& opt = {});

// ---- a sum of dilated 3x3 convolutions (src/ops/dilated_conv_sum.cpp) ---------------------
// sum over b of conv2d(x, weights[b], biases[b]) with 3x3 kernels, stride 1, dilation and padding
// dilations[b]: DeepLabv2's ASPP classifier, whose branches read one map and are added. weights[b]
// [O,C,3,3], one O and C for all; biases[b] [O] or undefined. On the CPU in f32 and f64 it is one
// matrix product of every branch's taps with x, [B*O*9, C] x [C, H*W] per image, and a sum of the
// product's rows shifted by each tap's offset (no padding to 16 output channels, no layout
// reorders of x); elsewhere the convolutions themselves. Gradients reach x, the weights and biases.
Tensor dilated_conv_sum(const Tensor& x, const std::vector<Tensor>& weights, const std::vector<Tensor>& biases,
                        const std::vector<int64_t>& dilations);

// ---- pooling (src/ops/pool.cpp) ---------------------------------------------------------
struct Pool2dOptions {
  int64_t kernel_h = 2, kernel_w = 2;
  int64_t stride_h = 2, stride_w = 2;
  int64_t pad_h = 0, pad_w = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg pool only
};
// x [N,C,H,W] -> [N,C,OH,OW], PyTorch's sizes: OH = floor-or-ceil((H + 2*pad_h - kernel_h) /
// stride_h) + 1, and in ceil mode a last window that would start in the right padding or
// beyond is dropped; padding must be at most half the kernel. Max pool's gradient goes to the first maximum in each
// window (row-major scan; NaN counts as a maximum). avg_pool2d with count_include_pad divides
// by the window's extent clipped to the padded input (a ceil-mode window running past
// H + pad_h counts only up to there), without it by the number of input elements.
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opt);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt);
// x [N,C,H,W] -> [N,C,out_h,out_w] with PyTorch's adaptive windows.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
// x [N,C,H,W] -> [N,C] (mean over H and W).
Tensor global_avg_pool(const Tensor& x);

// ---- softmax family and losses (src/ops/softmax.cpp, src/ops/loss.cpp) ---------------
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// logits [N,C] with target [N] (I64), or logits [N,C,H,W] with target [N,H,W]:
// mean of -log_softmax(logits)[target] over the elements whose target != ignore_index.
// Returns a 0-d tensor (0 if every target is ignored). A target outside [0,C) that is not
// ignore_index is an error naming its position: at once on the CPU; on CUDA at the next read
// back to the host (item(), to(cpu), csg::cuda::synchronize), so that the loss costs no sync.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100);
// x / max(||x||_2 along dim, eps), as torch.nn.functional.normalize.
Tensor l2_normalize(const Tensor& x, int64_t dim, double eps = 1e-12);

// ---- resampling and regularisation (src/ops/upsample.cpp, src/ops/dropout.cpp) -------
// x [N,C,H,W] -> [N,C,out_h,out_w], bilinear, PyTorch's align_corners semantics both ways.
// `deterministic`: on CUDA the backward gathers per input pixel in a fixed order, so the same
// inputs give the same bits run after run, instead of scattering with atomicAdd (faster, in thread
// order). The CPU's backward is deterministic either way.
Tensor upsample_bilinear2d(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners,
                           bool deterministic = false);
// Zeroes each element with probability p and scales the rest by 1/(1-p) when training;
// the identity otherwise. The mask depends only on (generator seed, offset, index).
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace csg
