// src/ops/onednn/conv2d.h — the f32 CPU convolution on oneDNN: the twin of src/ops/conv2d_cpu.h,
// with the same shapes and contract (every buffer contiguous NCHW / OIHW, groups = 1).
#pragma once
#include <cstdint>
#include <string>

#include "csg/ops.h"
#include "kernels/conv2d.h"
#include "src/ops/onednn/weight_cache.h"

namespace csg::onednn {

// How this path computes (from csg::ConvNumerics, passed with each call): f32, or BF16 mixed
// precision with the kernel each pass runs. Timed: per geometry and pass the fastest here, timed
// on first use, of oneDNN's BF16 primitive, its f32 primitive on operands rounded to BF16
// (backward passes) and im2col + BF16 matmul (conv2d_gemm.h), which differ only in the order of
// their f32 sums; or one of them always (deterministic runs, tests), where the pass has it (else
// the primitive, or for a weight gradient without a direct oneDNN kernel, the f32 im2col path on
// rounded operands).
enum class Bf16Kernel { Timed, Primitive, F32OnRounded, Im2colGemm };
struct Mode {
  bool bf16 = false;
  Bf16Kernel kernel = Bf16Kernel::Timed;
};
Mode mode_of(const ConvNumerics& n);

// y [N,O,OH,OW] = conv(x [N,C,H,W], w [O,C,KH,KW]) (+ b [O] when non-null). `w_source` says
// which contents w holds, so a reordered copy can be reused in a csg::ConvWeightsReuseScope.
void conv2d_forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    const WeightSource& w_source, const Mode& mode);

// Writes the gradients whose pointers are non-null (each overwritten): dx, dw, db from dy.
// x is needed only for dw, w only for dx; `w_source` as for the forward pass.
void conv2d_backward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* dy, float* dx,
                     float* dw, float* db, const WeightSource& w_source, const Mode& mode);

// How many passes ran kernel k on this thread so far (tests: the forced kernel is the one that ran).
uint64_t bf16_kernel_runs(Bf16Kernel k);

// oneDNN's names for the kernels the three f32 passes of this geometry run (without a bias), e.g.
// "jit_wino_4x3:avx512_core" where the shape takes Winograd, for a dilated convolution run over its
// phases those of the undilated one, "pointwise_gemm" for a 1x1 one run as matrix products (tests).
struct PassKernels {
  std::string forward, backward_data, backward_weights;
};
PassKernels conv2d_f32_kernels(const kernels::Conv2dShape& s);

// Whether an f32 convolution of this geometry runs on csg's own Winograd (src/ops/winograd_3x3.h):
// its forward pass, in training its data-gradient pass too. Only where oneDNN has no f32 Winograd
// kernel for this CPU (it needs AVX-512), for 3x3 stride-1 undilated convolutions with padding 1:
// on maps of 12x12 and more (winograd_for_changing_weights), and on smaller ones (ResNet's 7x7
// layers) where the batch gives 16 or more 4x4 tiles. The training convolutions and the inference
// chain take this one rule.
bool takes_own_winograd(const kernels::Conv2dShape& s);

// Whether the weight gradient of this geometry (with a bias gradient when `bias`, in BF16 when
// `bf16`) takes the im2col path because oneDNN has no direct kernel for it (conv2d.cpp).
bool conv2d_weight_gradient_by_im2col(const kernels::Conv2dShape& s, bool bias, bool bf16);

}  // namespace csg::onednn
