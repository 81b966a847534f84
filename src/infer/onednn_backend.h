// src/infer/onednn_backend.h — the compiled network on oneDNN (the CPU's fast path).
//
// Activations stay in one oneDNN layout from the first convolution to the head: in f32 the
// blocked layout of the CPU's direct kernels, nChw16c with AVX-512 (it ran ResNet-101's
// convolutions about 30% faster than NHWC at batch 1, and PyTorch's oneDNN path uses it) and
// nChw8c with AVX2 (onednn::blocked_channels); NHWC in bf16 (the layout of the AMX /
// AVX512_BF16 kernels). The network's input is reordered in once and its result out once;
// before, every convolution reordered NCHW in and out, a fifth of ResNet-101's f32 time at batch 1
// and two fifths in bf16 (docs/benchmarks.md#inference).
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "csg/tensor.h"
#include "src/infer/buffer_pool.h"
#include "src/infer/fused_conv.h"

namespace csg::infer {

class OneDnnRunner {
 public:
  OneDnnRunner();
  ~OneDnnRunner();
  OneDnnRunner(const OneDnnRunner&) = delete;
  OneDnnRunner& operator=(const OneDnnRunner&) = delete;
  // net on x [N,3,H,W] (f32, contiguous, CPU). The primitives and the weights reordered into their
  // layout are kept per weight buffer and input shape, so `net`'s weights must not change or move
  // without clear(). bf16: BF16 activations and weights, f32 accumulation, bias and result
  // (onednn::has_bf16). The result is one of pool's buffers: the next run overwrites it.
  Tensor run(const CompiledNetwork& net, const Tensor& x, BufferPool& pool, bool bf16);
  // forward_stages on oneDNN: the backbone's outputs of the stages s with wanted[s - 1], as new
  // plain f32 tensors (the others undefined); bf16 as for run().
  std::array<Tensor, 4> run_stages(const CompiledNetwork& net, const Tensor& x, BufferPool& pool,
                                   const std::array<bool, 4>& wanted, bool bf16);
  // `net`'s weights were written again in place (refold_backbone): each primitive reorders its
  // weights once more on its next use, and keeps everything else.
  void weights_changed();
  // How often the network's weights change, which decides how its f32 3x3 stride-1 convolutions
  // use Winograd. Fixed (the default: inference, a frozen encoder): the weights are transformed
  // once, when reordered, and every such convolution runs on Winograd. EveryRun (a trained
  // encoder's no-grad pass): oneDNN's reorder into the transformed layout is slow, so the kernel
  // transforms the weights itself in each call, and only on the maps where that pays, as in
  // training (onednn::winograd_for_changing_weights).
  enum class Weights { Fixed, EveryRun };
  void set_weights(Weights w);
  void clear();
  // oneDNN's name for the kernel of every convolution and pooling primitive made so far (its
  // implementation string, e.g. "jit_1x1:avx2"; "jit_1x1:avx2 by output channels" for each part of
  // a 1x1 convolution split between the threads at batch 1), and "csg:winograd_f4x3" or
  // "csg:winograd_f2x3" for each one on our own Winograd kernel (winograd_3x3.h), for the tests and
  // the benchmarks.
  std::vector<std::string> kernel_names() const;
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace csg::infer
