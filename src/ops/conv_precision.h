// src/ops/conv_precision.h — whether a device can run BF16 convolutions (csg::ConvPrecision::Bf16,
// `--precision bf16`): asked where a model's numerics are chosen (src/train/network.cpp,
// tools/bench), since a convolution takes its numerics from the call and checks nothing itself.
#pragma once
#include <string>

#include "csg/tensor.h"

namespace csg {

// Whether `device` can run BF16 convolutions (CPU: AVX512_BF16 or AMX under oneDNN; CUDA: a GPU
// of compute capability 8.0 or later); else false with the reason in *why.
bool has_bf16_convolutions(Device device, std::string* why);

}  // namespace csg
