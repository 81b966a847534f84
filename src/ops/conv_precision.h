// src/ops/conv_precision.h — `--precision bf16` for the device a run uses: BF16 mixed precision
// of the f32 convolutions on the CPU (oneDNN, src/ops/onednn/context.h) or on CUDA (cuDNN,
// csg::cuda::set_bf16_convolutions). Each device keeps its own switch; this sets the one the run
// computes on and leaves the other off.
#pragma once
#include <string>

#include "csg/tensor.h"

namespace csg {

// Whether `device` can run BF16 convolutions (CPU: AVX512_BF16 or AMX under oneDNN; CUDA: a GPU
// of compute capability 8.0 or later); else false with the reason in *why.
bool has_bf16_convolutions(Device device, std::string* why);

// For its scope: BF16 convolutions on `device` when `bf16` (throws, saying why, where the device
// cannot), f32 convolutions everywhere else; the previous settings restored after.
class ConvolutionPrecisionScope {
 public:
  ConvolutionPrecisionScope(bool bf16, Device device);
  ~ConvolutionPrecisionScope();
  ConvolutionPrecisionScope(const ConvolutionPrecisionScope&) = delete;
  ConvolutionPrecisionScope& operator=(const ConvolutionPrecisionScope&) = delete;

 private:
  bool prev_cpu_, prev_cuda_;
};

}  // namespace csg
