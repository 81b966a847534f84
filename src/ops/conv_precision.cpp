// src/ops/conv_precision.cpp — which devices can run BF16 convolutions.
#include "src/ops/conv_precision.h"

#include "csg/cuda.h"
#include "src/ops/onednn/context.h"

namespace csg {

bool has_bf16_convolutions(Device device, std::string* why) {
  return device == Device::CUDA ? cuda::has_bf16_convolutions(why) : onednn::has_bf16(why);
}

}  // namespace csg
