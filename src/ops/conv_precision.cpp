// src/ops/conv_precision.cpp — the run's convolution precision on its device.
#include "src/ops/conv_precision.h"

#include "csg/cuda.h"
#include "src/ops/onednn/context.h"

namespace csg {

bool has_bf16_convolutions(Device device, std::string* why) {
  return device == Device::CUDA ? cuda::has_bf16_convolutions(why) : onednn::has_bf16(why);
}

ConvolutionPrecisionScope::ConvolutionPrecisionScope(bool bf16, Device device)
    : prev_cpu_(onednn::bf16_convolutions()), prev_cuda_(cuda::bf16_convolutions()) {
  // The switch that may throw goes first, so a refusal leaves both settings as they were.
  if (device == Device::CUDA) {
    cuda::set_bf16_convolutions(bf16);
    onednn::set_bf16_convolutions(false);
  } else {
    onednn::set_bf16_convolutions(bf16);
    cuda::set_bf16_convolutions(false);
  }
}

ConvolutionPrecisionScope::~ConvolutionPrecisionScope() {
  onednn::set_bf16_convolutions(prev_cpu_);
  cuda::set_bf16_convolutions(prev_cuda_);
}

}  // namespace csg
